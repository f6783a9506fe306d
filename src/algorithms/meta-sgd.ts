// Meta-SGD: Li, Zhou, Chen & Li, "Meta-SGD: Learning to Learn Quickly for Few-Shot
// Learning", 2017 (arXiv:1707.09835), algorithm 1: the inner rate alpha is learned, one
// per parameter (a tensor the shape of each weight, starting at innerLr everywhere).
//   phi_t  = theta - alpha (.) grad L_t(support_t; theta)          (innerSteps times; the paper: once)
//   (theta, alpha) <- (theta, alpha) - beta grad mean_t L_t(query_t; phi_t)
// Second order, by one of two routes with the same result (test/meta-sgd.test.ts):
// - analytic (default): v = d(outer loss)/d phi is swept back through each step
//   phi' = phi - alpha (.) g(phi):  d/d alpha -= sum_t g_t (.) v_t,  v <- v - H(phi) (alpha (.) v)
//   (H symmetric and alpha diagonal), H v by the R-operator (gradients.ts);
// - autodiff: nested tf.grads inside tf.variableGrads over theta and alpha, as for maml.
import * as tf from '@tensorflow/tfjs';
import { sgdStep } from '../adapt.js';
import type { TrainConfig } from '../config.js';
import { backprop, hessianVectorProduct, sumOverTasks, type Backprop } from '../gradients.js';
import { paramShapes, residualLosses, type Params } from '../model.js';
import { metaLoss } from './maml.js';
import { adaptOptions, type MetaBatch, type MetaGradient, type MetaLearner } from './types.js';

/** The meta-gradient: one per param of theta, then one per rate tensor. */
export function metaSgdGradient(params: tf.Variable[], rates: tf.Variable[], batch: MetaBatch, config: TrainConfig): MetaGradient {
  if (config.gradients === 'autodiff' || config.clipGrad !== null) {
    const vars = [...params, ...rates];
    const { value, grads } = tf.variableGrads(() => metaLoss(params, batch, config, true, rates), vars);
    return { loss: value, grads: vars.map((v) => grads[v.name]) };
  }
  return tf.tidy(() => {
    const opts = adaptOptions(config);
    const query = batch.query!;
    const steps: { at: Params; inner: Backprop }[] = []; // phi_s and the backprop of g(phi_s)
    let fast: Params = params;
    for (let s = 0; s < config.innerSteps; s++) {
      const inner = backprop(fast, batch.support, opts); // g_t(phi_s), [tasks, ...shape]
      steps.push({ at: fast, inner });
      fast = fast.map((p, i) => tf.sub(p, tf.mul(rates[i], inner.grads[i])));
    }
    const outer = backprop(fast, query, opts, 1 / query.x.shape[0]); // v = d(mean query loss)/d phi
    let v = outer.grads;
    const rateTerms: Params[] = []; // sum_t g_t (.) v_t of each step, the shapes of the rates
    for (const { at, inner } of steps.reverse()) {
      rateTerms.push(sumOverTasks(inner.grads.map((g, i) => tf.mul(g, v[i])), rates));
      const hv = hessianVectorProduct(at, inner, v.map((g, i) => tf.mul(rates[i], g)), opts, 1);
      v = v.map((g, i) => tf.sub(g, hv[i]));
    }
    const rateGrads = rates.map((_, i) => tf.neg(tf.addN(rateTerms.map((t) => t[i]))));
    return { loss: tf.mean(residualLosses(outer.residual, config.loss)) as tf.Scalar, grads: [...sumOverTasks(v, params), ...rateGrads] };
  });
}

export const metaSgd: MetaLearner = {
  usesQuery: true,
  trains: true,
  extras: (config) => {
    const shapes = paramShapes(config.hidden);
    return { rates: { shapes, init: () => shapes.map((shape) => tf.fill(shape, config.innerLr)) } };
  },
  metaGradient: (params, batch, config, _rng, extras) => metaSgdGradient(params, extras.rates, batch, config),
  // eval and validation: one step of the learned rates per update (lr is not used)
  fineTuning: (extras) => ({ step: (fast, set, _update, opts) => sgdStep(fast, set.support, { ...opts, rates: extras.rates }), adaptation: 'learned rates' }),
};
