// The meta-training loop, in the manner of nanoGPT's train.py: prepare the run directory (one
// writer: run/prepare.ts), set up (a fresh run from its seed, or the checkpoint a resume continues),
// then the loop, whose body is sample, meta-step, log, validate, checkpoint.
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { trains } from '../algorithms/index.js';
import { learnedTensors } from '../algorithms/learner.js';
import { RunError, UsageError } from '../base/errors.js';
import { describeFsError } from '../base/files.js';
import { VERSION } from '../base/version.js';
import { resumeConfig, validateConfig, type TrainConfig } from '../config/config.js';
import { fineTuningSgd } from '../core/adapt.js';
import { disposeEvalSet, fineTune, type EvalSet } from '../core/fine-tune.js';
import { summarize } from '../core/stats.js';
import { runtime } from '../kernels/backend.js';
import { readRunDir, saveCheckpoint } from '../run/checkpoint.js';
import type { Curve, ResumeState, Run, RunInfo, ValidationPoint } from '../run/format.js';
import type { RunLock } from '../run/lock.js';
import { checkResumable, prepareRunDir } from '../run/prepare.js';
import type { DatasetFacts } from '../tasks/data.js';
import type { TaskFamily } from '../tasks/family.js';
import { loadFamily } from '../tasks/load.js';
import { initialValues, metaStep, sampleMetaBatch, trainable, type Trainable } from './meta-step.js';

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
  /** With resume: continue the run saved in this other directory, in runDir (which must not hold another run, unless force); this one is left as it is. */
  resumeFrom?: string;
  /** A new run (or a continued one) replaces whatever runDir holds. */
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
  /** The data a resumed run was trained on (a data family's): its file must not have changed. */
  data: DatasetFacts | null;
}

/** A fresh run: the MLP's initialisation and the learner's extras, drawn from the seed. */
function freshStart(config: TrainConfig): Start {
  return { config, iteration: 0, ...initialValues(config), resume: null, curve: { train: [], validation: [] }, trainedOn: null, data: null };
}

/** A run to resume, as read: its committed checkpoint, its config with the changes resumeConfig allows, and the iterations left to train. */
export interface Resumable {
  run: Run & { info: RunInfo; resume: ResumeState; curve: Curve };
  config: TrainConfig;
  /** 0 for a run trained to its iterations already (and for an algorithm that does not train). */
  left: number;
}

/** Reads a run to resume and checks the changes asked for; train() reads it again under the run's lock. */
export function readResumable(dir: string, changes: Partial<TrainConfig>): Resumable {
  checkResumable(dir);
  const run = readRunDir(dir);
  if (!run.info || !run.resume || !run.curve) throw new UsageError(`cannot resume ${dir}: it holds a plain layers model, not a metalearn run`);
  const config = resumeConfig(run.info.config, changes, `--resume ${dir}`);
  if (config.iterations < run.info.iteration) throw new UsageError(`--resume ${dir}: --iterations ${config.iterations} is below the run's iteration ${run.info.iteration}`);
  return { run: run as Resumable['run'], config, left: trains(config.algo) ? config.iterations - run.info.iteration : 0 };
}

/** A resumed run: its committed checkpoint, and its config with the changes resumeConfig allows. */
function resumedStart(dir: string, changes: Partial<TrainConfig>): Start {
  const { run, config } = readResumable(dir, changes);
  return { config, iteration: run.info.iteration, weights: run.weights, extras: Object.values(run.extras).flatMap((g) => g.map((a) => a.values)), resume: run.resume, curve: run.curve, trainedOn: run.info.backend, data: run.info.data ?? null };
}

/** The fixed validation tasks of a run: drawn from their own stream of the seed. */
export function validationSet(t: Pick<Trainable, 'config' | 'family'>): EvalSet {
  return t.family.heldOut({ split: 'validation', tasks: t.config.valTasks, samples: t.config.valSamples, seed: `${t.config.seed}:validation` });
}

// --- what the loop keeps ------------------------------------------------------------------------

/** The meta-losses of the curve window under way, kept on the device: their sum is read at log points, each one only to name the first that is not finite. */
class LossWindow {
  private sum: tf.Scalar;
  private losses: tf.Scalar[] = [];

  constructor(private readonly before: { sum: number; count: number }) {
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

/** The run's directory as the loop writes it: its checkpoints, the iteration last committed, and the error of a divergence, which names it. */
class RunWriter {
  committed: number | null;

  constructor(
    private readonly dir: string,
    private readonly lock: RunLock,
    start: Start,
    private readonly data: DatasetFacts | null,
  ) {
    this.committed = start.resume ? start.iteration : null;
  }

  diverged(at: number, what: string): DivergenceError {
    const kept = this.committed === null ? 'no checkpoint was written' : `the last good checkpoint (iteration ${this.committed}) is kept in ${this.dir}`;
    return new DivergenceError(`training diverged at iteration ${at}: ${what}; ${kept}. Start again with a smaller --meta-lr or --inner-lr, or with --clip-grad.`);
  }

  /** Writes and commits the checkpoint of an iteration, its weights checked finite first. */
  checkpoint(t: Trainable, iteration: number, window: LossWindow, curve: Curve, seconds: number): void {
    const read = checkFinite(window, t, iteration, this);
    const { backend, kernels } = runtime();
    const info: RunInfo = { iteration, config: t.config, backend, kernels, metalearnVersion: VERSION, ...(this.data ? { data: this.data } : {}) };
    const values = (ts: tf.Tensor[]) => ts.map((x) => x.dataSync() as Float32Array);
    try {
      saveCheckpoint(this.dir, { info, weights: values(t.params), extras: values(Object.values(t.extras).flat()), resume: { optimizer: t.optimizer.state(), rng: t.rng.state(), window: read, seconds }, curve }, this.lock);
    } catch (e) {
      if (!(e as NodeJS.ErrnoException).code) throw e;
      const left = !existsSync(this.dir) ? 'the run directory has disappeared' : this.committed === null ? 'no checkpoint was written' : `the checkpoint of iteration ${this.committed} is intact`;
      throw new RunError(`cannot write the checkpoint of iteration ${iteration} in ${this.dir}: ${describeFsError(e)}; ${left}`);
    }
    this.committed = iteration;
  }
}

/** Stops at a non-finite meta-loss (naming its iteration) or at weights made non-finite by the latest update; returns the window as read. */
function checkFinite(window: LossWindow, t: Trainable, iteration: number, writer: RunWriter): { sum: number; count: number } {
  const read = window.read();
  if (!Number.isFinite(read.sum)) {
    const bad = window.firstNonFinite();
    // a window resumed from a checkpoint carries its sum, not its losses: then the first bad one is past the checkpoint
    throw writer.diverged(bad ? iteration - read.count + bad.offset + 1 : iteration, `its meta-loss is ${bad?.value ?? read.sum}`);
  }
  // 0 * w is 0 for every finite w and NaN otherwise: a cheap, overflow-free test of all the weights
  const zeroIfFinite = tf.tidy(() => tf.addN(learnedTensors(t).map((w) => tf.sum(tf.mul(w, 0)))));
  const finite = Number.isFinite(zeroIfFinite.dataSync()[0]);
  zeroIfFinite.dispose();
  if (!finite) throw writer.diverged(iteration, 'its meta-gradient made the weights infinite or NaN');
  return read;
}

/** Validate: the mean grid MSE of the validation tasks before and after valUpdates steps of the learner's adaptation. */
function validate(t: Trainable, set: EvalSet, iteration: number, seconds: number, writer: RunWriter): ValidationPoint {
  const { config } = t;
  const losses = fineTune(t.params, set, { updates: config.valUpdates, adaptation: t.adaptation, sgd: fineTuningSgd(config.innerLr, config.loss, config.activation) }).losses;
  const [before, after] = [summarize(losses[0]), summarize(losses[losses.length - 1])];
  if (before.diverged + after.diverged > 0) throw writer.diverged(iteration, `its validation loss is not finite for ${before.diverged} of ${before.n} tasks before fine-tuning and ${after.diverged} after`);
  return { iteration, before: before.mean, after: after.mean, seconds };
}

/** Lets signals and the progress bar through when the loop has held the event loop for YIELD_MS; returns when it last did. */
async function yieldIfDue(lastYield: number): Promise<number> {
  if (performance.now() - lastYield <= YIELD_MS) return lastYield;
  await new Promise((resolve) => setImmediate(resolve));
  return performance.now();
}

// --- the loop ---------------------------------------------------------------------------------------

/** Meta-trains a new run, or continues one, in options.runDir. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const startTensors = tf.memory().numTensors;
  const dir = options.runDir;
  if (!options.resume && !options.config) throw new UsageError('train: give a config (a new run) or resume');
  const config = options.resume ? undefined : validateConfig(options.config, 'train options'); // a library caller gets the CLI's checks too
  if (options.resumeFrom !== undefined && !options.resume) throw new UsageError('train: resumeFrom goes with resume');
  const fresh = config && (await loadFamily(config)); // a new run's data is read (and refused) before its directory is made
  const lock = prepareRunDir(dir, { resume: Boolean(options.resume), force: Boolean(options.force), from: options.resumeFrom });
  let result: TrainResult;
  try {
    const start = options.resume ? resumedStart(dir, options.resume) : freshStart(config!);
    const tasks = fresh || (await loadFamily(start.config, start.data));
    result = await loop(dir, start, tasks, lock, options);
  } finally {
    lock.release();
  }
  const leaked = tf.memory().numTensors - startTensors;
  if (leaked !== 0) throw new Error(`internal error: ${leaked} tensors leaked by training`);
  return result;
}

async function loop(dir: string, start: Start, tasks: { family: TaskFamily; data: DatasetFacts | null }, lock: RunLock, options: TrainOptions): Promise<TrainResult> {
  const { config, curve } = start;
  const t = trainable(config, start.weights, start.extras, start.resume, tasks.family);
  const valSet = validationSet(t);
  const window = new LossWindow({ ...(start.resume?.window ?? { sum: 0, count: 0 }) });
  const writer = new RunWriter(dir, lock, start, tasks.data);
  const total = trains(config.algo) ? config.iterations : 0;
  const clock = performance.now();
  const seconds = () => (start.resume?.seconds ?? 0) + (performance.now() - clock) / 1000;
  const due = (every: number, iteration: number) => (every > 0 && iteration % every === 0) || iteration === total;
  let iteration = start.iteration;
  let lastLoss = curve.train.at(-1)?.metaLoss ?? null;
  let stopped = false;
  let lastYield = performance.now();
  try {
    options.onStart?.({ config, iteration, total, trainedOn: start.trainedOn });
    if (curve.validation.length === 0) {
      // before the first iteration: the initialisation's validation, and a first checkpoint
      const point = validate(t, valSet, 0, seconds(), writer);
      curve.validation.push(point);
      options.onProgress?.({ iteration, total, metaLoss: null, logged: false, validation: point });
      writer.checkpoint(t, iteration, window, curve, seconds());
    }
    while (iteration < total) {
      window.add(metaStep(t, sampleMetaBatch(t), iteration)); // sample, meta-step
      iteration++;
      const logged = window.count >= config.logEvery || iteration === total;
      if (logged) {
        // log: the sync point, where the window's losses are read from the device
        const read = checkFinite(window, t, iteration, writer);
        lastLoss = read.sum / read.count;
        curve.train.push({ iteration, metaLoss: lastLoss, seconds: seconds() });
        window.clear();
      }
      let validation: ValidationPoint | null = null;
      if (due(config.evalEvery, iteration)) {
        checkFinite(window, t, iteration, writer); // a diverged meta-loss is named at its own iteration, before the validation it spoils
        validation = validate(t, valSet, iteration, seconds(), writer);
        curve.validation.push(validation);
      }
      stopped = options.shouldStop?.() ?? false;
      if (due(config.checkpointEvery, iteration) || stopped) writer.checkpoint(t, iteration, window, curve, seconds());
      options.onProgress?.({ iteration, total, metaLoss: lastLoss, logged, validation });
      if (stopped) break;
      lastYield = await yieldIfDue(lastYield);
    }
  } finally {
    window.dispose();
    t.dispose();
    disposeEvalSet(valSet);
  }
  return { iteration, stopped, curve, runDir: dir };
}
