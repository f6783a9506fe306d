// Task adaptation: a few steps of plain SGD on each task's support points,
// phi_t = theta - lr * grad L_t(theta), for all tasks of a batch at once
// (Meta-SGD: phi_t = theta - alpha (.) grad L_t(theta), a learned rate per parameter).
import * as tf from '@tensorflow/tfjs';
import { autodiffGradients, backprop } from './gradients.js';
import { subtractScaled } from '../kernels/step.js';
import { isPerTask, type Activation, type LossKind, type Params } from './model.js';
import type { PointSet } from './tasks.js';

export interface AdaptOptions {
  steps: number;
  lr: number;
  /** Meta-SGD's learned rates, one tensor the shape of each shared param, replacing lr. */
  rates?: Params;
  loss: LossKind;
  activation: Activation;
  /** Clip each task's gradient to this global L2 norm. */
  clipGrad: number | null;
  /** Inner gradients by tf.grads (differentiable by an outer tape: MAML's autodiff route) instead of explicit backpropagation. */
  autodiff: boolean;
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

/** scale * each task's loss gradient, [tasks, ...shape], by the route opts asks for, and (by backpropagation) each task's loss. */
function taskGradients(fast: Params, points: PointSet, opts: AdaptOptions, scale: number): { grads: Params; losses: tf.Tensor1D | null } {
  return opts.autodiff ? { grads: autodiffGradients(fast, points, opts, scale), losses: null } : backprop(fast, points, opts, scale);
}

/**
 * One SGD step per task: phi_t = fast_t - lr grad_t (or rates (.) grad_t). fast: shared params or per-task
 * ones; the result is per-task. Also each task's loss at fast [tasks] (null on the autodiff route).
 */
export function sgdStepWithLosses(fast: Params, points: PointSet, opts: AdaptOptions): { params: Params; losses: tf.Tensor1D | null } {
  const { rates, lr, clipGrad } = opts;
  if (clipGrad === null && !rates) {
    const { grads, losses } = taskGradients(fast, points, opts, lr); // lr folded into backpropagation
    return { params: subtractScaled(fast, grads, 1), losses };
  }
  const { grads, losses } = taskGradients(fast, points, opts, 1);
  // one task may come in the shared layout; rates broadcast over tasks
  return { params: subtractScaled(fast, clipGrad === null ? grads : clipByGlobalNorm(grads, clipGrad, isPerTask(grads)), rates ?? lr), losses };
}

/** One SGD step per task (see sgdStepWithLosses). */
export function sgdStep(fast: Params, points: PointSet, opts: AdaptOptions): Params {
  return sgdStepWithLosses(fast, points, opts).params;
}

/**
 * adapt(params, support) -> per-task params after opts.steps SGD steps on support [tasks, k, 1].
 * Differentiable: called under an outer tape (MAML's autodiff route), the result carries
 * the second-order terms.
 */
export function adapt(params: Params, support: PointSet, opts: AdaptOptions): Params {
  let fast = params;
  for (let s = 0; s < opts.steps; s++) fast = sgdStep(fast, support, opts);
  return fast;
}
