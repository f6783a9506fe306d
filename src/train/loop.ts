// The meta-training loop, in the manner of nanoGPT's train.py: prepare the run directory (one
// writer: run-dir.ts), set up (a fresh run from its seed, or the checkpoint a resume continues),
// then the loop, whose body is sample, meta-step, log, validate, checkpoint.
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { inputWidth, LEARNERS, trains, usesQuery, type Extras, type MetaBatch, type MetaLearner, type MetaState } from '../algorithms/index.js';
import { clipByGlobalNorm } from '../core/adapt.js';
import { runtime } from '../kernels/backend.js';
import { loadRun, saveCheckpoint, type Curve, type ResumeState, type RunInfo, type ValidationPoint } from '../run/checkpoint.js';
import { resumeConfig, validateConfig, type TrainConfig } from '../config/config.js';
import { RunError, UsageError } from '../base/errors.js';
import { disposeEvalSet, fineTune, makeEvalSet, summarize, type EvalSet } from '../core/fine-tune.js';
import { describeFsError } from '../base/files.js';
import type { RunLock } from '../run/lock.js';
import { prepareRunDir } from '../run/prepare.js';
import { initParams, paramShapes } from '../core/model.js';
import { createMetaOptimizer, metaLrAt, type MetaOptimizer } from '../core/optim.js';
import { Rng } from '../core/rng.js';
import { pointSet, sampleInputs, sampleTasks } from '../core/tasks.js';
import { VERSION } from '../base/version.js';

export interface Progress {
  iteration: number;
  total: number;
  /** Mean meta-loss of the latest curve window. */
  metaLoss: number | null;
  /** Whether this iteration closed a curve window (metaLoss is its mean). */
  logged: boolean;
  validation: ValidationPoint | null;
}

export interface TrainOptions {
  runDir: string;
  /** A new run with this config (resolveConfig's, or defaultsFor(algo) with changes). */
  config?: TrainConfig;
  /** Continue the run saved in runDir instead, with these changes (those resumeConfig allows; {} for none). */
  resume?: Partial<TrainConfig>;
  /** A new run replaces whatever runDir holds. */
  force?: boolean;
  /** Called once set up, before the first iteration: the run's config, where it starts and ends, and the backend a resumed checkpoint was trained on. */
  onStart?: (s: { config: TrainConfig; iteration: number; total: number; trainedOn: string | null }) => void;
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

/** Thrown when the loss or the weights stop being finite; the last checkpoint is kept. */
export class DivergenceError extends RunError {}

/** The loop gives the event loop (signals, the progress bar's timer) a turn this often: every iteration would cost tens of microseconds each. */
const YIELD_MS = 20;

// --- setting up ----------------------------------------------------------------------------------

/** Where a run starts from, as plain data: a fresh run's seed-drawn initialisation, or a checkpoint. */
interface Start {
  config: TrainConfig;
  iteration: number;
  weights: Float32Array[];
  extras: Float32Array[];
  resume: ResumeState | null;
  curve: Curve;
  /** The backend of the checkpoint resumed, if any. */
  trainedOn: string | null;
}

/** A fresh run: the MLP's initialisation and the learner's extras, each drawn from a stream of the seed's own. */
function freshStart(config: TrainConfig): Start {
  const { initial, extras } = initialTensors(config);
  const values = (ts: tf.Tensor[]) => ts.map((t) => t.dataSync() as Float32Array);
  const start = { config, iteration: 0, weights: values(initial), extras: values(Object.values(extras).flat()), resume: null, curve: { train: [], validation: [] }, trainedOn: null };
  tf.dispose([...initial, ...Object.values(extras).flat()]);
  return start;
}

/** A resumed run: its committed checkpoint, and its config with the changes resumeConfig allows. */
function resumedStart(dir: string, changes: Partial<TrainConfig>): Start {
  const run = loadRun(dir);
  if (!run.info || !run.resume || !run.curve) throw new UsageError(`cannot resume ${dir}: it holds a plain layers model, not a metalearn run`);
  const config = resumeConfig(run.info.config, changes, `--resume ${dir}`);
  if (config.iterations < run.info.iteration) throw new UsageError(`--resume ${dir}: --iterations ${config.iterations} is below the run's iteration ${run.info.iteration}`);
  return { config, iteration: run.info.iteration, weights: run.weights, extras: Object.values(run.extras).flatMap((g) => g.map((a) => a.values)), resume: run.resume, curve: run.curve, trainedOn: run.info.backend };
}

/** The starting point of a fresh run as tensors: the MLP's initialisation and the learner's extras, drawn from the seed. */
export function initialTensors(config: TrainConfig): { initial: tf.Tensor[]; extras: Extras } {
  const rng = new Rng(`${config.seed}:extras`);
  const extras = Object.fromEntries(Object.entries(LEARNERS[config.algo].extras?.(config) ?? {}).map(([name, group]) => [name, group.init(rng)]));
  return { initial: initParams(config.hidden, new Rng(`${config.seed}:init`), inputWidth(config)), extras };
}

/** What a meta-iteration works on, as live tensors, with its learner and meta-optimizer. */
export interface Trainable extends MetaState {
  learner: MetaLearner;
  optimizer: MetaOptimizer;
  dispose(): void;
}

/** A fresh run's Trainable: its initialisation as variables, a new meta-optimizer, the seed's stream (for benchmarks and tests). */
export function freshTrainable(config: TrainConfig): Trainable {
  const start = freshStart(config);
  return trainable(config, start.weights, start.extras);
}

/** Variables of the starting values, a meta-optimizer over all of them, and the random stream (restored for a resume). */
export function trainable(config: TrainConfig, weights: Float32Array[], extraValues: Float32Array[], resume: ResumeState | null = null): Trainable {
  const learner = LEARNERS[config.algo];
  const shapes = paramShapes(config.hidden, inputWidth(config));
  const variable = (values: Float32Array, shape: number[]) => tf.tidy(() => tf.variable(tf.tensor(values, shape), true)); // the tensor goes, the variable stays
  const params = weights.map((w, i) => variable(w, shapes[i]));
  let offset = 0;
  const extras = Object.fromEntries(Object.entries(learner.extras?.(config) ?? {}).map(([name, group]) => [name, group.shapes.map((shape) => variable(extraValues[offset++], shape))]));
  const optimizer = createMetaOptimizer(config, [...params, ...Object.values(extras).flat()]);
  if (resume) optimizer.restore(resume.optimizer);
  return {
    config,
    learner,
    params,
    extras,
    optimizer,
    rng: new Rng(config.seed, resume?.rng),
    dispose() {
      tf.dispose([...params, ...Object.values(extras).flat()]);
      optimizer.dispose();
    },
  };
}

/** The fixed validation tasks of a run: drawn from their own stream of the seed. */
export function validationSet(config: TrainConfig): EvalSet {
  return makeEvalSet(config, { tasks: config.valTasks, samples: config.valSamples, seed: `${config.seed}:validation` });
}

// --- the steps of the loop ----------------------------------------------------------------------

/** Sample: the tasks of a meta-batch and their support (and query) points, drawn from the run's stream. */
export function sampleMetaBatch(rng: Rng, config: TrainConfig): MetaBatch {
  const tasks = sampleTasks(rng, config, config.metaBatch);
  const support = pointSet(tasks, sampleInputs(rng, tasks.length, config.support, config.xRange, config.supportGrid));
  const query = usesQuery(config.algo) ? pointSet(tasks, sampleInputs(rng, tasks.length, config.query, config.xRange, config.queryGrid)) : null;
  return { tasks, support, query };
}

/** Meta-step: the learner's meta-gradient of the batch, and one step of the meta-optimizer (at the iteration's outer step size). Returns the meta-loss, a scalar the caller frees; frees the batch. */
export function metaStep(t: Trainable, batch: MetaBatch, iteration: number): tf.Scalar {
  try {
    return tf.tidy(() => {
      const { loss, grads } = t.learner.metaGradient!(t, batch, iteration);
      const clipped = t.config.clipGrad === null ? grads : clipByGlobalNorm(grads, t.config.clipGrad, false);
      t.optimizer.apply([...t.params, ...Object.values(t.extras).flat()], clipped, metaLrAt(t.config, iteration));
      return loss;
    });
  } finally {
    tf.dispose([batch.support.x, batch.support.y, batch.query?.x, batch.query?.y].filter((x) => x !== undefined));
  }
}

/** Sample and meta-step, as the loop does them (for benchmarks and tests). */
export function metaIteration(t: Trainable, iteration: number): tf.Scalar {
  return metaStep(t, sampleMetaBatch(t.rng, t.config), iteration);
}

/** The meta-losses of the curve window under way, kept on the device: their sum is read at log points, each one only to name the first that is not finite. */
class LossWindow {
  private sum: tf.Scalar;
  private losses: tf.Scalar[] = [];

  constructor(
    private readonly before: { sum: number; count: number },
  ) {
    this.sum = tf.scalar(before.sum);
  }

  get count(): number {
    return this.before.count + this.losses.length;
  }

  add(loss: tf.Scalar): void {
    const next = tf.add(this.sum, loss) as tf.Scalar;
    this.sum.dispose();
    this.sum = next;
    this.losses.push(loss);
  }

  /** The sync point: the window's sum and count, read from the device. */
  read(): { sum: number; count: number } {
    return { sum: this.sum.dataSync()[0], count: this.count };
  }

  /** Offset in the window (from its first iteration) and value of the first loss that is not finite. */
  firstNonFinite(): { offset: number; value: number } | null {
    const values = tf.tidy(() => tf.stack(this.losses).dataSync());
    const i = values.findIndex((v) => !Number.isFinite(v));
    return i < 0 ? null : { offset: this.before.count + i, value: values[i] };
  }

  clear(): void {
    tf.dispose(this.losses);
    this.losses = [];
    this.sum.dispose();
    this.sum = tf.scalar(0);
    this.before.sum = 0;
    this.before.count = 0;
  }

  dispose(): void {
    tf.dispose([this.sum, ...this.losses]);
  }
}

/** Stops at a non-finite meta-loss (naming its iteration) or at weights made non-finite by the latest update; returns the window as read. */
function checkFinite(window: LossWindow, t: Trainable, iteration: number, diverged: (at: number, what: string) => Error): { sum: number; count: number } {
  const read = window.read();
  if (!Number.isFinite(read.sum)) {
    const bad = window.firstNonFinite();
    // a window resumed from a checkpoint carries its sum, not its losses: then the first bad one is past the checkpoint
    throw diverged(bad ? iteration - read.count + bad.offset + 1 : iteration, `its meta-loss is ${bad?.value ?? read.sum}`);
  }
  // 0 * w is 0 for every finite w and NaN otherwise: a cheap, overflow-free test of all the weights
  const zeroIfFinite = tf.tidy(() => tf.addN([...t.params, ...Object.values(t.extras).flat()].map((w) => tf.sum(tf.mul(w, 0)))));
  const finite = Number.isFinite(zeroIfFinite.dataSync()[0]);
  zeroIfFinite.dispose();
  if (!finite) throw diverged(iteration, 'its meta-gradient made the weights infinite or NaN');
  return read;
}

/** Validate: the mean grid MSE of the validation tasks before and after the learner's fine-tuning. */
function validate(t: Trainable, set: EvalSet, iteration: number, seconds: number, diverged: (at: number, what: string) => Error): ValidationPoint {
  const { config } = t;
  const step = t.learner.fineTuning?.(t).step;
  const losses = fineTune(t.params, set, { updates: config.valUpdates, lr: config.innerLr, loss: config.loss, activation: config.activation, step }).losses;
  const [before, after] = [summarize(losses[0]), summarize(losses[losses.length - 1])];
  if (before.diverged + after.diverged > 0) throw diverged(iteration, `its validation loss is not finite for ${before.diverged} of ${before.n} tasks before fine-tuning and ${after.diverged} after`);
  return { iteration, before: before.mean, after: after.mean, seconds };
}

// --- the loop ---------------------------------------------------------------------------------------

/** Meta-trains a new run, or continues one, in o.runDir. */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const startTensors = tf.memory().numTensors;
  const dir = o.runDir;
  if (!o.resume && !o.config) throw new UsageError('train: give a config (a new run) or resume');
  const config = o.resume ? undefined : validateConfig(o.config, 'train options'); // a library caller gets the CLI's checks too
  const lock = prepareRunDir(dir, { resume: Boolean(o.resume), force: Boolean(o.force) });
  let result: TrainResult;
  try {
    const start = o.resume ? resumedStart(dir, o.resume) : freshStart(config!);
    result = await loop(dir, start, lock, o);
  } finally {
    lock.release();
  }
  const leaked = tf.memory().numTensors - startTensors;
  if (leaked !== 0) throw new Error(`internal error: ${leaked} tensors leaked by training`);
  return result;
}

async function loop(dir: string, start: Start, lock: RunLock, o: TrainOptions): Promise<TrainResult> {
  const { config } = start;
  const t = trainable(config, start.weights, start.extras, start.resume);
  const valSet = validationSet(config);
  const window = new LossWindow({ ...(start.resume?.window ?? { sum: 0, count: 0 }) });
  const { backend, kernels } = runtime();
  const total = trains(config.algo) ? config.iterations : 0;
  const curve = start.curve;
  const clock = performance.now();
  const seconds = () => (start.resume?.seconds ?? 0) + (performance.now() - clock) / 1000;
  let iteration = start.iteration;
  let committed: number | null = start.resume ? start.iteration : null;
  let lastLoss = curve.train.at(-1)?.metaLoss ?? null;
  const diverged = (at: number, what: string) => {
    const kept = committed === null ? 'no checkpoint was written' : `the last good checkpoint (iteration ${committed}) is kept in ${dir}`;
    return new DivergenceError(`training diverged at iteration ${at}: ${what}; ${kept}. Start again with a smaller --meta-lr or --inner-lr, or with --clip-grad.`);
  };
  const checkpoint = () => {
    const read = checkFinite(window, t, iteration, diverged);
    const info: RunInfo = { iteration, config, backend, kernels, metalearnVersion: VERSION };
    const values = (ts: tf.Tensor[]) => ts.map((x) => x.dataSync() as Float32Array);
    try {
      saveCheckpoint(dir, { info, weights: values(t.params), extras: values(Object.values(t.extras).flat()), resume: { optimizer: t.optimizer.state(), rng: t.rng.state(), window: read, seconds: seconds() }, curve }, lock);
    } catch (e) {
      if (!(e as NodeJS.ErrnoException).code) throw e;
      const left = !existsSync(dir) ? 'the run directory has disappeared' : committed === null ? 'no checkpoint was written' : `the checkpoint of iteration ${committed} is intact`;
      throw new RunError(`cannot write the checkpoint of iteration ${iteration} in ${dir}: ${describeFsError(e)}; ${left}`);
    }
    committed = iteration;
  };
  let stopped = false;
  let lastYield = performance.now();
  try {
    o.onStart?.({ config, iteration, total, trainedOn: start.trainedOn });
    if (curve.validation.length === 0) {
      // before the first iteration: the initialisation's validation, and a first checkpoint
      const point = validate(t, valSet, 0, seconds(), diverged);
      curve.validation.push(point);
      o.onProgress?.({ iteration, total, metaLoss: null, logged: false, validation: point });
      checkpoint();
    }
    while (iteration < total) {
      const batch = sampleMetaBatch(t.rng, config); // sample
      window.add(metaStep(t, batch, iteration)); // meta-step
      iteration++;
      let validation: ValidationPoint | null = null;
      const logged = window.count >= config.logEvery || iteration === total;
      if (logged) {
        // log: the sync point, where the window's losses are read from the device
        const read = checkFinite(window, t, iteration, diverged);
        lastLoss = read.sum / read.count;
        curve.train.push({ iteration, metaLoss: lastLoss, seconds: seconds() });
        window.clear();
      }
      if ((config.evalEvery > 0 && iteration % config.evalEvery === 0) || iteration === total) {
        checkFinite(window, t, iteration, diverged); // a diverged meta-loss is named at its own iteration, before the validation it spoils
        validation = validate(t, valSet, iteration, seconds(), diverged);
        curve.validation.push(validation);
      }
      stopped = o.shouldStop?.() ?? false;
      if ((config.checkpointEvery > 0 && iteration % config.checkpointEvery === 0) || iteration === total || stopped) checkpoint();
      o.onProgress?.({ iteration, total, metaLoss: lastLoss, logged, validation });
      if (stopped) break;
      if (performance.now() - lastYield > YIELD_MS) {
        await new Promise((resolve) => setImmediate(resolve)); // let signals and the progress bar through
        lastYield = performance.now();
      }
    }
  } finally {
    window.dispose();
    t.dispose();
    disposeEvalSet(valSet);
  }
  return { iteration, stopped, curve, runDir: dir };
}
