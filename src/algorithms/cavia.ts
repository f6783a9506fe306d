// CAVIA (fast context adaptation): Zintgraf, Shiarlis, Kurin, Hofmann & Whiteson, "Fast Context
// Adaptation via Meta-Learning", ICML 2019 (arXiv:1810.03642), algorithm 1. The MLP's first layer
// takes [x, c]: x and --context parameters c, reset to zero for every task and the only thing the
// inner loop adapts (the network theta is shared by all tasks):
//   c_t = 0;  c_t <- c_t - alpha grad_c L_t(support_t; theta, c_t)          (innerSteps times)
//   theta <- theta - beta grad_theta mean_t L_t(query_t; theta, c_t)        (second order, through c_t)
// Their regression setting (lmzintgraf/cavia, regression/arguments.py): 5 context parameters, inner lr 1,
// one step, K = 10 support and 10 query points, 25 tasks, Adam 1e-3, 50 000 iterations, 1-40-40-1 ReLU
// (their code also clamps each task's meta-gradient to [-10, 10]; metalearn does not).
//
// c enters the first layer's pre-activation as c W1c (W1 = [W1x; W1c], rows for x then for c), a per-task
// shift of its bias b1. So its adaptation works on the MLP of x alone (model.ts atZeroContext), from c = 0,
// and moves b1 along c: dL/dc = g_b1 W1c^T, so c -= lr dL/dc moves b1 by -lr g_b1 W1c^T W1c. Training
// differentiates through these steps by autodiff (tf.variableGrads over theta, W1c included); validation and
// eval take them one update at a time.
import * as tf from '@tensorflow/tfjs';
import { clipByGlobalNorm } from '../core/adapt.js';
import { backprop } from '../core/gradients.js';
import { isPerTask, perTaskCopies } from '../core/model.js';
import { MAX_UNITS } from '../options/limits.js';
import { atMost, count, option } from '../options/option.js';
import { autodiffSecondOrder, learner } from './learner.js';
import { checkQueryGrid, MAML_USES } from './maml.js';

export const caviaOptions = {
  context: option<number>({ flag: '--context <n>', kind: 'int', help: "cavia's context parameters: inputs of the first layer beside x, zero before adaptation and the only thing it adapts", schema: atMost(count, MAX_UNITS), default: 5 }),
};

export const cavia = learner({
  uses: MAML_USES,
  options: caviaOptions,
  // their regression setting
  defaults: { innerLr: 1 },
  check: checkQueryGrid,
  contextInputs: (config) => config.context,
  // a step on the context alone, as the shift c W1c of the first layer's bias it makes (fast: the MLP of x alone)
  adaptation: ({ params }) => ({
    kind: 'context',
    step(fast, support, { sgd }) {
      const phi = isPerTask(fast) ? fast : perTaskCopies(fast, support.x.shape[0]); // b1 becomes each task's own
      const w1c = tf.slice(params[0], [support.x.shape[2], 0], [-1, -1]); // [context, width], the rows after the d inputs'
      const towardContext = (gBias: tf.Tensor) => tf.matMul(gBias, w1c, false, true); // dL/dc = g_b1 W1c^T [tasks, context]
      // lr dL/dc, clipped per task as the context's gradient when asked (training's --clip-grad)
      const step = sgd.clipGrad === null ? towardContext(backprop(phi, support, sgd, sgd.lr).grads[1]) : tf.mul(clipByGlobalNorm([towardContext(backprop(phi, support, sgd).grads[1])], sgd.clipGrad, true)[0], sgd.lr);
      return [phi[0], tf.sub(phi[1], tf.matMul(step, w1c)), ...phi.slice(2)]; // b1 - lr dL/dc W1c
    },
  }),
  metaGradient: autodiffSecondOrder,
});
