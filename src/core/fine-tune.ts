// Fine-tuning: adapt a model to K support points of each held-out task, one step of its adaptation
// per update, and measure after every update the MSE on the points the task is scored on (the sine
// family's dense grid, a data task's other points; and, if asked, on K fresh random query points).
// Validation, eval and the page measure this way; the task family (tasks/) draws the set. Tasks are
// fine-tuned a part at a time, all of a part at once as per-task weights [tasks, ...]; the parts change
// nothing (every task is computed on its own rows) but memory.
import * as tf from '@tensorflow/tfjs';
import type { Adaptation, SgdOptions } from './adapt.js';
import { atZeroContext, forward, perTaskCopies, taskLosses, type Params } from './model.js';
import { disposePoints, type PointSet } from './points.js';
import { Rng } from './rng.js';

/** Points of the sine family's evaluation grid: 100 evenly spaced x over the x range, ends included. */
export const GRID_POINTS = 100;
/** Per-task weights fine-tuned at once, at most (floats): the size of a part of the tasks. */
const PART_FLOATS = 1 << 22;

/** Held-out tasks, as their family drew them (tasks/family.ts's heldOut). */
export interface EvalSet {
  /** The family's settings: an adaptation's unlabeled inputs (DAML's) are drawn from them. */
  family: unknown;
  /** What the set was drawn from; an adaptation's unlabeled inputs are drawn from it too. */
  seed: string | number;
  tasks: readonly unknown[];
  support: PointSet;
  /** The points each task is scored on, [tasks, points, d] (padded, with a mask, for tasks of different sizes). */
  scored: PointSet;
  /** K fresh random query points per task, when asked for (cbfinn/maml's test loss). */
  query: PointSet | null;
  /** With two or more discrete phases (the sine family): the scored points' y [tasks, points, 1] of every task under each phase of the family. */
  phaseGrids: tf.Tensor3D[];
}

export function disposeEvalSet(set: EvalSet): void {
  disposePoints(set.support);
  disposePoints(set.scored);
  if (set.query) disposePoints(set.query);
  tf.dispose(set.phaseGrids);
}

/** Tasks [start, end) of a set, their tensors sliced out (free with disposeEvalSet). */
function partOf(set: EvalSet, start: number, end: number): EvalSet {
  const rows = (t: tf.Tensor3D) => tf.slice(t, [start, 0, 0], [end - start, -1, -1]) as tf.Tensor3D;
  const points = (p: PointSet) => ({ x: rows(p.x), y: rows(p.y), ...(p.mask ? { mask: rows(p.mask) } : {}) });
  return { ...set, tasks: set.tasks.slice(start, end), support: points(set.support), scored: points(set.scored), query: set.query && points(set.query), phaseGrids: set.phaseGrids.map(rows) };
}

/** Splits n tasks into near-equal parts of about `size` (at least 2 each, when n > 1: one task alone takes the shared-weights route, whose sums run in another order). */
function parts(n: number, size: number): [number, number][] {
  const count = n < 2 ? 1 : Math.min(Math.ceil(n / Math.max(1, size)), Math.floor(n / 2));
  return Array.from({ length: count }, (_, i) => [Math.floor((i * n) / count), Math.floor(((i + 1) * n) / count)]);
}

export interface FineTuneOptions {
  updates: number;
  /** The rule of each update (sgdAdaptation: plain SGD on every weight). */
  adaptation: Adaptation;
  /** The SGD its steps are made of (its loss is the loss of the steps; the measured losses are always MSE). */
  sgd: SgdOptions;
  /** Keep the grid predictions after every update, and an adaptation's unlabeled inputs of every update (for plots and the page). */
  keepPredictions?: boolean;
}

export interface FineTuneResult {
  /** losses[u][t]: the MSE on task t's scored points after u updates, u = 0..updates. */
  losses: Float32Array[];
  /** With the set's random query points: their MSE, the same way. */
  queryLosses?: Float32Array[];
  /** With the set's phaseGrids: phaseHits[u][t] is 1 when after u updates task t's fit is nearer (grid MSE) to its own wave than to any other phase's. */
  phaseHits?: Float32Array[];
  /** With keepPredictions: predictions[u] holds the predictions at the scored points after u updates, [tasks * points]. */
  predictions?: Float32Array[];
  /** With keepPredictions, for an adaptation that reads unlabeled inputs (DAML): those of update u, [tasks * K]. */
  unlabeledInputs?: Float32Array[];
}

/** The unlabeled inputs of every update, for an adaptation that reads them: K per task, drawn from the set's seed for all its tasks at once, so that every model sees the same ones however the tasks are split into parts. */
function unlabeledOf(set: EvalSet, adaptation: Adaptation, updates: number): Float32Array[] {
  const draw = adaptation.unlabeledInputs;
  const k = set.support.x.shape[1];
  return draw ? Array.from({ length: updates }, (_, u) => draw(new Rng(`${set.seed}:source inputs ${u}`), set.family, set.tasks, k)) : [];
}

/** Fine-tunes params on every task of the set and records the losses after each update. Inputs of the MLP beyond x (a context) start at zero. */
export function fineTune(params: Params, set: EvalSet, options: FineTuneOptions): FineTuneResult {
  const tasks = set.tasks.length;
  const floats = params.reduce((n, p) => n + p.size, 0);
  const perUpdate = () => Array.from({ length: options.updates + 1 }, () => new Float32Array(tasks));
  const result: FineTuneResult = { losses: perUpdate(), ...(set.query ? { queryLosses: perUpdate() } : {}), ...(set.phaseGrids.length ? { phaseHits: perUpdate() } : {}) };
  const scoredPoints = set.scored.x.shape[1];
  const predictions = options.keepPredictions ? Array.from({ length: options.updates + 1 }, () => new Float32Array(tasks * scoredPoints)) : null;
  const unlabeled = unlabeledOf(set, options.adaptation, options.updates);
  const k = set.support.x.shape[1];
  for (const [start, end] of parts(tasks, Math.floor(PART_FLOATS / floats))) {
    const part = start === 0 && end === tasks ? set : partOf(set, start, end);
    try {
      fineTunePart(params, part, start, unlabeled.map((values) => values.subarray(start * k, end * k)), options, result, predictions);
    } finally {
      if (part !== set) disposeEvalSet(part);
    }
  }
  if (predictions) result.predictions = predictions;
  if (predictions && unlabeled.length) result.unlabeledInputs = unlabeled;
  return result;
}

/** fineTune of one part, whose first task is task `offset` of the set, writing its tasks' losses at their place in the result. */
function fineTunePart(params: Params, part: EvalSet, offset: number, unlabeled: Float32Array[], options: FineTuneOptions, result: FineTuneResult, predictions: Float32Array[] | null): void {
  const { adaptation, sgd } = options;
  const [tasks, k] = part.support.x.shape;
  // the grid loss, the query loss and the phase hits [tasks], the grid predictions [tasks, points, 1]: each when asked for
  const measure = (p: Params) =>
    tf.tidy(() => {
      const pred = forward(p, part.scored.x, sgd.activation);
      const loss = part.scored.mask ? maskedMse(pred, part.scored.y, part.scored.mask) : taskLosses(pred, part.scored.y, 'mse');
      const out: Record<string, tf.Tensor> = { loss };
      if (part.query) out.query = taskLosses(forward(p, part.query.x, sgd.activation), part.query.y, 'mse');
      if (part.phaseGrids.length) {
        // a hit: the task's own wave is the only phase fitted this well (a tie, e.g. predicting 0 for
        // sin and -sin, is no hit); the tolerance absorbs rounding between the two grids of its own phase
        const asGood = tf.sum(tf.cast(tf.lessEqual(tf.stack(part.phaseGrids.map((y) => taskLosses(pred, y, 'mse'))), tf.add(tf.mul(loss, 1 + 1e-5), 1e-12)), 'float32'), 0); // [tasks]
        out.hits = tf.cast(tf.equal(asGood, 1), 'float32');
      }
      if (predictions) out.pred = pred;
      return out;
    });
  let fast = tf.tidy(() => perTaskCopies(atZeroContext(params, part.support.x.shape[2]), tasks)); // owned here, so every step can free the last
  for (let u = 0; ; u++) {
    const measured = measure(fast);
    result.losses[u].set(measured.loss.dataSync(), offset);
    if (measured.query) result.queryLosses![u].set(measured.query.dataSync(), offset);
    if (measured.hits) result.phaseHits![u].set(measured.hits.dataSync(), offset);
    if (measured.pred) predictions![u].set(measured.pred.dataSync(), offset * part.scored.x.shape[1]);
    tf.dispose(Object.values(measured));
    if (u === options.updates) break;
    const next = tf.tidy(() => adaptation.step(fast, part.support, { index: u, sgd, unlabeled: unlabeled[u] && tf.tensor3d(unlabeled[u], [tasks, k, part.support.x.shape[2]]) }));
    tf.dispose(fast.filter((p) => !next.includes(p))); // what the step kept (anil's body) lives on
    fast = next;
  }
  tf.dispose(fast);
}

/** Per-task MSE [tasks] over the real points of padded ones: sum(mask (pred - y)^2) / sum(mask). */
function maskedMse(pred: tf.Tensor3D, y: tf.Tensor3D, mask: tf.Tensor3D): tf.Tensor1D {
  return tf.div(tf.sum(tf.mul(mask, tf.square(tf.sub(pred, y))), [1, 2]), tf.sum(mask, [1, 2])) as tf.Tensor1D;
}
