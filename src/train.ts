// The meta-training loop: sample a meta-batch, take the algorithm's meta-gradient,
// step the meta-optimizer; log the curve, validate, checkpoint, and stop cleanly
// when asked. Resuming from state.json continues the very same run.
import { accessSync, constants, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { LEARNERS, type Extras, type MetaBatch, type MetaLearner } from './algorithms/index.js';
import { clipByGlobalNorm } from './adapt.js';
import { runtime } from './backend.js';
import { files, loadCurve, loadTrainState, saveCheckpoint, FORMAT_VERSION, type Curve, type RunInfo, type ValidationPoint } from './checkpoint.js';
import { RunError, UsageError, validateConfig, type TrainConfig } from './config.js';
import { disposeEvalSet, fineTune, makeEvalSet, summarize, type EvalSet } from './evaluate.js';
import { describeFsError, removeTempFiles } from './fsutil.js';
import { initParams } from './model.js';
import { createMetaOptimizer, metaLrAt, type MetaOptimizer } from './optim.js';
import { Rng } from './rng.js';
import { pointSet, sampleInputs, sampleTasks } from './tasks.js';
import { VERSION } from './version.js';

export interface Progress {
  iteration: number;
  total: number;
  /** Mean meta-loss of the latest curve window. */
  metaLoss: number | null;
  validation: ValidationPoint | null;
}

export interface TrainOptions {
  config: TrainConfig;
  runDir: string;
  /** Continue the run saved in runDir: its config comes from state.json, except the RESUMABLE_CHANGES, taken from `config`. */
  resume?: boolean;
  /** Replace whatever runDir holds. */
  force?: boolean;
  onProgress?: (p: Progress) => void;
  /** Polled after every iteration: true stops the run after a checkpoint. */
  shouldStop?: () => boolean;
}

export interface TrainResult {
  iteration: number;
  stopped: boolean;
  curve: Curve;
  runDir: string;
}

/** Options a resumed run may change: it is extended, or logged and saved at other intervals. */
export const RESUMABLE_CHANGES = ['iterations', 'logEvery', 'evalEvery', 'checkpointEvery', 'description'] as const;

/** The loop gives the event loop (signals, the progress bar's timer) a turn this often: every iteration would cost tens of microseconds each. */
const YIELD_MS = 20;

/** Thrown when the loss or the weights stop being finite; the last checkpoint is kept. */
export class DivergenceError extends RunError {}

/** Refuses a run directory that holds another run (unless forced), or that cannot be created or written; touches nothing. */
export function checkRunDir(dir: string, force: boolean): void {
  let existing = dir; // the run directory, or the nearest folder above it that exists
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  if (!statSync(existing).isDirectory()) throw new UsageError(`cannot create run directory ${dir}: ${existing} is a file`);
  try {
    accessSync(existing, constants.W_OK);
  } catch (e) {
    throw new UsageError(`cannot write to run directory ${dir}: ${describeFsError(e)}`);
  }
  if (existing !== dir || force || readdirSync(dir).length === 0) return;
  const isRun = existsSync(files(dir).state) || existsSync(files(dir).model);
  throw new UsageError(
    isRun
      ? `${dir} already holds a run: pass --resume ${dir} to continue it, --force to replace it, or --name for another directory`
      : `${dir} is not empty: pass --force to write the run there (only metalearn's files are replaced) or --name for another directory`,
  );
}

/** Refuses to overwrite another run unless forced, or to start where it cannot write; creates the directory. */
export function prepareRunDir(dir: string, force: boolean): void {
  checkRunDir(dir, force);
  try {
    // the last level without `recursive`, so that a read-only parent reports EROFS rather than ENOENT
    mkdirSync(dirname(dir), { recursive: true });
    if (!existsSync(dir)) mkdirSync(dir);
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new UsageError(`cannot write to run directory ${dir}: ${describeFsError(e)}`);
  }
  for (const f of Object.values(files(dir))) rmSync(f, { force: true });
  removeTempFiles(dir);
}

/** The fixed validation tasks of a run: drawn from their own stream of the seed. */
export function validationSet(config: TrainConfig): EvalSet {
  return makeEvalSet(config, { tasks: config.valTasks, samples: config.valSamples, seed: `${config.seed}:validation` });
}

function sampleMetaBatch(rng: Rng, config: TrainConfig, withQuery: boolean): MetaBatch {
  const tasks = sampleTasks(rng, config, config.metaBatch);
  const support = pointSet(tasks, sampleInputs(rng, tasks.length, config.support, config.xRange, config.supportGrid));
  const query = withQuery ? pointSet(tasks, sampleInputs(rng, tasks.length, config.query, config.xRange, config.queryGrid)) : null;
  return { tasks, support, query };
}

/** A learner's extra tensors at their initial values, drawn from a stream of their own (the MLP's stays as it was). */
/** What a run trains: the MLP and the learner's extras as variables, and one meta-optimizer over all of them. */
export interface Trainable {
  params: tf.Variable[];
  extras: Record<string, tf.Variable[]>;
  optimizer: MetaOptimizer;
  dispose(): void;
}

/** Makes variables of the starting tensors (and frees those), with a fresh meta-optimizer. A fresh run starts from initialTensors. */
export function trainable(config: TrainConfig, initial: tf.Tensor[], startExtras: Extras): Trainable {
  const params = initial.map((t) => tf.variable(t, true));
  const extras = Object.fromEntries(Object.entries(startExtras).map(([name, ts]) => [name, ts.map((t) => tf.variable(t, true))]));
  tf.dispose([...initial, ...Object.values(startExtras).flat()]);
  const optimizer = createMetaOptimizer(config, [...params, ...Object.values(extras).flat()]);
  return {
    params,
    extras,
    optimizer,
    dispose() {
      tf.dispose([...params, ...Object.values(extras).flat()]);
      optimizer.dispose();
    },
  };
}

/** The starting point of a fresh run: the MLP's initialisation and the learner's extras, drawn from the seed. */
export function initialTensors(config: TrainConfig): { initial: tf.Tensor[]; extras: Extras } {
  return { initial: initParams(config.hidden, new Rng(`${config.seed}:init`)), extras: drawExtras(LEARNERS[config.algo], config) };
}

function drawExtras(learner: MetaLearner, config: TrainConfig): Extras {
  const rng = new Rng(`${config.seed}:extras`);
  return Object.fromEntries(Object.entries(learner.extras?.(config) ?? {}).map(([name, group]) => [name, group.init(rng)]));
}

/**
 * One meta-iteration: sample a meta-batch and step the meta-optimizer on the params and the
 * learner's extras. Returns the meta-loss, a scalar the caller frees.
 */
export function metaIteration(learner: MetaLearner, params: tf.Variable[], optimizer: MetaOptimizer, config: TrainConfig, rng: Rng, lr: number, extras: Record<string, tf.Variable[]> = {}): tf.Scalar {
  const batch = sampleMetaBatch(rng, config, learner.usesQuery);
  try {
    return tf.tidy(() => {
      const { loss, grads } = learner.metaGradient(params, batch, config, rng, extras);
      optimizer.apply([...params, ...Object.values(extras).flat()], config.clipGrad === null ? grads : clipByGlobalNorm(grads, config.clipGrad, false), lr);
      return loss;
    });
  } finally {
    tf.dispose([batch.support.x, batch.support.y, batch.query?.x, batch.query?.y].filter((t) => t !== undefined));
  }
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const startTensors = tf.memory().numTensors;
  let config = validateConfig(o.config, 'train options'); // a library caller gets the CLI's checks too
  let iteration = 0;
  let rng: Rng;
  let initial: tf.Tensor[];
  let startExtras: Extras;
  let window = { sum: 0, count: 0 };
  let secondsBefore = 0;
  let curve: Curve;
  let restoreOptimizer: ((opt: MetaOptimizer) => void) | null = null;
  if (o.resume) {
    const saved = loadTrainState(o.runDir);
    config = { ...saved.state.config, ...Object.fromEntries(RESUMABLE_CHANGES.map((k) => [k, o.config[k]])) };
    iteration = saved.state.iteration;
    rng = new Rng(config.seed, saved.state.rng);
    initial = saved.params.map((v, i) => tf.tensor(v, saved.state.params[i].shape));
    startExtras = Object.fromEntries(Object.entries(saved.extras).map(([name, arrays]) => [name, arrays.map((a) => tf.tensor(a.values, a.shape))]));
    window = saved.state.window;
    secondsBefore = saved.state.seconds;
    const full = loadCurve(o.runDir);
    removeTempFiles(o.runDir); // left by a process killed mid-write
    // curve.json is written before state.json: drop what lies beyond the saved iteration.
    curve = { ...full, train: full.train.filter((p) => p.iteration <= iteration), validation: full.validation.filter((p) => p.iteration <= iteration) };
    restoreOptimizer = (opt) => {
      try {
        opt.restore(saved.optimizer);
      } catch (e) {
        throw new UsageError(`checkpoint ${files(o.runDir).state}: ${(e as Error).message} (damaged or not written by metalearn)`);
      }
    };
  } else {
    prepareRunDir(o.runDir, o.force ?? false);
    rng = new Rng(config.seed);
    ({ initial, extras: startExtras } = initialTensors(config));
    curve = { formatVersion: FORMAT_VERSION, algo: config.algo, backend: runtime().backend, kernels: runtime().kernels, metalearnVersion: VERSION, train: [], validation: [] };
  }
  const learner = LEARNERS[config.algo];
  const state = trainable(config, initial, startExtras);
  const { params, extras, optimizer } = state;
  const valSet = validationSet(config);
  const clock = Date.now();
  const seconds = () => secondsBefore + (Date.now() - clock) / 1000;
  const total = learner.trains ? config.iterations : 0;
  let windowSum: tf.Scalar = tf.scalar(window.sum);
  let lastLoss: number | null = curve.train.at(-1)?.metaLoss ?? null;

  const { backend, kernels } = runtime();
  const info = (): RunInfo => ({ formatVersion: FORMAT_VERSION, metalearnVersion: VERSION, algo: config.algo, iteration, backend, kernels, config });
  // This window's meta-losses, one scalar per iteration: read only when the window's sum is not finite.
  let windowLosses: tf.Scalar[] = [];
  const syncWindow = () => {
    window = { sum: windowSum.dataSync()[0], count: window.count };
  };
  const diverged = (at: number, what: string) => {
    const last = readLastIteration(o.runDir);
    const kept = last === null ? 'no checkpoint was written' : `the last good checkpoint (iteration ${last}) is kept in ${o.runDir}`;
    return new DivergenceError(`training diverged at iteration ${at}: ${what}; ${kept}. Start again with a smaller --meta-lr or --inner-lr, or with --clip-grad.`);
  };
  /** Syncs the window; stops at the first non-finite meta-loss, or at weights made non-finite by the latest update. */
  const checkFinite = () => {
    syncWindow();
    if (!Number.isFinite(window.sum)) {
      const stacked = tf.stack(windowLosses);
      const losses = stacked.dataSync();
      stacked.dispose();
      const first = losses.findIndex((v) => !Number.isFinite(v));
      throw diverged(iteration - windowLosses.length + first + 1, `its meta-loss is ${losses[first]}`);
    }
    // 0 * w is 0 for every finite w and NaN otherwise: a cheap, overflow-free test of all the weights
    const weights = [...params, ...Object.values(extras).flat()];
    const zeroIfFinite = tf.tidy(() => tf.addN(weights.map((w) => tf.sum(tf.mul(w, 0)))));
    const finite = Number.isFinite(zeroIfFinite.dataSync()[0]);
    zeroIfFinite.dispose();
    if (!finite) throw diverged(iteration, 'its meta-gradient made the weights infinite or NaN');
  };
  const checkpoint = () => {
    checkFinite();
    try {
      saveCheckpoint(o.runDir, { info: info(), params, extras, optimizer: optimizer.state(), rng: rng.state(), window, seconds: seconds(), curve });
    } catch (e) {
      if (!(e as NodeJS.ErrnoException).code) throw e;
      const last = existsSync(o.runDir) ? readLastIteration(o.runDir) : undefined;
      const left = last === undefined ? 'the run directory has disappeared' : last === null ? 'no checkpoint was written' : `the checkpoint of iteration ${last} is intact`;
      throw new RunError(`cannot write the checkpoint of iteration ${iteration} in ${o.runDir}: ${describeFsError(e)}; ${left}`);
    }
  };
  const validate = (): ValidationPoint => {
    checkFinite(); // a diverged meta-loss is named at its own iteration, before the validation that it spoils
    const step = learner.fineTuning?.(extras).step;
    const losses = fineTune(params, valSet, { updates: config.valUpdates, lr: config.innerLr, loss: config.loss, activation: config.activation, step }).losses;
    const point = { iteration, before: summarize(losses[0]).mean, after: summarize(losses[losses.length - 1]).mean, seconds: seconds() };
    if (!Number.isFinite(point.before + point.after)) throw diverged(iteration, `its validation loss is ${point.before} before fine-tuning and ${point.after} after`);
    curve.validation = [...curve.validation.filter((p) => p.iteration !== iteration), point];
    return point;
  };

  let stopped = false;
  let lastYield = performance.now();
  try {
    restoreOptimizer?.(optimizer);
    if (iteration === 0 && curve.validation.length === 0) o.onProgress?.({ iteration, total, metaLoss: null, validation: validate() });
    if (iteration === 0) checkpoint();
    while (iteration < total) {
      const loss = metaIteration(learner, params, optimizer, config, rng, metaLrAt(config, iteration), extras);
      const nextSum = tf.add(windowSum, loss) as tf.Scalar;
      windowSum.dispose();
      windowSum = nextSum;
      windowLosses.push(loss);
      window.count++;
      iteration++;
      let validation: ValidationPoint | null = null;
      if (window.count >= config.logEvery || iteration === total) { // >=: a resume may shorten --log-every
        checkFinite();
        lastLoss = window.sum / window.count;
        curve.train.push({ iteration, metaLoss: lastLoss, seconds: seconds() });
        windowSum.dispose();
        windowSum = tf.scalar(0);
        tf.dispose(windowLosses);
        windowLosses = [];
        window = { sum: 0, count: 0 };
      }
      if ((config.evalEvery > 0 && iteration % config.evalEvery === 0) || iteration === total) validation = validate();
      stopped = o.shouldStop?.() ?? false;
      if ((config.checkpointEvery > 0 && iteration % config.checkpointEvery === 0) || iteration === total || stopped) checkpoint();
      o.onProgress?.({ iteration, total, metaLoss: lastLoss, validation });
      if (stopped) break;
      if (performance.now() - lastYield > YIELD_MS) {
        await new Promise((resolve) => setImmediate(resolve)); // let signals and the progress bar through
        lastYield = performance.now();
      }
    }
    if (total === 0) o.onProgress?.({ iteration, total, metaLoss: null, validation: curve.validation.at(-1) ?? null });
  } finally {
    tf.dispose([windowSum, ...windowLosses]);
    state.dispose();
    disposeEvalSet(valSet);
  }
  const leaked = tf.memory().numTensors - startTensors;
  if (leaked !== 0) throw new Error(`internal error: ${leaked} tensors leaked by training`);
  return { iteration, stopped, curve, runDir: o.runDir };
}

/** The iteration of the checkpoint in dir, or null when there is none that loads. */
function readLastIteration(dir: string): number | null {
  try {
    return loadTrainState(dir).state.iteration;
  } catch {
    return null;
  }
}
