// Evaluation: fine-tune a model on K support points of each held-out task and measure, after
// every update, the MSE on a dense grid over the task's x range (and, if asked, on K fresh random
// query points). Tasks are fine-tuned a part at a time, all of a part at once as per-task weights
// [tasks, ...]; the parts change nothing (every task is computed on its own rows) but memory.
import * as tf from '@tensorflow/tfjs';
import { sgdStep, type AdaptOptions } from './adapt.js';
import { atZeroContext, forward, perTaskCopies, taskLosses, type Activation, type LossKind, type Params } from './model.js';
import { Rng } from './rng.js';
import { disposePoints, linspace, pointSet, sampleInputs, sampleTasks, type PointSet, type SineTask, type TaskFamily } from './tasks.js';

/** Points of the evaluation grid: 100 evenly spaced x over the x range, ends included. */
export const GRID_POINTS = 100;
/** Per-task weights fine-tuned at once, at most (floats): the size of a part of the tasks. */
const PART_FLOATS = 1 << 22;

export interface EvalSet {
  family: TaskFamily;
  /** What the set was drawn from; steps that need more inputs (daml's unlabeled ones) draw them from it too. */
  seed: string | number;
  tasks: SineTask[];
  support: PointSet;
  grid: PointSet;
  /** K fresh random query points per task, when asked for (cbfinn/maml's test loss). */
  query: PointSet | null;
  /** With two or more discrete phases: the grid values y [tasks, points, 1] of every task under each phase of the family. */
  phaseGrids: tf.Tensor3D[];
  /** For a part of a set: the whole set, and the index of the part's first task in it. */
  whole: EvalSet | null;
  start: number;
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
export function makeEvalSet(family: TaskFamily, o: EvalSetOptions): EvalSet {
  const rng = new Rng(o.seed);
  const tasks = typeof o.tasks === 'number' ? sampleTasks(rng, family, o.tasks) : o.tasks;
  const chosen = o.supportX;
  const supportX = chosen ? Float32Array.from({ length: tasks.length * chosen.length }, (_, i) => chosen[i % chosen.length]) : sampleInputs(rng, tasks.length, o.samples, o.sampleRange ?? family.xRange, false);
  const support = pointSet(tasks, supportX);
  // drawn after the support points, so that asking for them changes no other draw
  const query = o.randomQuery ? pointSet(tasks, sampleInputs(rng, tasks.length, o.samples, family.xRange, false)) : null;
  const gridX = linspace(family.xRange[0], family.xRange[1], GRID_POINTS);
  const onGrid = (ts: SineTask[]) => pointSet(ts, Float32Array.from({ length: ts.length * GRID_POINTS }, (_, i) => gridX[i % GRID_POINTS]));
  const phaseGrids = (family.phases?.length ?? 0) > 1 ? family.phases!.map((phase) => tf.tidy(() => onGrid(tasks.map((t) => ({ ...t, phase }))).y)) : [];
  return { family, seed: o.seed, tasks, support, grid: onGrid(tasks), query, phaseGrids, whole: null, start: 0 };
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
  return { ...set, tasks: set.tasks.slice(start, end), support: points(set.support), grid: points(set.grid), query: set.query && points(set.query), phaseGrids: set.phaseGrids.map(rows), whole: set, start };
}

/** Splits n tasks into near-equal parts of about `size` (at least 2 each, when n > 1: one task alone takes the shared-weights route, whose sums run in another order). */
function parts(n: number, size: number): [number, number][] {
  const count = n < 2 ? 1 : Math.min(Math.ceil(n / Math.max(1, size)), Math.floor(n / 2));
  return Array.from({ length: count }, (_, i) => [Math.floor((i * n) / count), Math.floor(((i + 1) * n) / count)]);
}

const drawn = new WeakMap<EvalSet, Map<string, Float32Array>>();

/**
 * Values drawn once for a whole evaluation, `perTask` of them for each task (e.g. daml's
 * unlabeled inputs of an update), and the part's share: the same draws however the tasks are split.
 */
export function drawnForWhole(set: EvalSet, key: string, perTask: number, draw: (whole: EvalSet) => Float32Array): Float32Array {
  const whole = set.whole ?? set;
  const memo = drawn.get(whole) ?? new Map<string, Float32Array>();
  drawn.set(whole, memo);
  if (!memo.has(key)) memo.set(key, draw(whole));
  return memo.get(key)!.subarray(set.start * perTask, (set.start + set.tasks.length) * perTask);
}

/** One fine-tuning step of every task of a set, update = 0, 1, ...: per-task params in, per-task params out (a param it does not change may be returned as it came). */
export type AdaptStep = (fast: Params, set: EvalSet, update: number, opts: AdaptOptions) => Params;

export interface FineTuneOptions {
  updates: number;
  lr: number;
  /** Loss of the SGD steps on the support points (the measured losses are always MSE). */
  loss: LossKind;
  activation: Activation;
  /** Keep the grid predictions after every update (for plots and the page). */
  keepPredictions?: boolean;
  /** The learner's own step (default: SGD at lr on the support points). */
  step?: AdaptStep;
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
}

/** Fine-tunes params on every task of the set and records the losses after each update. Inputs of the MLP beyond x (a context) start at zero. */
export function fineTune(params: Params, set: EvalSet, o: FineTuneOptions): FineTuneResult {
  const tasks = set.tasks.length;
  const floats = params.reduce((n, p) => n + p.size, 0);
  const perUpdate = () => Array.from({ length: o.updates + 1 }, () => new Float32Array(tasks));
  const result: FineTuneResult = { losses: perUpdate(), ...(set.query ? { queryLosses: perUpdate() } : {}), ...(set.phaseGrids.length ? { phaseHits: perUpdate() } : {}) };
  const predictions = o.keepPredictions ? Array.from({ length: o.updates + 1 }, () => new Float32Array(tasks * GRID_POINTS)) : null;
  for (const [start, end] of parts(tasks, Math.floor(PART_FLOATS / floats))) {
    const part = start === 0 && end === tasks ? set : partOf(set, start, end);
    try {
      fineTunePart(params, part, o, result, predictions);
    } finally {
      if (part !== set) disposeEvalSet(part);
    }
  }
  if (predictions) result.predictions = predictions;
  return result;
}

/** fineTune of one part, writing its tasks' losses at their place in the result. */
function fineTunePart(params: Params, part: EvalSet, o: FineTuneOptions, result: FineTuneResult, predictions: Float32Array[] | null): void {
  const adaptOpts = { steps: 1, lr: o.lr, loss: o.loss, activation: o.activation, clipGrad: null, autodiff: false };
  const step = o.step ?? ((fast: Params) => sgdStep(fast, part.support, adaptOpts));
  const offset = part.start;
  // the grid loss, the query loss and the phase hits [tasks], the grid predictions [tasks, points, 1]: each when asked for
  const measure = (p: Params) =>
    tf.tidy(() => {
      const pred = forward(p, part.grid.x, o.activation);
      const loss = taskLosses(pred, part.grid.y, 'mse');
      const out: Record<string, tf.Tensor> = { loss };
      if (part.query) out.query = taskLosses(forward(p, part.query.x, o.activation), part.query.y, 'mse');
      if (part.phaseGrids.length) {
        // a hit: the task's own wave is the only phase fitted this well (a tie, e.g. predicting 0 for
        // sin and -sin, is no hit); the tolerance absorbs rounding between the two grids of its own phase
        const asGood = tf.sum(tf.cast(tf.lessEqual(tf.stack(part.phaseGrids.map((y) => taskLosses(pred, y, 'mse'))), tf.add(tf.mul(loss, 1 + 1e-5), 1e-12)), 'float32'), 0); // [tasks]
        out.hits = tf.cast(tf.equal(asGood, 1), 'float32');
      }
      if (predictions) out.pred = pred;
      return out;
    });
  let fast = tf.tidy(() => perTaskCopies(atZeroContext(params), part.tasks.length)); // owned here, so every step can free the last
  for (let u = 0; ; u++) {
    const measured = measure(fast);
    result.losses[u].set(measured.loss.dataSync(), offset);
    if (measured.query) result.queryLosses![u].set(measured.query.dataSync(), offset);
    if (measured.hits) result.phaseHits![u].set(measured.hits.dataSync(), offset);
    if (measured.pred) predictions![u].set(measured.pred.dataSync(), offset * GRID_POINTS);
    tf.dispose(Object.values(measured));
    if (u === o.updates) break;
    const next = tf.tidy(() => step(fast, part, u, adaptOpts));
    tf.dispose(fast.filter((p) => !next.includes(p))); // what the step kept (anil's body) lives on
    fast = next;
  }
  tf.dispose(fast);
}

/** Statistics of one loss over tasks. Tasks that diverged (a loss not finite, or above the bound) are counted, and left out of the mean. */
export interface Summary {
  /** Tasks. */
  n: number;
  /** Tasks whose loss is not finite or above the bound. */
  diverged: number;
  /** Over the other tasks (NaN when all diverged). */
  mean: number;
  std: number;
  /** Half-width of the 95% confidence interval of the mean (normal approximation, 1.96 sd / sqrt(n)). */
  ci95: number;
  /** Over all tasks, the diverged ones counted as larger than any other. */
  median: number;
}

export function summarize(values: ArrayLike<number>, bound = Infinity): Summary {
  const n = values.length;
  const kept: number[] = [];
  for (let i = 0; i < n; i++) if (Number.isFinite(values[i]) && values[i] <= bound) kept.push(values[i]);
  const m = kept.length;
  const mean = kept.reduce((a, b) => a + b, 0) / m;
  const std = m > 1 ? Math.sqrt(kept.reduce((a, v) => a + (v - mean) ** 2, 0) / (m - 1)) : 0;
  const sorted = kept.sort((a, b) => a - b);
  const at = (i: number) => (i < m ? sorted[i] : Infinity);
  const median = n === 0 ? NaN : n % 2 ? at((n - 1) / 2) : (at(n / 2 - 1) + at(n / 2)) / 2;
  return { n, diverged: n - m, mean, std, ci95: m > 1 ? (1.96 * std) / Math.sqrt(m) : 0, median };
}

/** The default divergence bound of a family: 100 times the largest mean square of its waves over the grid, A_max^2 / 2. */
export function divergenceBound(family: TaskFamily): number {
  return (100 * family.amplitude[1] ** 2) / 2;
}
