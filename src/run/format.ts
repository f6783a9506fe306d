// The files of a run directory, and what a reader checks in them. A checkpoint of iteration i is
//   weights-<i>.bin    the MLP's weights, float32, in the layers manifest's order
//   extras-<i>.bin     the learner's own tensors (meta-sgd's rates, daml's network), when it has any
//   state-<i>.json     what only a resume needs: meta-optimizer state, random stream, unfinished curve window, time
//   curve-<i>.json     the training curve up to iteration i
//   model.json         the commit: a TF.js layers model (tf.loadLayersModel reads it) whose weights
//                      manifest names weights-<i>.bin and whose userDefinedMetadata.metalearn holds
//                      the iteration, the config, what computed it and the names of the other files
// Every fact is stored once: the weights in their .bin, the config and iteration in model.json, only
// what a resume needs in state-<i>.json. Reading them goes through RunFiles, so that the same checks
// run on files read from disk (checkpoint.ts, which also writes them) and fetched by the page (page/).
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { inputWidth, learnerOf } from '../algorithms/index.js';
import type { DatasetFacts } from '../tasks/data.js';
import type { Extras } from '../algorithms/learner.js';
import { defaultConfig, validateConfig, type TrainConfig } from '../config/config.js';
import { UsageError } from '../base/errors.js';
import type { KernelSet } from '../kernels/index.js';
import { MAX_PARAMS, MAX_UNITS } from '../options/limits.js';
import { paramShapes, type Activation } from '../core/model.js';
import type { OptimizerState } from '../core/optim.js';
import type { RngState } from '../core/rng.js';

export const FORMAT_VERSION = 2;
/** Where the commands keep run directories, unless told otherwise (train's --out-dir, eval's newest run, serve's list). */
export const RUNS_FOLDER = 'checkpoints';
/** The commit: the file a reader starts from. */
export const MODEL_FILE = 'model.json';

/** The files of a checkpoint beside model.json, by kind. */
export type CheckpointFileKind = 'weights' | 'extras' | 'state' | 'curve';
/** A checkpoint file's name: <kind>-<iteration, 7 digits>.<bin|json>. */
export const checkpointFile = (kind: CheckpointFileKind, iteration: number): string => `${kind}-${String(iteration).padStart(7, '0')}.${kind === 'weights' || kind === 'extras' ? 'bin' : 'json'}`;
/** The names checkpointFile makes. */
export const CHECKPOINT_FILE = /^(weights|extras|state|curve)-\d+\.(bin|json)$/;
/** The files of format 1 (metalearn 0.1) beside its model.json, each replaced on its own. */
export const FORMAT_1_FILES = { weights: 'weights.bin', state: 'state.json', curve: 'curve.json', extras: 'extras.json' } as const;
/** Whether a file of a run directory is metalearn's (the only ones a new run with --force replaces). */
export const isRunFile = (name: string): boolean => name === MODEL_FILE || CHECKPOINT_FILE.test(name) || (Object.values(FORMAT_1_FILES) as string[]).includes(name);

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
  /** The data file a data family's run was trained on: its content hash, columns, split and scales. */
  data?: DatasetFacts;
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
export interface Metadata extends Omit<RunInfo, 'config'> {
  formatVersion: number;
  config: Partial<TrainConfig>;
  /** What each column of the model's input is: x, then CAVIA's context inputs (zero for the meta-learned prior; eval adapts them per task). */
  inputs: string[];
  files: { state: string; curve: string; extras?: string };
}

/** A file of a run that could not be read; `missing` when it does not exist (a writer may have just replaced it). */
export class RunFileError extends Error {
  constructor(
    message: string,
    readonly missing: boolean,
  ) {
    super(message);
  }
}

/** Read access to the files of one run directory (each method throws a RunFileError for a file it cannot read). */
export interface RunFiles {
  /** The run directory, as messages name it. */
  dir: string;
  /** A file of it, as messages name it. */
  path(name: string): string;
  /** Its size in bytes, without reading it. */
  size(name: string): number;
  read(name: string): Uint8Array;
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

export interface LayersModelJson {
  modelTopology?: { config?: { layers?: { class_name?: string; config?: DenseConfig }[] } };
  weightsManifest?: { paths?: string[]; weights?: { name: string; shape: number[]; dtype?: string }[] }[];
  userDefinedMetadata?: { metalearn?: Partial<Metadata> };
}

/** The files a model.json names beside itself (its weights, and metalearn's state, curve and extras), as names in its directory. */
export function filesNamedBy(json: LayersModelJson): string[] {
  const weights = json.weightsManifest?.flatMap((g) => g.paths ?? []) ?? [];
  const files = Object.values(json.userDefinedMetadata?.metalearn?.files ?? {}).filter((f): f is string => typeof f === 'string');
  return [...weights, ...files].map((p) => p.replace(/^\.\//, ''));
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

/** A RunFileError as the UsageError a reader shows, still marked missing when the file is. */
function refuse(e: unknown, message: (reason: string) => string): never {
  if (e instanceof RunFileError) throw Object.assign(new UsageError(message(e.message)), { missing: e.missing });
  throw e;
}

/** A JSON file of the run, parsed. */
export function readRunJson(files: RunFiles, name: string, what: string): unknown {
  let text: string;
  try {
    text = new TextDecoder().decode(files.read(name));
  } catch (e) {
    refuse(e, (reason) => `${what}: cannot read ${files.path(name)}: ${reason}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what}: ${files.path(name)} is not valid JSON (${(e as Error).message})`);
  }
}

function readFloats(files: RunFiles, name: string, floats: number, where: string): Float32Array {
  let size = 0;
  try {
    size = files.size(name);
  } catch (e) {
    refuse(e, (reason) => `${where}: ${files.path(name)} is missing (${reason})`);
  }
  if (size !== floats * 4) throw new UsageError(`${where}: ${files.path(name)}: ${size} bytes, the manifest needs ${floats * 4} (truncated or from another model)`);
  let bytes: Uint8Array = new Uint8Array(0);
  try {
    bytes = files.read(name);
  } catch (e) {
    refuse(e, (reason) => `${where}: ${files.path(name)} is missing (${reason})`);
  }
  if (bytes.length !== floats * 4) throw new UsageError(`${where}: ${files.path(name)}: ${bytes.length} bytes, the manifest needs ${floats * 4} (truncated or from another model)`);
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

/** Base64 to bytes (atob: the same in Node and in a browser); undefined when it is not base64. */
function fromBase64(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** The topology of a layers-format MLP: hidden widths and activation, checked against what metalearn accepts. */
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

/** Refuses a model.json of another format than this metalearn's, saying what to do. */
function checkFormat(meta: Partial<Metadata> | null, where: string, dir: string): void {
  if (meta && typeof meta.formatVersion === 'number' && meta.formatVersion > FORMAT_VERSION) {
    throw new UsageError(`${where}: written by a newer metalearn (format ${meta.formatVersion}; this metalearn reads format ${FORMAT_VERSION}): upgrade metalearn`);
  }
  if (meta && meta.formatVersion !== FORMAT_VERSION) {
    throw new UsageError(`${where}: written in format ${meta.formatVersion} by metalearn ${meta.metalearnVersion ?? '0.1'}: convert it with \`npx metalearn upgrade ${dir}\``);
  }
}

/** The MLP a model.json describes, its weights manifest checked against its topology; the weights file it names. */
function readModel(json: LayersModelJson, where: string) {
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
  return { inputs, hidden, activation, shapes, total, weightsFile: paths[0].replace(/^\.\//, '') };
}

/** What metalearn's metadata says of a run, checked against its topology; and the shapes of its learner's extras, by group. */
function readInfo(meta: Partial<Metadata>, where: string, model: { inputs: number; hidden: number[]; activation: Activation }): { info: RunInfo; files: Metadata['files']; groups: [string, number[][]][] } {
  const config = validateConfig(meta.config, `${where} (userDefinedMetadata)`);
  if (config.hidden.join(',') !== model.hidden.join(',') || config.activation !== model.activation || inputWidth(config) !== model.inputs) {
    const widths = inputWidth(config) === model.inputs ? '' : `, ${inputWidth(config)} inputs; the topology takes ${model.inputs}`;
    throw new UsageError(`${where}: its config (hidden ${config.hidden}, ${config.activation}${widths}) does not match its topology`);
  }
  const files = meta.files;
  if (!Number.isInteger(meta.iteration) || (meta.iteration as number) < 0 || typeof files?.state !== 'string' || typeof files.curve !== 'string') throw new UsageError(`${where}: its metalearn metadata is incomplete (damaged or not written by metalearn)`);
  const info: RunInfo = { iteration: meta.iteration as number, config, backend: String(meta.backend), kernels: meta.kernels === 'simd' ? 'simd' : 'builtin', metalearnVersion: String(meta.metalearnVersion), ...(meta.data ? { data: meta.data } : {}) };
  if (config.family === 'data' && !meta.data?.sha256) throw new UsageError(`${where}: a run of the data family records its data (file, hash, scales), and this one does not`);
  const groups = Object.entries(learnerOf(config.algo).extras?.(config) ?? {}).map(([name, g]): [string, number[][]] => [name, g.shapes]);
  if (groups.length > 0 && typeof files.extras !== 'string') throw new UsageError(`${where}: ${config.algo} keeps its learned tensors in an extras file, and none is named`);
  return { info, files, groups };
}

/** The learner's extras by group, from their file. */
function readExtras(files: RunFiles, name: string | undefined, groups: [string, number[][]][]): Run['extras'] {
  const shapes = groups.flatMap(([, s]) => s);
  const floats = shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  const values = groups.length ? split(readFloats(files, name!, floats, `checkpoint ${files.dir}`), shapes) : [];
  let offset = 0;
  return Object.fromEntries(groups.map(([group, s]) => [group, s.map((shape) => ({ shape, values: values[offset++] }))]));
}

/** What a resume needs, from the state file: its optimizer slots decoded and checked. */
function readResume(files: RunFiles, name: string): ResumeState {
  const where = `checkpoint ${files.path(name)}`;
  const state = parseShape(resumeShape, readRunJson(files, name, `checkpoint ${files.dir}`), where);
  const slots = state.optimizer.slots.map((s) => {
    const bytes = fromBase64(s.data);
    if (!bytes) throw new UsageError(`${where}: optimizer slot ${s.name} is not base64 (damaged or not written by metalearn)`);
    if (bytes.length !== s.shape.reduce((a, b) => a * b, 1) * 4) throw new UsageError(`${where}: optimizer slot ${s.name}: ${bytes.length} bytes for shape [${s.shape}]`);
    return { name: s.name, shape: s.shape, values: new Float32Array(bytes.buffer) };
  });
  return { ...state, optimizer: { step: state.optimizer.step, slots } };
}

/** Reads one committed checkpoint (or a plain layers model) and checks all of it, every size and shape before the big reads. */
export function parseRun(files: RunFiles): Run {
  const { dir } = files;
  const where = `checkpoint ${files.path(MODEL_FILE)}`;
  const json = readRunJson(files, MODEL_FILE, `checkpoint ${dir}`) as LayersModelJson;
  const meta = json.userDefinedMetadata?.metalearn ?? null;
  checkFormat(meta, where, dir);
  const model = readModel(json, where);
  const { inputs, hidden, activation } = model;
  const described = meta && readInfo(meta, where, model);
  if (!meta && inputs !== 1) throw new UsageError(`${where}: a layers model without metalearn metadata must take one input (x), not ${inputs}`);
  const weights = split(readFloats(files, model.weightsFile, model.total, `checkpoint ${dir}`), model.shapes);
  if (!described) return { dir, inputs, hidden, activation, weights, info: null, extras: {}, resume: null, curve: null };
  const extras = readExtras(files, described.files.extras, described.groups);
  const resume = readResume(files, described.files.state);
  const curve = parseCurve(readRunJson(files, described.files.curve, `checkpoint ${dir}`), `checkpoint ${files.path(described.files.curve)}`);
  return { dir, inputs, hidden, activation, weights, info: described.info, extras, resume, curve };
}

/** A run's MLP and extras as tensors, for evaluation. */
export interface LoadedModel extends Omit<Run, 'weights' | 'extras'> {
  params: tf.Tensor[];
  /** The learner's extra tensors; none for most algorithms and for a plain layers model. */
  extras: Extras;
}

/** A run's config; for a plain layers model, which carries none, the defaults (its task family, fine-tuning rate and loss). */
export function configOf(run: Pick<Run, 'info'>): TrainConfig {
  return run.info?.config ?? defaultConfig();
}

/** A run read and checked, its weights made tensors. */
export function modelOf(run: Run): LoadedModel {
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
