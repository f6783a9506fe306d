import type * as tf from '@tensorflow/tfjs';
import type { AdaptOptions } from '../adapt.js';
import type { TrainConfig } from '../config.js';
import type { Rng } from '../rng.js';
import type { PointSet } from '../tasks.js';

/** What one meta-iteration trains on: support [tasks, k, 1] and, for maml/fomaml, query [tasks, q, 1]. */
export interface MetaBatch {
  support: PointSet;
  query: PointSet | null;
}

/** The outer objective's value and the direction the meta-optimizer steps against, one per param. */
export interface MetaGradient {
  loss: tf.Scalar;
  grads: tf.Tensor[];
}

export interface MetaLearner {
  /** Whether each task also needs query points (the data of the outer loss). */
  usesQuery: boolean;
  /** Whether it trains at all (random does not). */
  trains: boolean;
  metaGradient(params: tf.Variable[], batch: MetaBatch, config: TrainConfig, rng: Rng): MetaGradient;
}

export function adaptOptions(config: TrainConfig, autodiff = false): AdaptOptions {
  return { steps: config.innerSteps, lr: config.innerLr, loss: config.loss, activation: config.activation, clipGrad: config.clipGrad, autodiff };
}
