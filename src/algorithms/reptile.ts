// Reptile: Nichol, Achiam & Schulman, "On First-Order Meta-Learning Algorithms",
// 2018 (arXiv:1803.02999), algorithm 1 (batched version with metaBatch tasks).
//   phi_t  = innerSteps SGD steps on shuffled minibatches of task t's support points
//   theta <- theta + epsilon (mean_t phi_t - theta)
// Returned as the pseudo-gradient theta - mean_t phi_t, so that plain SGD at
// lr = epsilon is the Reptile update (and adam, or annealing, also apply).
import * as tf from '@tensorflow/tfjs';
import { sgdStep } from '../adapt.js';
import { sumOverTasks } from '../gradients.js';
import { forward, taskLosses, type Params } from '../model.js';
import type { Rng } from '../rng.js';
import type { PointSet } from '../tasks.js';
import { adaptOptions, type MetaLearner } from './types.js';

/**
 * Minibatch s of every task: innerBatch of its points, read through a fresh permutation
 * per epoch (OpenAI's and the Flux post's shuffled partition). Returns [tasks, innerBatch, 1].
 */
function minibatches(support: PointSet, steps: number, size: number, rng: Rng): PointSet[] {
  const [tasks, k] = support.x.shape;
  const order = Array.from({ length: tasks }, () => [] as number[]);
  const batches: PointSet[] = [];
  for (let s = 0; s < steps; s++) {
    const rows: number[] = [];
    for (let t = 0; t < tasks; t++) {
      while (order[t].length < size) order[t].push(...rng.permutation(k));
      rows.push(...order[t].splice(0, size).map((i) => t * k + i));
    }
    const index = tf.tensor1d(rows, 'int32');
    const pick = (v: tf.Tensor3D) => tf.reshape(tf.gather(tf.reshape(v, [tasks * k, 1]), index), [tasks, size, 1]) as tf.Tensor3D;
    batches.push({ x: pick(support.x), y: pick(support.y) });
  }
  return batches;
}

export const reptile: MetaLearner = {
  usesQuery: false,
  trains: true,
  metaGradient(params, batch, config, rng) {
    return tf.tidy(() => {
      const opts = adaptOptions(config);
      const batches = minibatches(batch.support, config.innerSteps, config.innerBatch, rng);
      let fast: Params = params;
      let loss: tf.Scalar | null = null;
      batches.forEach((points, s) => {
        // reported loss: the last inner minibatch's, before its step (as the Flux post and the peer)
        if (s === batches.length - 1) loss = tf.mean(taskLosses(forward(fast, points.x, config.activation), points.y, config.loss)) as tf.Scalar;
        fast = sgdStep(fast, points, opts);
      });
      const tasks = batch.support.x.shape[0];
      return { loss: loss!, grads: sumOverTasks(fast, params).map((sum, i) => tf.sub(params[i], tf.div(sum, tasks))) };
    });
  },
};
