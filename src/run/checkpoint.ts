// Writing a run directory's checkpoint, and its one commit point; reading it from disk. The files
// and the checks a reader makes are run-format.ts's (the page reads them over HTTP with the same
// checks). A checkpoint's files are written in the order weights, extras, state, curve, then
// model.json, which names them, renamed into place last; the files of other iterations are removed
// after it. A reader follows model.json, so it sees one iteration, whole, whatever instant a writer
// was killed at.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { inputWidth } from '../algorithms/index.js';
import { savedConfig } from '../config/config.js';
import { UsageError } from '../base/errors.js';
import { describeFsError, removeTempFiles, writeFileAtomic } from '../base/files.js';
import type { RunLock } from './lock.js';
import { layerSizes, paramShapes, type Activation } from '../core/model.js';
import { CHECKPOINT_FILE, checkpointFile, filesNamedBy, FORMAT_1_FILES, FORMAT_VERSION, MODEL_FILE, modelOf, parseRun, readRunJson, RunFileError, type Curve, type LayersModelJson, type LoadedModel, type Metadata, type ResumeState, type Run, type RunFiles, type RunInfo } from './format.js';
import { VERSION } from '../base/version.js';

/** The names of the input columns of an MLP of `width` inputs: x, then the context inputs. */
export const inputNames = (width: number): string[] => ['x', ...Array.from({ length: width - 1 }, (_, i) => `context ${i + 1}`)];


/** The layers-format model.json of an MLP with these hidden sizes and `inputs` input columns (x, then any context), its weights in `weightsFile`. */
export function modelJson(hidden: number[], activation: Activation, weightsFile: string, metadata?: object, inputs = 1): object {
  const sizes = layerSizes(hidden, inputs);
  const layers = sizes.slice(1).map((units, i) => ({
    class_name: 'Dense',
    config: { name: `dense_${i + 1}`, units, activation: i < sizes.length - 2 ? activation : 'linear', use_bias: true, ...(i === 0 ? { batch_input_shape: [null, inputs], dtype: 'float32' } : {}) },
  }));
  const weights = paramShapes(hidden, inputs).map((shape, i) => ({ name: `dense_${Math.floor(i / 2) + 1}/${i % 2 ? 'bias' : 'kernel'}`, shape, dtype: 'float32' }));
  return {
    format: 'layers-model',
    generatedBy: `metalearn ${VERSION}`,
    convertedBy: null,
    modelTopology: { class_name: 'Sequential', config: { name: 'metalearn_mlp', layers } },
    weightsManifest: [{ paths: [`./${weightsFile}`], weights }],
    ...(metadata ? { userDefinedMetadata: { metalearn: metadata } } : {}),
  };
}

function concatFloats(arrays: Float32Array[]): Uint8Array {
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return new Uint8Array(out.buffer);
}

const base64 = (values: Float32Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');

export interface CheckpointContents {
  info: RunInfo;
  /** The MLP's weights, one array per param. */
  weights: Float32Array[];
  /** The learner's own tensors, group after group in the order of its extras(config). */
  extras: Float32Array[];
  resume: ResumeState;
  curve: Curve;
}

/** Writes a checkpoint and commits it (model.json last), then removes the files of other iterations. `lock`: checked just before the commit. */
export function saveCheckpoint(dir: string, c: CheckpointContents, lock?: RunLock): void {
  const { iteration, config } = c.info;
  const files: Metadata['files'] = { state: checkpointFile('state', iteration), curve: checkpointFile('curve', iteration), ...(c.extras.length ? { extras: checkpointFile('extras', iteration) } : {}) };
  const weightsFile = checkpointFile('weights', iteration);
  const { optimizer, rng, window, seconds } = c.resume;
  const state = { optimizer: { step: optimizer.step, slots: optimizer.slots.map((s) => ({ name: s.name, shape: s.shape, data: base64(s.values) })) }, rng, window, seconds };
  lock?.check(); // before writing (files of the same names as another holder's) and before committing
  try {
    writeFileAtomic(join(dir, weightsFile), concatFloats(c.weights));
    if (files.extras) writeFileAtomic(join(dir, files.extras), concatFloats(c.extras));
    writeFileAtomic(join(dir, files.state), JSON.stringify(state));
    writeFileAtomic(join(dir, files.curve), JSON.stringify(c.curve));
  } catch (e) {
    // an uncommitted checkpoint (a full disk): its files go, the committed one stays as it was
    for (const name of [weightsFile, ...Object.values(files)]) rmSync(join(dir, name), { force: true });
    throw e;
  }
  lock?.check();
  const inputs = inputWidth(config);
  const metadata: Metadata = { formatVersion: FORMAT_VERSION, metalearnVersion: VERSION, iteration, backend: c.info.backend, kernels: c.info.kernels, config: savedConfig(config), inputs: inputNames(inputs), files, ...(c.info.data ? { data: c.info.data } : {}) };
  writeFileAtomic(join(dir, MODEL_FILE), JSON.stringify(modelJson(config.hidden, config.activation, weightsFile, metadata, inputs), null, 1));
  const kept = new Set([weightsFile, ...Object.values(files)]);
  for (const name of readdirSync(dir)) if (CHECKPOINT_FILE.test(name) && !kept.has(name)) rmSync(join(dir, name), { force: true });
}

/**
 * Removes what a killed writer left in a run directory of the current format: temporary files, the
 * files of an uncommitted checkpoint, format-1 files an upgrade killed after its commit left. Call
 * only while holding its lock.
 */
export function cleanRunDir(dir: string): void {
  removeTempFiles(dir);
  if (!existsSync(join(dir, MODEL_FILE))) return;
  const json = readJson(join(dir, MODEL_FILE), `run ${dir}`) as LayersModelJson;
  if (json.userDefinedMetadata?.metalearn?.formatVersion !== FORMAT_VERSION) return; // another format: readRunDir says what to do with it
  const kept = new Set(filesNamedBy(json));
  for (const name of readdirSync(dir)) if ((CHECKPOINT_FILE.test(name) && !kept.has(name)) || (Object.values(FORMAT_1_FILES) as string[]).includes(name)) rmSync(join(dir, name), { force: true });
}

/** Copies the committed checkpoint of a run directory into another (model.json last, as a commit), for a run continued there. */
export function copyCheckpoint(from: string, to: string): void {
  const json = readJson(join(from, MODEL_FILE), `checkpoint ${from}`) as LayersModelJson;
  for (const name of filesNamedBy(json)) writeFileAtomic(join(to, name), readFileSync(join(from, name)));
  writeFileAtomic(join(to, MODEL_FILE), readFileSync(join(from, MODEL_FILE)));
}

/** The files of a run directory on disk. */
function diskFiles(dir: string): RunFiles {
  const path = (name: string) => join(dir, name);
  const attempt = <T>(read: () => T): T => {
    try {
      return read();
    } catch (e) {
      throw new RunFileError(describeFsError(e), (e as NodeJS.ErrnoException).code === 'ENOENT');
    }
  };
  return { dir, path, size: (name) => attempt(() => statSync(path(name)).size), read: (name) => attempt(() => readFileSync(path(name))) };
}

/** A JSON file, parsed (a UsageError naming `what` and the file when it cannot be read or parsed). */
export function readJson(path: string, what: string): unknown {
  return readRunJson(diskFiles(dirname(path)), basename(path), what);
}

/** The run directory a path names: the directory itself, or the directory of its model.json. */
export function runDirOf(path: string): string {
  return basename(path) === MODEL_FILE ? dirname(path) : path;
}

/**
 * Reads the committed checkpoint of a run directory (or a plain layers model; `path` may name its
 * model.json), everything checked before any tensor is allocated. A writer may commit a newer
 * checkpoint and remove this one's files while they are read: then the newer one is read.
 */
export function readRunDir(path: string): Run {
  const dir = runDirOf(path);
  if (!existsSync(dir)) throw new UsageError(`checkpoint ${dir}: no such directory`);
  if (!existsSync(join(dir, MODEL_FILE))) throw new UsageError(`checkpoint ${dir}: no model.json (is it a run directory?)`);
  for (let attempt = 0; ; attempt++) {
    try {
      return parseRun(diskFiles(dir));
    } catch (e) {
      if (!(e as { missing?: boolean }).missing || attempt >= 5) throw e;
    }
  }
}

/** readRunDir, and the weights made tensors. */
export function loadModel(path: string): LoadedModel {
  return modelOf(readRunDir(path));
}
