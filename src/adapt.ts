// Task adaptation: a few steps of plain SGD on each task's support points,
// phi_t = theta - lr * grad L_t(theta), for all tasks of a batch at once.
import * as tf from '@tensorflow/tfjs';
import type { Activation, LossKind } from './config.js';
import { forward, isPerTask, perTaskCopies, taskLosses, type Params } from './model.js';
import type { PointSet } from './tasks.js';

export interface AdaptOptions {
  steps: number;
  lr: number;
  loss: LossKind;
  activation: Activation;
  /** Clip each task's gradient to this global L2 norm. */
  clipGrad: number | null;
}

/**
 * Scales gradients so that their global L2 norm is at most maxNorm. With perTask, the norm is
 * taken per task (leading axis) and each task is scaled alone. Differentiable once, so it can
 * sit inside MAML's inner loop.
 */
export function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number, perTask: boolean): tf.Tensor[] {
  const squares = grads.map((g) => (perTask ? tf.sum(tf.square(g), g.shape.slice(1).map((_, i) => i + 1)) : tf.sum(tf.square(g)))); // [tasks] or []
  const norm = tf.sqrt(tf.addN(squares));
  const scale = tf.div(maxNorm, tf.maximum(norm, maxNorm)); // 1 when under the bound
  return grads.map((g) => tf.mul(g, perTask ? tf.reshape(scale, [-1, ...g.shape.slice(1).map(() => 1)]) : scale));
}

/** Gradient of the summed per-task losses: row t of each result is task t's own gradient. */
export function innerGradients(fast: Params, points: PointSet, opts: AdaptOptions): Params {
  const grads = tf.grads((...ps: tf.Tensor[]) => tf.sum(taskLosses(forward(ps, points.x, opts.activation), points.y, opts.loss)))(fast);
  return opts.clipGrad === null ? grads : clipByGlobalNorm(grads, opts.clipGrad, true);
}

/** One SGD step per task. fast: per-task params [tasks, ...]. */
export function sgdStep(fast: Params, points: PointSet, opts: AdaptOptions): Params {
  const grads = innerGradients(fast, points, opts);
  return fast.map((p, i) => tf.sub(p, tf.mul(grads[i], opts.lr)));
}

/**
 * adapt(params, support) -> per-task params after opts.steps SGD steps on support [tasks, k, 1].
 * Differentiable: called under an outer tape (MAML), the result carries second-order terms.
 */
export function adapt(params: Params, support: PointSet, opts: AdaptOptions): Params {
  let fast = isPerTask(params) ? params : perTaskCopies(params, support.x.shape[0]);
  for (let s = 0; s < opts.steps; s++) fast = sgdStep(fast, support, opts);
  return fast;
}
