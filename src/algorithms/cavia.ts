// CAVIA (fast context adaptation): Zintgraf, Shiarlis, Kurin, Hofmann & Whiteson, "Fast Context
// Adaptation via Meta-Learning", ICML 2019 (arXiv:1810.03642), algorithm 1. The MLP's first layer
// takes [x, c]: x and --context parameters c, reset to zero for every task and the only thing the
// inner loop adapts (the network theta is shared by all tasks):
//   c_t = 0;  c_t <- c_t - alpha grad_c L_t(support_t; theta, c_t)          (innerSteps times)
//   theta <- theta - beta grad_theta mean_t L_t(query_t; theta, c_t)        (second order, through c_t)
// Their regression setting (lmzintgraf/cavia, regression/arguments.py): 5 context parameters, inner lr 1,
// one step, K = 10 support and 10 query points, 25 tasks, Adam 1e-3, 50 000 iterations, 1-40-40-1 ReLU
// (their code also clamps each task's meta-gradient to [-10, 10]; metalearn does not).
// By autodiff: tf.grad with respect to c inside tf.variableGrads over theta.
//
// c enters the first layer's pre-activation as c W1c (W1 = [W1x; W1c], rows for x then for c), a per-task
// shift of its bias b1. So validation and eval, which fine-tune the MLP of x alone (model.ts atZeroContext),
// adapt c by moving b1 along it: dL/dc = g_b1 W1c^T, so c -= lr dL/dc moves b1 by -lr g_b1 W1c^T W1c.
import * as tf from '@tensorflow/tfjs';
import { backprop } from '../core/gradients.js';
import { clipByGlobalNorm } from '../core/adapt.js';
import type { TrainConfig } from '../config/config.js';
import { MAX_UNITS } from '../options/limits.js';
import { forward, taskLosses, type Params } from '../core/model.js';
import { atMost, count, option } from '../options/option.js';
import type { PointSet } from '../core/tasks.js';
import { checkQueryGrid, MAML_USES } from './maml.js';
import { autodiffMetaGradient, type MetaLearner } from './learner.js';

export const caviaOptions = {
  context: option<number>({ flag: '--context <n>', kind: 'int', help: "cavia's context parameters: inputs of the first layer beside x, zero before adaptation and the only thing it adapts", schema: atMost(count, MAX_UNITS), default: 5 }),
};

/** Each task's points with its context beside x: x [tasks, n, 1], c [tasks, context] -> [tasks, n, 1 + context]. */
export function withContext(x: tf.Tensor3D, c: tf.Tensor2D): tf.Tensor3D {
  const [tasks, n] = x.shape;
  return tf.concat([x, tf.add(tf.expandDims(c, 1), tf.zeros([tasks, n, c.shape[1]]))], 2) as tf.Tensor3D; // broadcast by an add: its gradient is one Sum
}

/** Each task's loss [tasks] at its context. */
function contextLosses(params: Params, points: PointSet, c: tf.Tensor2D, config: TrainConfig): tf.Tensor1D {
  return taskLosses(forward(params, withContext(points.x, c), config.activation), points.y, config.loss);
}

/** The adapted context of every task [tasks, context]: innerSteps steps from zero on its support points, differentiable by an outer tape. */
export function adaptContext(params: Params, support: PointSet, config: TrainConfig): tf.Tensor2D {
  let c = tf.zeros([support.x.shape[0], config.context]) as tf.Tensor2D;
  for (let s = 0; s < config.innerSteps; s++) {
    // summed over tasks: row t of the gradient is task t's own
    const g = tf.grad((ctx: tf.Tensor) => tf.sum(contextLosses(params, support, ctx as tf.Tensor2D, config)))(c);
    const clipped = config.clipGrad === null ? g : clipByGlobalNorm([g], config.clipGrad, true)[0];
    c = tf.sub(c, tf.mul(clipped, config.innerLr)) as tf.Tensor2D;
  }
  return c;
}

export const cavia: MetaLearner = {
  uses: MAML_USES,
  options: caviaOptions,
  // their regression setting
  defaults: { innerLr: 1 },
  check: checkQueryGrid,
  contextInputs: (config) => config.context,
  metaGradient({ params, config }, batch) {
    const query = batch.query!;
    return autodiffMetaGradient(() => tf.mean(contextLosses(params, query, adaptContext(params, batch.support, config), config)) as tf.Scalar, params);
  },
  // validation and eval: steps on the context alone, as the shift c W1c of the first layer's bias it makes
  fineTuning: ({ params }) => ({
    step: (fast, set, _update, opts) => {
      const w1c = tf.slice(params[0], [1, 0], [-1, -1]); // [context, width]
      const gBias = backprop(fast, set.support, opts, opts.lr).grads[1]; // lr dL/db1 [tasks, width]
      const shift = tf.matMul(tf.matMul(gBias, w1c, false, true), w1c); // lr dL/dc W1c [tasks, width]
      return [fast[0], tf.sub(fast[1], shift), ...fast.slice(2)];
    },
    adaptation: 'context',
  }),
};
