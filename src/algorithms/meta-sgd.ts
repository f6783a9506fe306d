// Meta-SGD: Li, Zhou, Chen & Li, "Meta-SGD: Learning to Learn Quickly for Few-Shot
// Learning", 2017 (arXiv:1707.09835), algorithm 1: the inner rate alpha is learned, one
// per parameter (a tensor the shape of each weight, starting at innerLr everywhere).
//   phi_t  = theta - alpha (.) grad L_t(support_t; theta)          (innerSteps times; the paper: once)
//   (theta, alpha) <- (theta, alpha) - beta grad mean_t L_t(query_t; phi_t)
// Second order, by one of two routes with the same result (test/gradients.test.ts checks both against finite differences):
// - analytic (default): v = d(outer loss)/d phi is swept back through each step
//   phi' = phi - alpha (.) g(phi):  d/d alpha -= sum_t g_t (.) v_t,  v <- v - H(phi) (alpha (.) v)
//   (H symmetric and alpha diagonal), H v by the R-operator (gradients.ts);
// - autodiff: its adaptation's steps (nested tf.grads) inside tf.variableGrads over theta and alpha, as for maml.
import * as tf from '@tensorflow/tfjs';
import { sgdStep } from '../core/adapt.js';
import { paramShapes } from '../core/model.js';
import { familyInputs } from '../tasks/index.js';
import { autodiffSecondOrder, learner, type MetaBatch, type MetaGradient, type MetaState } from './learner.js';
import { analyticMetaGradient, byAutodiff, checkQueryGrid, MAML_USES, mamlOptions } from './maml.js';

/** The analytic meta-gradient: one per param of theta, then one per rate tensor. */
export function analyticMetaSgdGradient(state: MetaState, batch: MetaBatch): MetaGradient {
  const { rates } = state.extras;
  return tf.tidy(() => {
    const { loss, grads, rateGrads } = analyticMetaGradient(state.params, batch, state.config, { rates: () => rates });
    // the same rates at every step: their gradient is the sum of the steps' (last step first, as the sweep met them)
    return { loss, grads: [...grads, ...rates.map((_, i) => tf.addN(rateGrads.map((g) => g[i]).reverse()))] };
  });
}

export const metaSgd = learner({
  uses: MAML_USES,
  options: mamlOptions,
  // its rates are learned for innerSteps steps (one): more steps at them overshoot
  defaults: { valUpdates: 1 },
  check: checkQueryGrid,
  extras: (config) => {
    const shapes = paramShapes(config.hidden, familyInputs(config));
    return { rates: { shapes, init: () => shapes.map((shape) => tf.fill(shape, config.innerLr)) } };
  },
  // every step at the learned rates (lr is not used)
  adaptation: ({ extras }) => ({ kind: 'learned rates', step: (fast, support, at) => sgdStep(fast, support, { ...at.sgd, rates: extras.rates }) }),
  metaGradient: (state, batch) => (byAutodiff(state.config) ? autodiffSecondOrder(state, batch) : analyticMetaSgdGradient(state, batch)),
});
