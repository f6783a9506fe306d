// Evaluation: fine-tune a model with plain SGD on K support points of each held-out
// task and measure, after every update, the MSE on a dense grid over the task's x range.
// All tasks are fine-tuned at once as per-task weights [tasks, ...].
import * as tf from '@tensorflow/tfjs';
import { sgdStep, type AdaptOptions } from './adapt.js';
import { forward, perTaskCopies, taskLosses, type Activation, type LossKind, type Params } from './model.js';
import { Rng } from './rng.js';
import { disposePoints, linspace, pointSet, sampleInputs, sampleTasks, type PointSet, type SineTask, type TaskFamily } from './tasks.js';

/** Points of the evaluation grid: 100 evenly spaced x over the x range, ends included. */
export const GRID_POINTS = 100;

export interface EvalSet {
  family: TaskFamily;
  /** What the set was drawn from; steps that need more inputs (daml's unlabeled ones) draw them from it too. */
  seed: string | number;
  tasks: SineTask[];
  support: PointSet;
  grid: PointSet;
  /** With two or more discrete phases: the grid values y [tasks, points, 1] of every task under each phase of the family. */
  phaseGrids: tf.Tensor3D[];
}

export interface EvalSetOptions {
  /** How many tasks to draw from the family, or the tasks themselves. */
  tasks: number | SineTask[];
  samples: number;
  seed: string | number;
  /** Where support x are drawn (default: the family's x range). */
  sampleRange?: [number, number];
}

/** The held-out tasks and support sets: a function of the seed alone, so every model sees the same ones. */
export function makeEvalSet(family: TaskFamily, o: EvalSetOptions): EvalSet {
  const rng = new Rng(o.seed);
  const tasks = typeof o.tasks === 'number' ? sampleTasks(rng, family, o.tasks) : o.tasks;
  const support = pointSet(tasks, sampleInputs(rng, tasks.length, o.samples, o.sampleRange ?? family.xRange, false));
  const gridX = linspace(family.xRange[0], family.xRange[1], GRID_POINTS);
  const onGrid = (ts: SineTask[]) => pointSet(ts, Float32Array.from({ length: ts.length * GRID_POINTS }, (_, i) => gridX[i % GRID_POINTS]));
  const phaseGrids = (family.phases?.length ?? 0) > 1 ? family.phases!.map((phase) => tf.tidy(() => onGrid(tasks.map((t) => ({ ...t, phase }))).y)) : [];
  return { family, seed: o.seed, tasks, support, grid: onGrid(tasks), phaseGrids };
}

export function disposeEvalSet(set: EvalSet): void {
  disposePoints(set.support);
  disposePoints(set.grid);
  tf.dispose(set.phaseGrids);
}

/** One fine-tuning step of every task of a set, update = 0, 1, ...: per-task params in, per-task params out. */
export type AdaptStep = (fast: Params, set: EvalSet, update: number, opts: AdaptOptions) => Params;

export interface FineTuneOptions {
  updates: number;
  lr: number;
  /** Loss of the SGD steps on the support points (the grid loss is always MSE). */
  loss: LossKind;
  activation: Activation;
  /** Keep the grid predictions before and after fine-tuning (for plots). */
  keepPredictions?: boolean;
  /** The learner's own step (default: SGD at lr on the support points). */
  step?: AdaptStep;
}

export interface FineTuneResult {
  /** losses[u][t]: grid MSE of task t after u updates, u = 0..updates. */
  losses: Float32Array[];
  /** With the set's phaseGrids: phaseHits[u][t] is 1 when after u updates task t's fit is nearer (grid MSE) to its own wave than to any other phase's. */
  phaseHits?: Float32Array[];
  predictionsBefore?: Float32Array;
  predictionsAfter?: Float32Array;
}

/** Fine-tunes params on every task of the set and records the grid MSE after each update. */
export function fineTune(params: Params, set: EvalSet, o: FineTuneOptions): FineTuneResult {
  const adaptOpts = { steps: 1, lr: o.lr, loss: o.loss, activation: o.activation, clipGrad: null, autodiff: false };
  const step = o.step ?? ((fast: Params) => sgdStep(fast, set.support, adaptOpts));
  // [loss [tasks]] or [loss, hit [tasks]]
  const measure = (p: Params) =>
    tf.tidy(() => {
      const pred = forward(p, set.grid.x, o.activation);
      const loss = taskLosses(pred, set.grid.y, 'mse');
      if (set.phaseGrids.length === 0) return [loss];
      // a hit: the task's own wave is the only phase fitted this well (a tie, e.g. predicting 0 for
      // sin and -sin, is no hit); the tolerance absorbs rounding between the two grids of its own phase
      const asGood = tf.sum(tf.cast(tf.lessEqual(tf.stack(set.phaseGrids.map((y) => taskLosses(pred, y, 'mse'))), tf.add(tf.mul(loss, 1 + 1e-5), 1e-12)), 'float32'), 0); // [tasks]
      return [loss, tf.cast(tf.equal(asGood, 1), 'float32')];
    });
  const predict = (p: Params) => {
    const pred = tf.tidy(() => forward(p, set.grid.x, o.activation));
    const values = pred.dataSync() as Float32Array;
    pred.dispose();
    return values;
  };
  let fast = tf.tidy(() => perTaskCopies(params, set.tasks.length)); // owned here, so every step can free the last
  const result: FineTuneResult = { losses: [], ...(set.phaseGrids.length ? { phaseHits: [] } : {}) };
  if (o.keepPredictions) result.predictionsBefore = predict(fast);
  for (let u = 0; ; u++) {
    const measured = measure(fast);
    const [loss, hits] = measured;
    result.losses.push(loss.dataSync() as Float32Array);
    if (hits) result.phaseHits!.push(hits.dataSync() as Float32Array);
    tf.dispose(measured);
    if (u === o.updates) break;
    const next = tf.tidy(() => step(fast, set, u, adaptOpts));
    tf.dispose(fast);
    fast = next;
  }
  if (o.keepPredictions) result.predictionsAfter = predict(fast);
  tf.dispose(fast);
  return result;
}

export interface Summary {
  mean: number;
  std: number;
  /** Half-width of the 95% confidence interval of the mean (normal approximation, 1.96 sd / sqrt(n)). */
  ci95: number;
  n: number;
}

export function summarize(values: ArrayLike<number>): Summary {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (values[i] - mean) ** 2;
  const std = n > 1 ? Math.sqrt(sq / (n - 1)) : 0;
  return { mean, std, ci95: n > 1 ? (1.96 * std) / Math.sqrt(n) : 0, n };
}
