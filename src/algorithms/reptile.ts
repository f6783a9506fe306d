// Reptile: Nichol, Achiam & Schulman, "On First-Order Meta-Learning Algorithms",
// 2018 (arXiv:1803.02999), algorithm 1 (batched version with metaBatch tasks).
//   phi_t  = innerSteps SGD steps on shuffled minibatches of task t's support points
//   theta <- theta + epsilon (mean_t phi_t - theta)
// Returned as the pseudo-gradient theta - mean_t phi_t, so that plain SGD at
// lr = epsilon is the Reptile update (and adam, or annealing, also apply). Its adaptation is plain SGD
// (core/adapt.ts): the inner steps here, on minibatches, and every update of validation and eval.
import * as tf from '@tensorflow/tfjs';
import { sgdStepWithLosses } from '../core/adapt.js';
import { sumOverTasks } from '../core/gradients.js';
import type { Params } from '../core/model.js';
import type { Rng } from '../core/rng.js';
import type { PointSet } from '../core/points.js';
import { count, option } from '../options/option.js';
import { TRAINING } from '../options/shared.js';
import { innerSgd, learner } from './learner.js';

export const reptileOptions = {
  innerBatch: option<number>({ flag: '--inner-batch <n>', kind: 'int', help: "points per inner minibatch (drawn without replacement from the task's support points)", schema: count, default: 10 }),
};

/**
 * Minibatch s of every task: innerBatch of its points, read through a fresh permutation
 * per epoch (OpenAI's and the Flux post's shuffled partition). Returns [tasks, innerBatch, 1]
 * each, built from the support points' values in JS (no gather kernels).
 */
function minibatches(support: PointSet, steps: number, size: number, rng: Rng): PointSet[] {
  const [tasks, k, d] = support.x.shape;
  const values = support.values ?? { x: support.x.dataSync() as Float32Array, y: support.y.dataSync() as Float32Array };
  const order = Array.from({ length: tasks }, () => [] as number[]);
  return Array.from({ length: steps }, () => {
    const x = new Float32Array(tasks * size * d);
    const y = new Float32Array(tasks * size);
    for (let t = 0; t < tasks; t++) {
      while (order[t].length < size) order[t].push(...rng.permutation(k));
      order[t].splice(0, size).forEach((i, j) => {
        x.set(values.x.subarray((t * k + i) * d, (t * k + i + 1) * d), (t * size + j) * d);
        y[t * size + j] = values.y[t * k + i];
      });
    }
    return { x: tf.tensor3d(x, [tasks, size, d]), y: tf.tensor3d(y, [tasks, size, 1]) };
  });
}

export const reptile = learner({
  uses: [...TRAINING, 'innerSteps', 'support', 'supportGrid'],
  options: reptileOptions,
  // The Reptile paper's sine setting (OpenAI's sine demo, the Flux post): a 1-64-64-1 tanh MLP, one task at a
  // time, its 50 grid points in one epoch of shuffled minibatches of 10 (5 SGD steps of 0.02), epsilon 0.1
  // annealed linearly to 0 over 30 000 iterations. Measured against ReLU variants of the MAML paper's network (docs/training.md,
  // "The main job's defaults"): on 5-point tasks its fine-tuning keeps falling for 10 updates, with no task
  // diverging, where the ReLU network's rises and diverges on some tasks.
  defaults: { hidden: [64, 64], activation: 'tanh', metaBatch: 1, support: 50, supportGrid: true, innerSteps: 5, innerLr: 0.02, metaOptimizer: 'sgd', metaLr: 0.1, metaLrFinal: 0, iterations: 30000 },
  check(config, refuse, shown) {
    const advice = `give --inner-batch ${config.support} or less, or --support ${config.innerBatch} or more`;
    if (config.innerBatch > config.support) refuse('innerBatch', `inner-batch ${shown('innerBatch')} is larger than support ${shown('support')}: ${advice}`);
  },
  metaGradient({ params, config, rng }, batch) {
    return tf.tidy(() => {
      const sgd = innerSgd(config, false);
      let fast: Params = params;
      let losses: tf.Tensor1D | null = null;
      for (const points of minibatches(batch.support, config.innerSteps, config.innerBatch, rng)) ({ params: fast, losses } = sgdStepWithLosses(fast, points, sgd));
      const tasks = batch.support.x.shape[0];
      // reported loss: the last inner minibatch's, before its step (as the Flux post and the peer)
      return { loss: tf.mean(losses!) as tf.Scalar, grads: sumOverTasks(fast, params).map((sum, i) => tf.sub(params[i], tf.div(sum, tasks))) };
    });
  },
});
