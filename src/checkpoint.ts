// The files of a run directory, and their one commit point. A checkpoint of iteration i is
//   weights-<i>.bin    the MLP's weights, float32, in the layers manifest's order
//   extras-<i>.bin     the learner's own tensors (meta-sgd's rates, daml's network), when it has any
//   state-<i>.json     what only a resume needs: meta-optimizer state, random stream, unfinished curve window, time
//   curve-<i>.json     the training curve up to iteration i
//   model.json         the commit: a TF.js layers model (tf.loadLayersModel reads it) whose weights
//                      manifest names weights-<i>.bin and whose userDefinedMetadata.metalearn holds
//                      the iteration, the config, what computed it and the names of the other files
// written in that order, model.json renamed into place last; the files of other iterations are
// removed after it. A reader follows model.json, so it sees one iteration, whole, whatever instant a
// writer was killed at. Every fact is stored once: the weights in their .bin, the config and
// iteration in model.json, only what a resume needs in state-<i>.json.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { inputWidth, LEARNERS, type Extras } from './algorithms/index.js';
import { savedConfig, validateConfig, type TrainConfig } from './config.js';
import { UsageError } from './errors.js';
import { describeFsError, removeTempFiles, writeFileAtomic } from './fsutil.js';
import type { KernelSet } from './kernels/index.js';
import { MAX_PARAMS, MAX_UNITS } from './limits.js';
import type { RunLock } from './lock.js';
import { layerSizes, paramShapes, type Activation } from './model.js';
import type { OptimizerState } from './optim.js';
import type { RngState } from './rng.js';
import { VERSION } from './version.js';

export const FORMAT_VERSION = 2;
export const MODEL_FILE = 'model.json';

export interface CurvePoint {
  iteration: number;
  metaLoss: number;
  seconds: number;
}

export interface ValidationPoint {
  iteration: number;
  /** Mean grid MSE of the validation tasks before and after valUpdates fine-tuning steps. */
  before: number;
  after: number;
  seconds: number;
}

export interface Curve {
  train: CurvePoint[];
  validation: ValidationPoint[];
}

/** How a checkpoint was made: what model.json records beside the layers model. */
export interface RunInfo {
  iteration: number;
  config: TrainConfig;
  backend: string;
  kernels: KernelSet;
  metalearnVersion: string;
}

/** What only a resume needs. */
export interface ResumeState {
  optimizer: OptimizerState;
  rng: RngState;
  /** Meta-losses of the curve window under way: their sum and count. */
  window: { sum: number; count: number };
  /** Wall time of the run so far. */
  seconds: number;
}

/** userDefinedMetadata.metalearn of model.json. */
interface Metadata extends Omit<RunInfo, 'config'> {
  formatVersion: number;
  config: Partial<TrainConfig>;
  /** What each column of the model's input is: x, then CAVIA's context inputs (zero for the meta-learned prior; eval adapts them per task). */
  inputs: string[];
  files: { state: string; curve: string; extras?: string };
}

/** The names of the input columns of an MLP of `width` inputs: x, then the context inputs. */
export const inputNames = (width: number): string[] => ['x', ...Array.from({ length: width - 1 }, (_, i) => `context ${i + 1}`)];

const fileName = (kind: 'weights' | 'extras' | 'state' | 'curve', iteration: number) => `${kind}-${String(iteration).padStart(7, '0')}.${kind === 'weights' || kind === 'extras' ? 'bin' : 'json'}`;
/** Files of a checkpoint other than model.json. */
const CHECKPOINT_FILE = /^(weights|extras|state|curve)-\d+\.(bin|json)$/;

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
  const files: Metadata['files'] = { state: fileName('state', iteration), curve: fileName('curve', iteration), ...(c.extras.length ? { extras: fileName('extras', iteration) } : {}) };
  const weightsFile = fileName('weights', iteration);
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
  const metadata: Metadata = { formatVersion: FORMAT_VERSION, metalearnVersion: VERSION, iteration, backend: c.info.backend, kernels: c.info.kernels, config: savedConfig(config), inputs: inputNames(inputs), files };
  writeFileAtomic(join(dir, MODEL_FILE), JSON.stringify(modelJson(config.hidden, config.activation, weightsFile, metadata, inputs), null, 1));
  const kept = new Set([weightsFile, ...Object.values(files)]);
  for (const name of readdirSync(dir)) if (CHECKPOINT_FILE.test(name) && !kept.has(name)) rmSync(join(dir, name), { force: true });
}

/** The files of format 1 (metalearn 0.1), beside its model.json. */
export const FORMAT_1_FILES = ['weights.bin', 'state.json', 'curve.json', 'extras.json'];

/**
 * Removes what a killed writer left in a run directory of the current format: temporary files, the
 * files of an uncommitted checkpoint, format-1 files an upgrade killed after its commit left. Call
 * only while holding its lock.
 */
export function cleanRunDir(dir: string): void {
  removeTempFiles(dir);
  if (!existsSync(join(dir, MODEL_FILE))) return;
  const json = readJson(join(dir, MODEL_FILE), `run ${dir}`) as { weightsManifest?: { paths?: string[] }[]; userDefinedMetadata?: { metalearn?: Partial<Metadata> } };
  const meta = json.userDefinedMetadata?.metalearn;
  if (meta?.formatVersion !== FORMAT_VERSION) return; // another format: loadRun says what to do with it
  const kept = new Set([...(json.weightsManifest?.flatMap((g) => g.paths ?? []).map((p) => p.replace(/^\.\//, '')) ?? []), ...Object.values(meta.files ?? {})]);
  for (const name of readdirSync(dir)) if ((CHECKPOINT_FILE.test(name) && !kept.has(name)) || FORMAT_1_FILES.includes(name)) rmSync(join(dir, name), { force: true });
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

/** A run directory, read and checked, before any tensor exists. */
export interface Run {
  dir: string;
  hidden: number[];
  activation: Activation;
  /** Input columns of the MLP: 1 (x), or 1 + CAVIA's context inputs. */
  inputs: number;
  /** The MLP's weights, one array per param (shapes: paramShapes(hidden, inputs)). */
  weights: Float32Array[];
  /** Null for a plain layers model (e.g. written by the PyTorch peer), which has only weights. */
  info: RunInfo | null;
  /** The learner's own tensors by group, shapes from its config. */
  extras: Record<string, { shape: number[]; values: Float32Array }[]>;
  resume: ResumeState | null;
  curve: Curve | null;
}

interface DenseConfig {
  batch_input_shape?: unknown;
  units?: unknown;
  activation?: unknown;
  use_bias?: unknown;
}

interface LayersModelJson {
  modelTopology?: { config?: { layers?: { class_name?: string; config?: DenseConfig }[] } };
  weightsManifest?: { paths?: string[]; weights?: { name: string; shape: number[]; dtype?: string }[] }[];
  userDefinedMetadata?: { metalearn?: Partial<Metadata> };
}

const encodedSlot = z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()).max(8), data: z.string() });
const byte = z.number().int().min(0).max(255);
const resumeShape = z.object({
  optimizer: z.object({ step: z.number().int().nonnegative(), slots: z.array(encodedSlot) }),
  rng: z.object({ i: byte, j: byte, S: z.array(byte).length(256) }), // seedrandom's ARC4 state
  window: z.object({ sum: z.number().finite(), count: z.number().int().nonnegative() }),
  seconds: z.number().nonnegative(),
});
const point = { iteration: z.number().int().nonnegative(), seconds: z.number() };
const curveShape = z.object({
  train: z.array(z.object({ ...point, metaLoss: z.number() })),
  validation: z.array(z.object({ ...point, before: z.number(), after: z.number() })),
});

/** A curve file's content, checked (its points only: other keys, such as format 1's, are dropped). */
export function parseCurve(json: unknown, where: string): Curve {
  return parseShape(curveShape, json, where);
}

/** Parses with a zod schema, or refuses naming the first problem. */
function parseShape<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new UsageError(`${where}: ${issue.path.length ? `'${issue.path.join('.')}'` : 'the file'}: ${issue.message} (damaged or not written by metalearn)`);
}

function readFloats(path: string, floats: number, where: string): Float32Array {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw Object.assign(new UsageError(`${where}: ${path} is missing (${describeFsError(e)})`), { missing: true });
  }
  if (size !== floats * 4) throw new UsageError(`${where}: ${path}: ${size} bytes, the manifest needs ${floats * 4} (truncated or from another model)`);
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

function split(all: Float32Array, shapes: number[][]): Float32Array[] {
  let offset = 0;
  return shapes.map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const part = all.subarray(offset, offset + n);
    offset += n;
    return part;
  });
}

/** The topology of a layers-format MLP: input columns, hidden widths and activation, checked against what metalearn accepts. */
function readTopology(json: LayersModelJson, where: string): { inputs: number; hidden: number[]; activation: Activation } {
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
  const shape = layers[0].config?.batch_input_shape;
  const inputs = Array.isArray(shape) ? shape[1] : 1;
  if (!Number.isInteger(inputs) || inputs < 1 || inputs > MAX_UNITS) throw new UsageError(`${where}: layer 1 has an invalid input width ${JSON.stringify(inputs)}`);
  return { inputs, hidden: units.slice(0, -1), activation };
}

/** Reads one committed checkpoint of dir (see loadRun). */
function readRun(dir: string): Run {
  const modelPath = join(dir, MODEL_FILE);
  const where = `checkpoint ${modelPath}`;
  const json = readJson(modelPath, `checkpoint ${dir}`) as LayersModelJson;
  const meta = json.userDefinedMetadata?.metalearn ?? null;
  if (meta && typeof meta.formatVersion === 'number' && meta.formatVersion > FORMAT_VERSION) {
    throw new UsageError(`${where}: written by a newer metalearn (format ${meta.formatVersion}; this metalearn reads format ${FORMAT_VERSION}): upgrade metalearn`);
  }
  if (meta && meta.formatVersion !== FORMAT_VERSION) {
    throw new UsageError(`${where}: written in format ${meta.formatVersion} by metalearn ${meta.metalearnVersion ?? '0.1'}: convert it with \`npx metalearn upgrade ${dir}\``);
  }
  const { inputs, hidden, activation } = readTopology(json, where);
  const shapes = paramShapes(hidden, inputs);
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
  // every size and shape is checked before the big reads
  let info: RunInfo | null = null;
  let groups: [string, number[][]][] = [];
  if (meta) {
    const config = validateConfig(meta.config, `${where} (userDefinedMetadata)`);
    if (config.hidden.join(',') !== hidden.join(',') || config.activation !== activation || inputWidth(config) !== inputs) {
      const widths = inputWidth(config) === inputs ? '' : `, ${inputWidth(config)} inputs; the topology takes ${inputs}`;
      throw new UsageError(`${where}: its config (hidden ${config.hidden}, ${config.activation}${widths}) does not match its topology`);
    }
    const files = meta.files;
    if (!Number.isInteger(meta.iteration) || (meta.iteration as number) < 0 || typeof files?.state !== 'string' || typeof files.curve !== 'string') throw new UsageError(`${where}: its metalearn metadata is incomplete (damaged or not written by metalearn)`);
    info = { iteration: meta.iteration as number, config, backend: String(meta.backend), kernels: meta.kernels === 'simd' ? 'simd' : 'builtin', metalearnVersion: String(meta.metalearnVersion) };
    groups = Object.entries(LEARNERS[config.algo].extras?.(config) ?? {}).map(([name, g]) => [name, g.shapes]);
    if (groups.length > 0 && typeof files.extras !== 'string') throw new UsageError(`${where}: ${config.algo} keeps its learned tensors in an extras file, and none is named`);
  }
  if (!meta && inputs !== 1) throw new UsageError(`${where}: a layers model without metalearn metadata must take one input (x), not ${inputs}`);
  const weights = split(readFloats(join(dir, paths[0]), total, `checkpoint ${dir}`), shapes);
  if (!meta || !info) return { dir, inputs, hidden, activation, weights, info: null, extras: {}, resume: null, curve: null };
  const extraShapes = groups.flatMap(([, s]) => s);
  const extraFloats = extraShapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  const extraValues = groups.length ? split(readFloats(join(dir, meta.files!.extras!), extraFloats, `checkpoint ${dir}`), extraShapes) : [];
  let offset = 0;
  const extras = Object.fromEntries(groups.map(([name, s]) => [name, s.map((shape) => ({ shape, values: extraValues[offset++] }))]));
  const stateWhere = `checkpoint ${join(dir, meta.files!.state)}`;
  const state = parseShape(resumeShape, readJson(join(dir, meta.files!.state), `checkpoint ${dir}`), stateWhere);
  const resume: ResumeState = {
    ...state,
    optimizer: {
      step: state.optimizer.step,
      slots: state.optimizer.slots.map((s) => {
        const bytes = Buffer.from(s.data, 'base64');
        if (bytes.length !== s.shape.reduce((a, b) => a * b, 1) * 4) throw new UsageError(`${stateWhere}: optimizer slot ${s.name}: ${bytes.length} bytes for shape [${s.shape}]`);
        return { name: s.name, shape: s.shape, values: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)) };
      }),
    },
  };
  const curve = parseCurve(readJson(join(dir, meta.files!.curve), `checkpoint ${dir}`), `checkpoint ${join(dir, meta.files!.curve)}`);
  return { dir, inputs, hidden, activation, weights, info, extras, resume, curve };
}

/**
 * Reads the committed checkpoint of a run directory (or a plain layers model), everything checked
 * before any tensor is allocated. A writer may commit a newer checkpoint and remove this one's
 * files while they are read: then the newer one is read.
 */
export function loadRun(dir: string): Run {
  if (!existsSync(dir)) throw new UsageError(`checkpoint ${dir}: no such directory`);
  if (!existsSync(join(dir, MODEL_FILE))) throw new UsageError(`checkpoint ${dir}: no model.json (is it a run directory?)`);
  for (let attempt = 0; ; attempt++) {
    try {
      return readRun(dir);
    } catch (e) {
      if (!(e as { missing?: boolean }).missing && !/cannot read .*ENOENT/.test((e as Error).message)) throw e;
      if (attempt >= 5) throw e;
    }
  }
}

/** A run's MLP and extras as tensors, for evaluation. */
export interface LoadedModel extends Omit<Run, 'weights' | 'extras'> {
  params: tf.Tensor[];
  /** The learner's extra tensors; none for most algorithms and for a plain layers model. */
  extras: Extras;
}

/** loadRun, and the weights made tensors. */
export function loadModel(dir: string): LoadedModel {
  const run = loadRun(dir);
  const shapes = paramShapes(run.hidden, run.inputs);
  return {
    ...run,
    params: run.weights.map((w, i) => tf.tensor(w, shapes[i])),
    extras: Object.fromEntries(Object.entries(run.extras).map(([name, arrays]) => [name, arrays.map((a) => tf.tensor(a.values, a.shape))])),
  };
}

/** Frees a loaded model's tensors. */
export function disposeModel(model: LoadedModel): void {
  tf.dispose([...model.params, ...Object.values(model.extras).flat()]);
}
