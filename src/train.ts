// The meta-training loop: sample a meta-batch, take the algorithm's meta-gradient,
// step the meta-optimizer; log the curve, validate, checkpoint, and stop cleanly
// when asked. Resuming from state.json continues the very same run.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { LEARNERS, type MetaBatch, type MetaLearner } from './algorithms/index.js';
import { clipByGlobalNorm } from './adapt.js';
import { files, loadCurve, loadTrainState, saveCheckpoint, FORMAT_VERSION, type Curve, type RunInfo, type ValidationPoint } from './checkpoint.js';
import { UsageError, type TrainConfig } from './config.js';
import { disposeEvalSet, fineTune, makeEvalSet, summarize, type EvalSet } from './evaluate.js';
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
  backend: string;
  /** Continue the run saved in runDir (config comes from its state.json). */
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

/** Thrown when the loss or the gradient stops being finite; the last checkpoint is kept. */
export class DivergenceError extends Error {}

/** Refuses to overwrite another run unless forced; creates the directory. */
export function prepareRunDir(dir: string, force: boolean): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!force) throw new UsageError(`${dir} already holds a run: pass --resume ${dir} to continue it, --force to replace it, or --name for another directory`);
    for (const f of Object.values(files(dir))) rmSync(f, { force: true });
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`cannot create run directory ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** The fixed validation tasks of a run: drawn from their own stream of the seed. */
export function validationSet(config: TrainConfig): EvalSet {
  return makeEvalSet(config, { tasks: config.valTasks, samples: config.valSamples, seed: `${config.seed}:validation` });
}

function sampleMetaBatch(rng: Rng, config: TrainConfig, withQuery: boolean): MetaBatch {
  const tasks = sampleTasks(rng, config, config.metaBatch);
  const support = pointSet(tasks, sampleInputs(rng, tasks.length, config.support, config.xRange, config.supportGrid));
  const query = withQuery ? pointSet(tasks, sampleInputs(rng, tasks.length, config.query, config.xRange, config.queryGrid)) : null;
  return { support, query };
}

/** One meta-iteration: sample a meta-batch and step the meta-optimizer. Returns the meta-loss, a scalar the caller frees. */
export function metaIteration(learner: MetaLearner, params: tf.Variable[], optimizer: MetaOptimizer, config: TrainConfig, rng: Rng, lr: number): tf.Scalar {
  const batch = sampleMetaBatch(rng, config, learner.usesQuery);
  try {
    return tf.tidy(() => {
      const { loss, grads } = learner.metaGradient(params, batch, config, rng);
      optimizer.apply(params, config.clipGrad === null ? grads : clipByGlobalNorm(grads, config.clipGrad, false), lr);
      return loss;
    });
  } finally {
    tf.dispose([batch.support.x, batch.support.y, batch.query?.x, batch.query?.y].filter((t) => t !== undefined));
  }
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const startTensors = tf.memory().numTensors;
  let config = o.config;
  let iteration = 0;
  let rng: Rng;
  let initial: tf.Tensor[];
  let window = { sum: 0, count: 0 };
  let secondsBefore = 0;
  let curve: Curve;
  let restoreOptimizer: ((opt: MetaOptimizer) => void) | null = null;
  if (o.resume) {
    const saved = loadTrainState(o.runDir);
    config = saved.state.config;
    iteration = saved.state.iteration;
    rng = new Rng(config.seed, saved.state.rng);
    initial = saved.params.map((v, i) => tf.tensor(v, saved.state.params[i].shape));
    window = saved.state.window;
    secondsBefore = saved.state.seconds;
    const full = loadCurve(o.runDir);
    // curve.json is written before state.json: drop what lies beyond the saved iteration.
    curve = { ...full, train: full.train.filter((p) => p.iteration <= iteration), validation: full.validation.filter((p) => p.iteration <= iteration) };
    restoreOptimizer = (opt) => opt.restore(saved.optimizer);
  } else {
    prepareRunDir(o.runDir, o.force ?? false);
    rng = new Rng(config.seed);
    initial = initParams(config.hidden, new Rng(`${config.seed}:init`));
    curve = { formatVersion: FORMAT_VERSION, algo: config.algo, backend: o.backend, metalearnVersion: VERSION, train: [], validation: [] };
  }
  const learner = LEARNERS[config.algo];
  const params = initial.map((t) => tf.variable(t, true));
  tf.dispose(initial);
  const optimizer = createMetaOptimizer(config, params);
  restoreOptimizer?.(optimizer);
  const valSet = validationSet(config);
  const clock = Date.now();
  const seconds = () => secondsBefore + (Date.now() - clock) / 1000;
  const total = learner.trains ? config.iterations : 0;
  let windowSum: tf.Scalar = tf.scalar(window.sum);
  let lastLoss: number | null = curve.train.at(-1)?.metaLoss ?? null;

  const info = (): RunInfo => ({ formatVersion: FORMAT_VERSION, metalearnVersion: VERSION, algo: config.algo, iteration, backend: o.backend, config });
  const syncWindow = () => {
    window = { sum: windowSum.dataSync()[0], count: window.count };
  };
  const checkpoint = () => {
    syncWindow();
    saveCheckpoint(o.runDir, { info: info(), params, optimizer: optimizer.state(), rng: rng.state(), window, seconds: seconds(), curve });
  };
  const validate = (): ValidationPoint => {
    const losses = fineTune(params, valSet, { updates: config.valUpdates, lr: config.innerLr, loss: config.loss, activation: config.activation }).losses;
    const point = { iteration, before: summarize(losses[0]).mean, after: summarize(losses[losses.length - 1]).mean, seconds: seconds() };
    curve.validation = [...curve.validation.filter((p) => p.iteration !== iteration), point];
    return point;
  };

  let stopped = false;
  try {
    if (iteration === 0 && curve.validation.length === 0) o.onProgress?.({ iteration, total, metaLoss: null, validation: validate() });
    if (iteration === 0) checkpoint();
    while (iteration < total) {
      const loss = metaIteration(learner, params, optimizer, config, rng, metaLrAt(config, iteration));
      const nextSum = tf.add(windowSum, loss) as tf.Scalar;
      tf.dispose([loss, windowSum]);
      windowSum = nextSum;
      window.count++;
      iteration++;
      let validation: ValidationPoint | null = null;
      if (window.count === config.logEvery || iteration === total) {
        syncWindow();
        lastLoss = window.sum / window.count;
        if (!Number.isFinite(lastLoss)) {
          const last = Math.max(0, iteration - window.count);
          throw new DivergenceError(
            `training diverged: the meta-loss became ${lastLoss} between iterations ${last + 1} and ${iteration}; ` +
              `the last good checkpoint (iteration ${readLastIteration(o.runDir)}) is kept. Try a smaller --meta-lr or --inner-lr, or --clip-grad.`,
          );
        }
        curve.train.push({ iteration, metaLoss: lastLoss, seconds: seconds() });
        windowSum.dispose();
        windowSum = tf.scalar(0);
        window = { sum: 0, count: 0 };
      }
      if ((config.evalEvery > 0 && iteration % config.evalEvery === 0) || iteration === total) validation = validate();
      stopped = o.shouldStop?.() ?? false;
      if ((config.checkpointEvery > 0 && iteration % config.checkpointEvery === 0) || iteration === total || stopped) checkpoint();
      o.onProgress?.({ iteration, total, metaLoss: lastLoss, validation });
      if (stopped) break;
      await new Promise((resolve) => setImmediate(resolve)); // let signals and the progress bar through
    }
    if (total === 0) o.onProgress?.({ iteration, total, metaLoss: null, validation: curve.validation.at(-1) ?? null });
  } finally {
    tf.dispose([...params, windowSum]);
    optimizer.dispose();
    disposeEvalSet(valSet);
  }
  const leaked = tf.memory().numTensors - startTensors;
  if (leaked !== 0) throw new Error(`internal error: ${leaked} tensors leaked by training`);
  return { iteration, stopped, curve, runDir: o.runDir };
}

function readLastIteration(dir: string): number | string {
  try {
    return loadTrainState(dir).state.iteration;
  } catch {
    return 'none';
  }
}
