// Adaptation, the inner loop: a few steps that fit the model to each task of a batch at once. A
// learner's Adaptation is its rule for one such step: plain SGD on every weight (sgdAdaptation),
// or its own (Meta-SGD's learned rates, ANIL's head alone, CAVIA's context, DAML's learned loss).
// Training differentiates through its steps, and validation, eval and the page take the same steps
// one update at a time: the rule is written once, in the learner's file.
import * as tf from '@tensorflow/tfjs';
import { autodiffGradients, backprop } from './gradients.js';
import { isPerTask, type Activation, type LossKind, type Params } from './model.js';
import { subtractScaled } from './ops.js';
import type { Rng } from './rng.js';
import type { PointSet } from './points.js';

/** The settings of one SGD step of every task, phi_t = fast_t - lr grad L_t(fast_t) (or rates (.) grad L_t). */
export interface SgdOptions {
  lr: number;
  /** Learned rates replacing lr: one tensor the shape of each shared param (Meta-SGD's) or one scalar per param (MAML++'s). */
  rates?: Params;
  loss: LossKind;
  activation: Activation;
  /** Clip each task's gradient to this global L2 norm. */
  clipGrad: number | null;
  /** Inner gradients by tf.grads (differentiable by an outer tape: the autodiff meta-gradients) instead of explicit backpropagation. */
  autodiff: boolean;
  /** With autodiff: hold the inner gradients constant to the outer tape (first order), as MAML++'s first iterations do. */
  holdGradients?: boolean;
}

/** The SGD of fine-tuning (validation, eval, the page): at lr, unclipped, by backpropagation. */
export function fineTuningSgd(lr: number, loss: LossKind, activation: Activation): SgdOptions {
  return { lr, loss, activation, clipGrad: null, autodiff: false };
}

/** What an adaptation adapts, as reports and the page name it. */
export type AdaptationKind = 'sgd' | 'learned rates' | 'learned loss' | 'head only' | 'context';

/** What one step reads besides the support points. */
export interface InnerStep {
  /** 0 for a task's first step (MAML++'s rates and DAML's unlabeled inputs are per step). */
  index: number;
  sgd: SgdOptions;
  /** For an adaptation that reads them (DAML): this step's unlabeled inputs, [tasks, n, 1]. */
  unlabeled?: tf.Tensor3D;
}

/** A learner's inner rule (see the top of this file). */
export interface Adaptation {
  kind: AdaptationKind;
  /**
   * One step of every task: per-task params [tasks, ...] (or the shared ones, which it copies per task where it
   * changes them) in, per-task params out; a param it does not change may come back as it came. Differentiable.
   */
  step(fast: Params, support: PointSet, at: InnerStep): Params;
  /** For a rule that adapts from unlabeled inputs rather than the support points (DAML): n per task, [tasks * n], drawn from rng (family: the task family's settings, as it drew the tasks). */
  unlabeledInputs?(rng: Rng, family: unknown, tasks: readonly unknown[], n: number): Float32Array;
}

/** Plain SGD on every weight, at the settings' lr. */
export const sgdAdaptation: Adaptation = { kind: 'sgd', step: (fast, support, at) => sgdStep(fast, support, at.sgd) };

/**
 * adapt(params, support) -> per-task params after `steps` steps of the adaptation on support [tasks, k, 1]
 * (unlabeled: the inputs of each step, for an adaptation that reads them). Differentiable: under an outer tape
 * (with sgd.autodiff) the result carries the second-order terms.
 */
export function adapt(adaptation: Adaptation, params: Params, support: PointSet, steps: number, sgd: SgdOptions, unlabeled: tf.Tensor3D[] = []): Params {
  let fast = params;
  for (let s = 0; s < steps; s++) fast = adaptation.step(fast, support, { index: s, sgd, unlabeled: unlabeled[s] });
  return fast;
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

/** An identity whose gradient is zero: a value the outer tape takes as a constant (TF.js has no stopGradient). */
const held = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({ value: tf.clone(args[0] as tf.Tensor), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) }));

/** scale * each task's loss gradient, [tasks, ...shape], by the route sgd asks for, and (by backpropagation) each task's loss. */
function taskGradients(fast: Params, points: PointSet, sgd: SgdOptions, scale: number): { grads: Params; losses: tf.Tensor1D | null } {
  return sgd.autodiff ? { grads: autodiffGradients(fast, points, sgd, scale), losses: null } : backprop(fast, points, sgd, scale);
}

/**
 * One SGD step per task: phi_t = fast_t - lr grad_t (or rates (.) grad_t). fast: shared params or per-task
 * ones; the result is per-task. Also each task's loss at fast [tasks] (null on the autodiff route).
 */
export function sgdStepWithLosses(fast: Params, points: PointSet, sgd: SgdOptions): { params: Params; losses: tf.Tensor1D | null } {
  const { rates, lr, clipGrad } = sgd;
  if (clipGrad === null && !rates && !sgd.holdGradients) {
    const { grads, losses } = taskGradients(fast, points, sgd, lr); // lr folded into backpropagation
    return { params: subtractScaled(fast, grads, 1), losses };
  }
  const { grads, losses } = taskGradients(fast, points, sgd, 1);
  // one task may come in the shared layout; rates broadcast over tasks
  const clipped = clipGrad === null ? grads : clipByGlobalNorm(grads, clipGrad, isPerTask(grads));
  return { params: subtractScaled(fast, sgd.holdGradients ? clipped.map((g) => held(g) as tf.Tensor) : clipped, rates ?? lr), losses };
}

/** One SGD step per task (see sgdStepWithLosses). */
export function sgdStep(fast: Params, points: PointSet, sgd: SgdOptions): Params {
  return sgdStepWithLosses(fast, points, sgd).params;
}
