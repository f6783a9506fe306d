// Checkpoints: a run directory holds
//   model.json + weights.bin  the MLP in the TensorFlow.js layers format (a Keras
//                             Sequential of Dense layers): tf.loadLayersModel reads it;
//                             userDefinedMetadata.metalearn says how it was made
//   state.json                everything a resume needs: config, iteration, weights,
//                             meta-optimizer state, RNG state, the unfinished curve window
//   curve.json                the training curve (see README, "Loss curve")
//   extras.json               the learner's own learned tensors beside the MLP (meta-sgd's
//                             rates, daml's adaptation network), when it has any
// Each file is replaced atomically; state.json is written last, so it never refers
// to a curve point that is not on disk.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { LEARNERS, type Extras } from './algorithms/index.js';
import { MAX_PARAMS, MAX_UNITS, UsageError, validateConfig, type Activation, type Algorithm, type TrainConfig } from './config.js';
import { describeFsError, writeFileAtomic } from './fsutil.js';
import type { KernelSet } from './kernels/index.js';
import { layerSizes, paramShapes } from './model.js';
import type { OptimizerState } from './optim.js';
import type { RngState } from './rng.js';
import { VERSION } from './version.js';

export const FORMAT_VERSION = 1;

export interface RunInfo {
  formatVersion: number;
  metalearnVersion: string;
  algo: Algorithm;
  iteration: number;
  backend: string;
  /** The kernel set of the wasm backend (absent in checkpoints written before it existed). */
  kernels?: KernelSet;
  config: TrainConfig;
}

export interface CurvePoint {
  iteration: number;
  metaLoss: number;
  seconds: number;
}

export interface ValidationPoint {
  iteration: number;
  /** Mean grid MSE of the validation tasks before and after valUpdates SGD steps. */
  before: number;
  after: number;
  seconds: number;
}

export interface Curve {
  formatVersion: number;
  algo: Algorithm;
  backend: string;
  kernels?: KernelSet;
  metalearnVersion: string;
  train: CurvePoint[];
  validation: ValidationPoint[];
}

export interface TrainState extends RunInfo {
  params: EncodedArray[];
  /** The learner's extra tensors by group (absent when it has none). */
  extras?: Record<string, EncodedArray[]>;
  optimizer: { step: number; slots: (EncodedArray & { name: string })[] };
  rng: RngState;
  /** Meta-losses of the curve window under way: their sum and count. */
  window: { sum: number; count: number };
  seconds: number;
}

interface EncodedArray {
  shape: number[];
  /** float32 little-endian, base64 */
  data: string;
}

export const files = (dir: string) => ({
  model: join(dir, 'model.json'),
  weights: join(dir, 'weights.bin'),
  state: join(dir, 'state.json'),
  curve: join(dir, 'curve.json'),
  extras: join(dir, 'extras.json'),
});

function encode(shape: number[], values: Float32Array): EncodedArray {
  return { shape, data: Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64') };
}

function decode(a: EncodedArray, where: string): Float32Array {
  const bytes = Buffer.from(a.data, 'base64');
  const size = a.shape.reduce((x, y) => x * y, 1);
  if (bytes.length !== size * 4) throw new UsageError(`${where}: ${bytes.length} bytes for shape [${a.shape}]`);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

/** The layers-format model.json for an MLP with these hidden sizes. */
export function modelJson(hidden: number[], activation: Activation, info?: RunInfo): object {
  const sizes = layerSizes(hidden);
  const layers = sizes.slice(1).map((units, i) => ({
    class_name: 'Dense',
    config: {
      name: `dense_${i + 1}`,
      units,
      activation: i < sizes.length - 2 ? activation : 'linear',
      use_bias: true,
      ...(i === 0 ? { batch_input_shape: [null, 1], dtype: 'float32' } : {}),
    },
  }));
  const weights = paramShapes(hidden).map((shape, i) => ({ name: `dense_${Math.floor(i / 2) + 1}/${i % 2 ? 'bias' : 'kernel'}`, shape, dtype: 'float32' }));
  return {
    format: 'layers-model',
    generatedBy: `metalearn ${VERSION}`,
    convertedBy: null,
    modelTopology: { class_name: 'Sequential', config: { name: 'metalearn_mlp', layers } },
    weightsManifest: [{ paths: ['./weights.bin'], weights }],
    ...(info ? { userDefinedMetadata: { metalearn: info } } : {}),
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

export interface CheckpointContents {
  info: RunInfo;
  params: tf.Tensor[];
  extras: Extras;
  optimizer: OptimizerState;
  rng: RngState;
  window: { sum: number; count: number };
  seconds: number;
  curve: Curve;
}

export function saveCheckpoint(dir: string, c: CheckpointContents): void {
  const values = c.params.map((p) => p.dataSync() as Float32Array);
  const extras = Object.fromEntries(Object.entries(c.extras).map(([name, ts]) => [name, ts.map((t) => encode(t.shape, t.dataSync() as Float32Array))]));
  const f = files(dir);
  writeFileAtomic(f.curve, JSON.stringify(c.curve));
  writeFileAtomic(f.weights, concatFloats(values));
  if (Object.keys(extras).length > 0) writeFileAtomic(f.extras, JSON.stringify({ formatVersion: FORMAT_VERSION, algo: c.info.algo, extras }));
  writeFileAtomic(f.model, JSON.stringify(modelJson(c.info.config.hidden, c.info.config.activation, c.info), null, 1));
  const state: TrainState = {
    ...c.info,
    params: values.map((v, i) => encode(c.params[i].shape, v)),
    extras,
    optimizer: { step: c.optimizer.step, slots: c.optimizer.slots.map((s) => ({ name: s.name, ...encode(s.shape, s.values) })) },
    rng: c.rng,
    window: c.window,
    seconds: c.seconds,
  };
  writeFileAtomic(f.state, JSON.stringify(state));
}

export function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${what}: cannot read ${path}: ${describeFsError(e)}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what}: ${path} is not valid JSON (${(e as Error).message})`);
  }
}

function checkFormatVersion(version: unknown, where: string): void {
  if (typeof version === 'number' && version > FORMAT_VERSION) {
    throw new UsageError(`${where}: written by a newer metalearn (format ${version}; this metalearn reads format ${FORMAT_VERSION}): upgrade metalearn`);
  }
}

export interface LoadedModel {
  params: tf.Tensor[];
  /** The learner's extra tensors (extras.json); none for most algorithms and for a plain layers model. */
  extras: Extras;
  hidden: number[];
  activation: Activation;
  /** Present when metalearn wrote the checkpoint; absent for a plain layers model (e.g. the PyTorch peer's). */
  info: RunInfo | null;
}

interface DenseConfig {
  units?: unknown;
  activation?: unknown;
  use_bias?: unknown;
}

/** Reads a layers-format MLP (model.json + weights.bin), checking it against its topology before allocating. */
export function loadModel(dir: string): LoadedModel {
  const f = files(dir);
  if (!existsSync(dir)) throw new UsageError(`checkpoint ${dir}: no such directory`);
  if (!existsSync(f.model)) throw new UsageError(`checkpoint ${dir}: no model.json (is it a run directory?)`);
  const where = `checkpoint ${f.model}`;
  const json = readJson(f.model, `checkpoint ${dir}`) as {
    modelTopology?: { config?: { layers?: { class_name?: string; config?: DenseConfig }[] } };
    weightsManifest?: { paths?: string[]; weights?: { name: string; shape: number[]; dtype?: string }[] }[];
    userDefinedMetadata?: { metalearn?: RunInfo };
  };
  const info = json.userDefinedMetadata?.metalearn ?? null;
  if (info) checkFormatVersion(info.formatVersion, where);
  const layers = json.modelTopology?.config?.layers;
  if (!Array.isArray(layers) || layers.length < 2) throw new UsageError(`${where}: expected a Sequential model of at least two Dense layers`);
  const units = layers.map((l, i) => {
    const c = l.config ?? {};
    if (l.class_name !== 'Dense' || c.use_bias === false) throw new UsageError(`${where}: layer ${i + 1} is not a Dense layer with bias`);
    if (!Number.isInteger(c.units) || (c.units as number) < 1 || (c.units as number) > MAX_UNITS) throw new UsageError(`${where}: layer ${i + 1} has an invalid width ${JSON.stringify(c.units)}`);
    return c.units as number;
  });
  if (units[units.length - 1] !== 1) throw new UsageError(`${where}: the last layer must have 1 unit (sine regression), not ${units[units.length - 1]}`);
  const hiddenActs = new Set(layers.slice(0, -1).map((l) => l.config?.activation));
  const activation = [...hiddenActs][0];
  if (hiddenActs.size !== 1 || (activation !== 'relu' && activation !== 'tanh')) throw new UsageError(`${where}: hidden activations must all be relu or tanh, not ${[...hiddenActs].join(', ')}`);
  if ((layers[layers.length - 1].config?.activation ?? 'linear') !== 'linear') throw new UsageError(`${where}: the output layer must be linear`);
  const hidden = units.slice(0, -1);
  const shapes = paramShapes(hidden);
  const total = shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  if (total > MAX_PARAMS) throw new UsageError(`${where}: ${total} parameters is more than this tool accepts (${MAX_PARAMS})`);
  const manifest = json.weightsManifest?.flatMap((g) => g.weights ?? []) ?? [];
  if (manifest.length !== shapes.length) throw new UsageError(`${where}: the manifest lists ${manifest.length} weights, the topology needs ${shapes.length}`);
  manifest.forEach((w, i) => {
    if (!Array.isArray(w.shape) || w.shape.join(',') !== shapes[i].join(',') || (w.dtype ?? 'float32') !== 'float32') {
      throw new UsageError(`${where}: weight ${w.name} has shape [${w.shape}] (${w.dtype}), the topology needs [${shapes[i]}] float32`);
    }
  });
  const paths = json.weightsManifest?.flatMap((g) => g.paths ?? []) ?? [];
  if (paths.length !== 1) throw new UsageError(`${where}: expected one weights file, found ${paths.length}`);
  const weightsPath = join(dir, paths[0]);
  let size: number;
  try {
    size = statSync(weightsPath).size;
  } catch {
    throw new UsageError(`checkpoint ${dir}: weights file ${paths[0]} is missing`);
  }
  if (size !== total * 4) throw new UsageError(`checkpoint ${weightsPath}: ${size} bytes, the manifest needs ${total * 4} (truncated or from another model)`);
  const bytes = readFileSync(weightsPath);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  let offset = 0;
  const params = shapes.map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = tf.tensor(all.subarray(offset, offset + n), shape);
    offset += n;
    return t;
  });
  const config = info ? validateConfig(info.config, `${where} (userDefinedMetadata)`) : null;
  const expectsExtras = config !== null && LEARNERS[config.algo].extras !== undefined;
  const saved = expectsExtras ? (readJson(f.extras, `checkpoint ${dir} (${config.algo} keeps its learned tensors there)`) as { extras?: unknown }).extras : undefined;
  const extras = config ? decodeExtras(saved, config, `checkpoint ${f.extras}`) : {};
  return {
    params,
    extras: Object.fromEntries(Object.entries(extras).map(([name, arrays]) => [name, arrays.map((a) => tf.tensor(a.values, a.shape))])),
    hidden,
    activation,
    info: info && config ? { ...info, config } : null,
  };
}

/** Frees a loaded model's tensors. */
export function disposeModel(model: LoadedModel): void {
  tf.dispose([...model.params, ...Object.values(model.extras).flat()]);
}

type DecodedArray = { shape: number[]; values: Float32Array };

/** A learner's saved extra tensors, checked against the shapes its config gives them. */
function decodeExtras(saved: unknown, config: TrainConfig, where: string): Record<string, DecodedArray[]> {
  const groups = (typeof saved === 'object' && saved !== null ? saved : {}) as Record<string, EncodedArray[] | undefined>;
  const expected = Object.entries(LEARNERS[config.algo].extras?.(config) ?? {});
  return Object.fromEntries(
    expected.map(([name, { shapes }]) => {
      const arrays = groups[name];
      if (!Array.isArray(arrays) || arrays.length !== shapes.length || arrays.some((a, i) => a?.shape?.join(',') !== shapes[i].join(','))) {
        throw new UsageError(`${where}: the ${config.algo} tensors '${name}' are missing or do not match the config (shapes ${shapes.map((s) => `[${s}]`).join(' ')})`);
      }
      return [name, arrays.map((a, i) => ({ shape: shapes[i], values: decode(a, `${where} ${name} ${i}`) }))];
    }),
  );
}

/** Reads state.json for a resume, checking it before allocating anything. */
export function loadTrainState(dir: string): { state: TrainState; params: Float32Array[]; extras: Record<string, DecodedArray[]>; optimizer: OptimizerState } {
  const f = files(dir);
  if (!existsSync(f.state)) {
    throw new UsageError(`cannot resume ${dir}: no state.json (not a metalearn run directory, or stopped before its first checkpoint: --force starts it again)`);
  }
  const where = `checkpoint ${f.state}`;
  const state = readJson(f.state, `cannot resume ${dir}`) as TrainState;
  checkFormatVersion((state as Partial<TrainState> | null)?.formatVersion, where);
  checkStateShape(state, where);
  const config = validateConfig(state.config, where);
  const shapes = paramShapes(config.hidden);
  if (!Array.isArray(state.params) || state.params.length !== shapes.length || state.params.some((p, i) => p.shape?.join(',') !== shapes[i].join(','))) {
    throw new UsageError(`${where}: saved weights do not match hidden ${config.hidden.join(',')}`);
  }
  if (!Number.isInteger(state.iteration) || state.iteration < 0) throw new UsageError(`${where}: invalid iteration ${state.iteration}`);
  const params = state.params.map((p, i) => decode(p, `${where} weight ${i}`));
  const extras = decodeExtras(state.extras, config, where);
  const optimizer: OptimizerState = {
    step: state.optimizer.step,
    slots: state.optimizer.slots.map((s) => ({ name: s.name, shape: s.shape, values: decode(s, `${where} optimizer slot ${s.name}`) })),
  };
  return { state: { ...state, config }, params, extras, optimizer };
}

const encodedArray = z.object({ shape: z.array(z.number().int().nonnegative()).max(8), data: z.string() });
const byte = z.number().int().min(0).max(255);
/** What a resume reads from state.json besides the config, whose own schema checks it. */
const stateShape = z.object({
  iteration: z.number().int().nonnegative(),
  params: z.array(encodedArray),
  optimizer: z.object({ step: z.number().int().nonnegative(), slots: z.array(encodedArray.extend({ name: z.string() })) }),
  rng: z.object({ i: byte, j: byte, S: z.array(byte).length(256) }), // seedrandom's ARC4 state
  window: z.object({ sum: z.number().finite(), count: z.number().int().nonnegative() }),
  seconds: z.number().nonnegative(),
});

function checkStateShape(state: unknown, where: string): void {
  const parsed = stateShape.safeParse(state);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${where}: ${issue.path.length ? `'${issue.path.join('.')}'` : 'the file'}: ${issue.message} (damaged or not written by metalearn)`);
  }
}

export function loadCurve(dir: string): Curve {
  const curve = readJson(files(dir).curve, `run ${dir}`) as Curve;
  if (!Array.isArray(curve.train) || !Array.isArray(curve.validation)) throw new UsageError(`run ${dir}: curve.json lacks its train and validation lists`);
  return curve;
}
