// `metalearn upgrade`: rewrites a run directory of format 1 (metalearn 0.1: model.json + weights.bin,
// state.json, curve.json and extras.json, each replaced on its own) in the current format, from
// what a resume of it would have read: state.json's weights, extras, optimizer and random state,
// and the curve up to its iteration.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { learnerOf } from '../algorithms/index.js';
import { readJson, saveCheckpoint } from './checkpoint.js';
import { FORMAT_1_FILES, FORMAT_VERSION, MODEL_FILE, parseCurve } from './format.js';
import { validateConfig } from '../config/config.js';
import { UsageError } from '../base/errors.js';
import { lockRunDir } from './lock.js';
import { refuseShipped } from './prepare.js';
import { paramShapes } from '../core/model.js';


interface OldArray {
  shape: number[];
  data: string;
}

function floats(a: OldArray, where: string): Float32Array {
  const bytes = Buffer.from(a.data, 'base64');
  if (!Array.isArray(a.shape) || bytes.length !== a.shape.reduce((x, y) => x * y, 1) * 4) throw new UsageError(`${where}: damaged (${bytes.length} bytes for shape [${a.shape}])`);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

/** The format model.json says it is in: 1 for metalearn 0.1's runs, 2 now; null without model.json. */
function formatOf(dir: string): number | null {
  if (!existsSync(join(dir, MODEL_FILE))) return null;
  const json = readJson(join(dir, MODEL_FILE), `upgrade ${dir}`) as { userDefinedMetadata?: { metalearn?: { formatVersion?: number } } };
  return json.userDefinedMetadata?.metalearn?.formatVersion ?? null;
}

/**
 * Converts one run directory; returns its iteration, or null when it is already in the current
 * format (then format-1 files left by an upgrade that was killed after its commit are removed).
 */
export function upgradeRun(dir: string): number | null {
  refuseShipped(dir, 'upgrade');
  const format = formatOf(dir);
  if (format === FORMAT_VERSION) {
    for (const name of Object.values(FORMAT_1_FILES)) rmSync(join(dir, name), { force: true });
    return null;
  }
  const statePath = join(dir, FORMAT_1_FILES.state);
  if (format !== 1 || !existsSync(statePath)) throw new UsageError(`upgrade ${dir}: not a run directory of metalearn 0.1 (format 1: model.json and state.json)`);
  const where = `upgrade ${statePath}`;
  const state = readJson(statePath, `upgrade ${dir}`) as {
    formatVersion?: number;
    metalearnVersion?: string;
    iteration: number;
    backend: string;
    config: unknown;
    params: OldArray[];
    extras?: Record<string, OldArray[]>;
    optimizer: { step: number; slots: (OldArray & { name: string })[] };
    rng: object;
    window: { sum: number; count: number };
    seconds: number;
  };
  if (state.formatVersion !== 1) throw new UsageError(`${where}: format ${state.formatVersion}, not 1`);
  const config = validateConfig(state.config, where);
  const shapes = paramShapes(config.hidden);
  if (!Array.isArray(state.params) || state.params.length !== shapes.length) throw new UsageError(`${where}: its weights do not match hidden ${config.hidden}`);
  const groups = Object.entries(learnerOf(config.algo).extras?.(config) ?? {});
  const extras = groups.flatMap(([name, group]) => {
    const saved = state.extras?.[name];
    if (!Array.isArray(saved) || saved.length !== group.shapes.length) throw new UsageError(`${where}: the ${config.algo} tensors '${name}' are missing`);
    return saved.map((a, i) => floats(a, `${where} ${name} ${i}`));
  });
  const curvePath = join(dir, FORMAT_1_FILES.curve);
  const curve = parseCurve(readJson(curvePath, `upgrade ${dir}`), `upgrade ${curvePath}`);
  const lock = lockRunDir(dir);
  try {
    saveCheckpoint(
      dir,
      {
        info: { iteration: state.iteration, config, backend: state.backend, kernels: 'builtin', metalearnVersion: state.metalearnVersion ?? '0.1.0' },
        weights: state.params.map((a, i) => floats(a, `${where} weight ${i}`)),
        extras,
        resume: {
          optimizer: { step: state.optimizer.step, slots: state.optimizer.slots.map((s) => ({ name: s.name, shape: s.shape, values: floats(s, `${where} slot ${s.name}`) })) },
          rng: state.rng,
          window: state.window,
          seconds: state.seconds,
        },
        // curve.json was written before state.json: points beyond the iteration belong to no checkpoint
        curve: { train: curve.train.filter((p) => p.iteration <= state.iteration), validation: curve.validation.filter((p) => p.iteration <= state.iteration) },
      },
      lock,
    );
    for (const name of Object.values(FORMAT_1_FILES)) rmSync(join(dir, name), { force: true });
  } finally {
    lock.release();
  }
  return state.iteration;
}
