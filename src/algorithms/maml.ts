// MAML: Finn, Abbeel & Levine, "Model-Agnostic Meta-Learning for Fast Adaptation
// of Deep Networks", ICML 2017 (arXiv:1703.03400), algorithm 2.
//   phi_t  = theta - alpha grad_theta L_t(support_t; theta)      (innerSteps times)
//   theta <- theta - beta grad_theta mean_t L_t(query_t; phi_t)
// Second order: the inner gradients are taken with tf.grads inside the outer
// tf.variableGrads, so the outer gradient differentiates through them.
// With firstOrder (FOMAML), the adaptation phi_t - theta is computed before the outer
// tape starts and enters it as a constant: the inner gradients are held fixed.
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../config.js';
import { adapt } from '../adapt.js';
import { forward, taskLosses, type Params } from '../model.js';
import { adaptOptions, type MetaBatch, type MetaGradient, type MetaLearner } from './types.js';

/** metaLoss(params, batch): mean over tasks of the query loss after adaptation. */
export function metaLoss(params: Params, batch: MetaBatch, config: TrainConfig): tf.Scalar {
  const adapted = adapt(params, batch.support, adaptOptions(config)); // [tasks, ...] each
  return queryLoss(adapted, batch, config);
}

function queryLoss(adapted: Params, batch: MetaBatch, config: TrainConfig): tf.Scalar {
  const query = batch.query!;
  return tf.mean(taskLosses(forward(adapted, query.x, config.activation), query.y, config.loss));
}

export function mamlGradient(params: tf.Variable[], batch: MetaBatch, config: TrainConfig, firstOrder: boolean): MetaGradient {
  // FOMAML: phi_t - theta, computed with no outer tape recording: a constant [tasks, ...].
  const steps = firstOrder ? tf.tidy(() => adapt(params, batch.support, adaptOptions(config)).map((phi, i) => tf.sub(phi, params[i]))) : null;
  const { value, grads } = tf.variableGrads(
    () => (steps ? queryLoss(params.map((p, i) => tf.add(p, steps[i])), batch, config) : metaLoss(params, batch, config)),
    params,
  );
  if (steps) tf.dispose(steps);
  return { loss: value, grads: params.map((p) => grads[p.name]) };
}

export const maml: MetaLearner = {
  usesQuery: true,
  trains: true,
  metaGradient: (params, batch, config) => mamlGradient(params, batch, config, false),
};
