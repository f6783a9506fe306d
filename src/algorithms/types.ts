import * as tf from '@tensorflow/tfjs';
import type { AdaptOptions } from '../adapt.js';
import type { TrainConfig } from '../config.js';
import type { AdaptStep } from '../evaluate.js';
import type { Rng } from '../rng.js';
import type { PointSet, SineTask } from '../tasks.js';

/** What one meta-iteration trains on: the tasks, support [tasks, k, 1] and, for learners that use it, query [tasks, q, 1]. */
export interface MetaBatch {
  tasks: SineTask[];
  support: PointSet;
  query: PointSet | null;
}

/** The outer objective's value and the direction the meta-optimizer steps against, one per param. */
export interface MetaGradient {
  loss: tf.Scalar;
  grads: tf.Tensor[];
}

/** Learned tensors beyond the MLP, by group name (meta-sgd's `rates`, daml's `adaptationNet`). */
export type Extras = Record<string, tf.Tensor[]>;

/** One group of extra learned tensors: their shapes, and how to draw their initial values. */
export interface ExtraGroup {
  shapes: number[][];
  init(rng: Rng): tf.Tensor[];
}

/** How a model adapts to a task: SGD on its support points, at Meta-SGD's learned rates, or down DAML's learned loss at unlabeled inputs. */
export type Adaptation = 'sgd' | 'learned rates' | 'learned loss';

/** How validation and `eval` adapt each task, when not by plain SGD. */
export interface FineTuning {
  step: AdaptStep;
  adaptation: Exclude<Adaptation, 'sgd'>;
}

export interface MetaLearner {
  /** Whether each task also needs query points (the data of the outer loss). */
  usesQuery: boolean;
  /** Whether it trains at all (random does not). */
  trains: boolean;
  /** Its own learned tensors, meta-trained beside the MLP by the same optimizer and saved with it. */
  extras?(config: TrainConfig): Record<string, ExtraGroup>;
  /** grads: one per MLP param, then one per extra tensor, in the order of extras(config). */
  metaGradient(params: tf.Variable[], batch: MetaBatch, config: TrainConfig, rng: Rng, extras: Record<string, tf.Variable[]>): MetaGradient;
  /** Its own fine-tuning, when it is not plain SGD on the support points. */
  fineTuning?(extras: Extras): FineTuning;
}

export function adaptOptions(config: TrainConfig, autodiff = false): AdaptOptions {
  return { steps: config.innerSteps, lr: config.innerLr, loss: config.loss, activation: config.activation, clipGrad: config.clipGrad, autodiff };
}

/** The autodiff route: the loss and its gradients with respect to vars, by tf.variableGrads. */
export function autodiffMetaGradient(loss: () => tf.Scalar, vars: tf.Variable[]): MetaGradient {
  const { value, grads } = tf.variableGrads(loss, vars);
  return { loss: value, grads: vars.map((v) => grads[v.name]) };
}
