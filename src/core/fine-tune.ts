// Fine-tuning: adapt a model to K support points of each held-out task, one step of its adaptation
// per update, and measure after every update the MSE on a dense grid over the task's x range (and, if
// asked, on K fresh random query points). Validation, eval and the page measure this way. Tasks are
// fine-tuned a part at a time, all of a part at once as per-task weights [tasks, ...]; the parts change
// nothing (every task is computed on its own rows) but memory.
import * as tf from '@tensorflow/tfjs';
import type { Adaptation, SgdOptions } from './adapt.js';
import { atZeroContext, forward, perTaskCopies, taskLosses, type Params } from './model.js';
import { Rng } from './rng.js';
import { disposePoints, linspace, pointSet, sampleInputs, sampleTasks, type PointSet, type SineTask, type TaskFamily } from './tasks.js';

/** Points of the evaluation grid: 100 evenly spaced x over the x range, ends included. */
export const GRID_POINTS = 100;
/** Per-task weights fine-tuned at once, at most (floats): the size of a part of the tasks. */
const PART_FLOATS = 1 << 22;

export interface EvalSet {
  family: TaskFamily;
  /** What the set was drawn from; an adaptation's unlabeled inputs (DAML's) are drawn from it too. */
  seed: string | number;
  tasks: SineTask[];
  support: PointSet;
  grid: PointSet;
  /** K fresh random query points per task, when asked for (cbfinn/maml's test loss). */
  query: PointSet | null;
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
  /** The support x of every task, instead of `samples` draws (one wave's chosen points: eval --points, the page's clicks); samples must be their count. */
  supportX?: number[];
  /** Also draw K = samples random query points per task from the family's x range. */
  randomQuery?: boolean;
}

/** The held-out tasks and support sets: a function of the seed alone, so every model sees the same ones. */
export function makeEvalSet(family: TaskFamily, options: EvalSetOptions): EvalSet {
  const rng = new Rng(options.seed);
  const tasks = typeof options.tasks === 'number' ? sampleTasks(rng, family, options.tasks) : options.tasks;
  const chosen = options.supportX;
  const supportX = chosen ? Float32Array.from({ length: tasks.length * chosen.length }, (_, i) => chosen[i % chosen.length]) : sampleInputs(rng, tasks.length, options.samples, options.sampleRange ?? family.xRange, false);
  const support = pointSet(tasks, supportX);
  // drawn after the support points, so that asking for them changes no other draw
  const query = options.randomQuery ? pointSet(tasks, sampleInputs(rng, tasks.length, options.samples, family.xRange, false)) : null;
  const gridX = linspace(family.xRange[0], family.xRange[1], GRID_POINTS);
  const onGrid = (ts: SineTask[]) => pointSet(ts, Float32Array.from({ length: ts.length * GRID_POINTS }, (_, i) => gridX[i % GRID_POINTS]));
  const phaseGrids = (family.phases?.length ?? 0) > 1 ? family.phases!.map((phase) => tf.tidy(() => onGrid(tasks.map((t) => ({ ...t, phase }))).y)) : [];
  return { family, seed: options.seed, tasks, support, grid: onGrid(tasks), query, phaseGrids };
}

export function disposeEvalSet(set: EvalSet): void {
  disposePoints(set.support);
  disposePoints(set.grid);
  if (set.query) disposePoints(set.query);
  tf.dispose(set.phaseGrids);
}

/** Tasks [start, end) of a set, their tensors sliced out (free with disposeEvalSet). */
function partOf(set: EvalSet, start: number, end: number): EvalSet {
  const rows = (t: tf.Tensor3D) => tf.slice(t, [start, 0, 0], [end - start, -1, -1]) as tf.Tensor3D;
  const points = (p: PointSet) => ({ x: rows(p.x), y: rows(p.y) });
  return { ...set, tasks: set.tasks.slice(start, end), support: points(set.support), grid: points(set.grid), query: set.query && points(set.query), phaseGrids: set.phaseGrids.map(rows) };
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
  /** losses[u][t]: grid MSE of task t after u updates, u = 0..updates. */
  losses: Float32Array[];
  /** With the set's random query points: their MSE, the same way. */
  queryLosses?: Float32Array[];
  /** With the set's phaseGrids: phaseHits[u][t] is 1 when after u updates task t's fit is nearer (grid MSE) to its own wave than to any other phase's. */
  phaseHits?: Float32Array[];
  /** With keepPredictions: predictions[u] holds the grid predictions after u updates, [tasks * GRID_POINTS]. */
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
  const predictions = options.keepPredictions ? Array.from({ length: options.updates + 1 }, () => new Float32Array(tasks * GRID_POINTS)) : null;
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
      const pred = forward(p, part.grid.x, sgd.activation);
      const loss = taskLosses(pred, part.grid.y, 'mse');
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
  let fast = tf.tidy(() => perTaskCopies(atZeroContext(params), tasks)); // owned here, so every step can free the last
  for (let u = 0; ; u++) {
    const measured = measure(fast);
    result.losses[u].set(measured.loss.dataSync(), offset);
    if (measured.query) result.queryLosses![u].set(measured.query.dataSync(), offset);
    if (measured.hits) result.phaseHits![u].set(measured.hits.dataSync(), offset);
    if (measured.pred) predictions![u].set(measured.pred.dataSync(), offset * GRID_POINTS);
    tf.dispose(Object.values(measured));
    if (u === options.updates) break;
    const next = tf.tidy(() => adaptation.step(fast, part.support, { index: u, sgd, unlabeled: unlabeled[u] && tf.tensor3d(unlabeled[u], [tasks, k, 1]) }));
    tf.dispose(fast.filter((p) => !next.includes(p))); // what the step kept (anil's body) lives on
    fast = next;
  }
  tf.dispose(fast);
}
