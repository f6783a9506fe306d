// MAML++: Antoniou, Edwards & Storkey, "How to train your MAML", ICLR 2019 (arXiv:1810.09502),
// section 4, the parts that apply to an MLP (batch-norm ones do not):
// - LSLR: learned inner rates, one per param tensor (each layer's weights, each layer's biases) and per inner
//   step, r_{s,i}, all starting at innerLr:   phi_{s+1} = phi_s - r_s (.) grad L_t(support_t; phi_s), s = 0..S-1
// - MSL, the multi-step loss: the outer loss is sum_s w_s mean_t L_t(query_t; phi_{s+1}), its weights w annealed
//   from 1/S each toward the last step over the first --msl-iterations, then the last step's loss alone (their
//   code's get_per_step_loss_importance_vector, per iteration instead of per epoch; see lossWeights);
// - DA, derivative-order annealing: first order (the inner gradients held constant; the rates still learn) for the
//   first --first-order-iterations, then second order;
// - CA: cosine annealing of the meta learning rate from --meta-lr to --meta-lr-final (--meta-lr-schedule cosine).
//   (theta, r) <- (theta, r) - beta_i grad_{theta, r} sum_s w_s(i) mean_t L_t(query_t; phi_{s+1})
// Eval steps at the learned rates for the learned steps, then by plain SGD at its lr. Their defaults: 5 inner steps,
// Adam 1e-3 annealed to 1e-5, the multi-step loss over 15 epochs (their parser's default) and first order for 80 of
// 150 (their mini-ImageNet configs), epochs of 500 iterations: 7500 and 40 000 iterations here. On sine regression
// (MSE, amplitudes to 5) 5 steps drive the learned rates until some tasks' inner loops diverge (docs/training.md).
// Two routes with the same result (test/gradients.test.ts): analytic (maml.ts's sweep, with per-step rates and
// the multi-step loss) and autodiff (its adaptation's steps, nested tf.grads; first order holds each inner gradient).
import * as tf from '@tensorflow/tfjs';
import { sgdStep } from '../core/adapt.js';
import { atZeroContext, forward, paramShapes, taskLosses, type Params } from '../core/model.js';
import { countOrZero, option, type Values } from '../options/option.js';
import { autodiffMetaGradient, innerSgd, learnedTensors, learner, type MetaBatch, type MetaGradient, type MetaState } from './learner.js';
import { analyticMetaGradient, byAutodiff, checkQueryGrid, MAML_USES, mamlOptions, type MamlConfig } from './maml.js';

export const mamlPlusPlusOptions = {
  mslIterations: option<number>({ flag: '--msl-iterations <n>', kind: 'int', help: "maml++'s multi-step loss: for the first n iterations the outer loss weighs the query loss after every inner step, from 1/steps each toward the last step; after them (and with 0) the last step's alone", schema: countOrZero, default: 7500 }),
  firstOrderIterations: option<number>({ flag: '--first-order-iterations <n>', kind: 'int', help: "maml++'s derivative-order annealing: the first n iterations hold the inner gradients constant (first order), the rest differentiate through them", schema: countOrZero, default: 40000 }),
};

/**
 * The weights of the query losses after inner steps 1..S at an iteration (their code, per iteration): each
 * non-final weight falls from 1/S by i / (S n) to a floor of 0.03 / S, the final one rises to match; from
 * iteration n on, the final step alone.
 */
export function lossWeights(steps: number, mslIterations: number, iteration: number): number[] {
  if (iteration >= mslIterations || steps === 1) return Array.from({ length: steps }, (_, s) => (s === steps - 1 ? 1 : 0));
  const decay = iteration / steps / mslIterations;
  const floor = 0.03 / steps;
  return Array.from({ length: steps }, (_, s) => (s < steps - 1 ? Math.max(1 / steps - decay, floor) : Math.min(1 / steps + (steps - 1) * decay, 1 - (steps - 1) * floor)));
}

/** Step s's rates, one scalar per param, from the learned [steps] tensors. */
export function ratesAt(rates: Params, step: number): Params {
  return rates.map((r) => tf.reshape(tf.slice(r, [step], [1]), []));
}

type MamlPlusPlusConfig = MamlConfig & Values<typeof mamlPlusPlusOptions>;

/** The outer loss by autodiff: sum_s w_s mean_t L_t(query_t; phi_{s+1}), differentiable in params and rates. */
function autodiffLoss(state: MetaState<MamlPlusPlusConfig>, batch: MetaBatch, weights: number[], firstOrder: boolean): tf.Scalar {
  const { config, adaptation } = state;
  const query = batch.query!;
  const sgd = { ...innerSgd(config, true), holdGradients: firstOrder };
  const terms: tf.Scalar[] = [];
  let fast: Params = atZeroContext(state.params, batch.support.x.shape[2]);
  weights.forEach((w, s) => {
    fast = adaptation.step(fast, batch.support, { index: s, sgd });
    if (w !== 0) terms.push(tf.mul(tf.mean(taskLosses(forward(fast, query.x, config.activation), query.y, config.loss)), w));
  });
  return tf.addN(terms) as tf.Scalar;
}

/** The meta-gradient at an iteration: one per param of theta, then one per rate tensor ([steps] each). */
export function mamlPlusPlusGradient(state: MetaState<MamlPlusPlusConfig>, batch: MetaBatch, iteration: number): MetaGradient {
  const { config, params } = state;
  const { rates } = state.extras;
  const weights = lossWeights(config.innerSteps, config.mslIterations, iteration);
  const firstOrder = iteration < config.firstOrderIterations;
  if (byAutodiff(config)) return autodiffMetaGradient(() => autodiffLoss(state, batch, weights, firstOrder), learnedTensors(state));
  return tf.tidy(() => {
    const { loss, grads, rateGrads } = analyticMetaGradient(params, batch, config, { firstOrder, rates: (s) => ratesAt(rates, s), lossWeights: weights });
    return { loss, grads: [...grads, ...rates.map((_, i) => tf.stack(rateGrads.map((g) => g[i])))] };
  });
}

export const mamlPlusPlus = learner({
  uses: MAML_USES,
  options: { ...mamlOptions, ...mamlPlusPlusOptions },
  defaults: { innerSteps: 5, metaLrSchedule: 'cosine', metaLrFinal: 0.00001, valUpdates: 5 },
  check: checkQueryGrid,
  extras: (config) => {
    const shapes = paramShapes(config.hidden).map(() => [config.innerSteps]);
    return { rates: { shapes, init: () => shapes.map((shape) => tf.fill(shape, config.innerLr)) } };
  },
  // step s at the rates learned for step s; past the learned steps (eval's further updates), plain SGD at lr (the rates'
  // starting value by default): the learned ones are tuned to stop there, and repeated they overshoot
  adaptation: ({ extras }) => ({
    kind: 'learned rates',
    step: (fast, support, at) => sgdStep(fast, support, at.index < extras.rates[0].shape[0] ? { ...at.sgd, rates: ratesAt(extras.rates, at.index) } : at.sgd),
  }),
  metaGradient: (state, batch, iteration) => mamlPlusPlusGradient(state, batch, iteration),
});
