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
// (MSE, amplitudes to 5) 5 steps drive the learned rates until some tasks' inner loops diverge (README).
// Two routes with the same result (test/gradients.test.ts): analytic (maml.ts's sweep, with per-step rates and
// the multi-step loss) and autodiff (nested tf.grads; first order holds each inner gradient by a zero-gradient identity).
import * as tf from '@tensorflow/tfjs';
import { clipByGlobalNorm, sgdStep } from '../core/adapt.js';
import type { TrainConfig } from '../config/config.js';
import { autodiffGradients } from '../core/gradients.js';
import { subtractScaled } from '../kernels/step.js';
import { forward, paramShapes, taskLosses, type Params } from '../core/model.js';
import { countOrZero, option } from '../options/option.js';
import { analyticMetaGradient, checkQueryGrid, MAML_USES, mamlOptions } from './maml.js';
import { autodiffMetaGradient, type MetaBatch, type MetaGradient, type MetaLearner } from './learner.js';

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

/** An identity whose gradient is zero: the first-order inner gradient, a constant to the outer tape (TF.js has no stopGradient). */
const held = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({ value: tf.clone(args[0] as tf.Tensor), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) }));

/** The outer loss by autodiff: sum_s w_s mean_t L_t(query_t; phi_{s+1}), differentiable in params and rates. */
function autodiffLoss(params: Params, rates: Params, batch: MetaBatch, config: TrainConfig, weights: number[], firstOrder: boolean): tf.Scalar {
  const query = batch.query!;
  const terms: tf.Scalar[] = [];
  let fast = params;
  weights.forEach((w, s) => {
    const g = autodiffGradients(fast, batch.support, config); // [tasks, ...shape]
    const clipped = config.clipGrad === null ? g : clipByGlobalNorm(g, config.clipGrad, true);
    fast = subtractScaled(fast, firstOrder ? clipped.map((t) => held(t) as tf.Tensor) : clipped, ratesAt(rates, s));
    if (w !== 0) terms.push(tf.mul(tf.mean(taskLosses(forward(fast, query.x, config.activation), query.y, config.loss)), w));
  });
  return tf.addN(terms) as tf.Scalar;
}

/** The meta-gradient at an iteration: one per param of theta, then one per rate tensor ([steps] each). */
export function mamlPlusPlusGradient(params: tf.Variable[], rates: tf.Variable[], batch: MetaBatch, config: TrainConfig, iteration: number): MetaGradient {
  const weights = lossWeights(config.innerSteps, config.mslIterations, iteration);
  const firstOrder = iteration < config.firstOrderIterations;
  if (config.gradients === 'autodiff' || config.clipGrad !== null) return autodiffMetaGradient(() => autodiffLoss(params, rates, batch, config, weights, firstOrder), [...params, ...rates]);
  return tf.tidy(() => {
    const { loss, grads, rateGrads } = analyticMetaGradient(params, batch, config, { firstOrder, rates: (s) => ratesAt(rates, s), lossWeights: weights });
    return { loss, grads: [...grads, ...rates.map((_, i) => tf.stack(rateGrads.map((g) => g[i])))] };
  });
}

export const mamlPlusPlus: MetaLearner = {
  uses: MAML_USES,
  options: { ...mamlOptions, ...mamlPlusPlusOptions },
  defaults: { innerSteps: 5, metaLrSchedule: 'cosine', metaLrFinal: 0.00001, valUpdates: 5 },
  check: checkQueryGrid,
  extras: (config) => {
    const shapes = paramShapes(config.hidden).map(() => [config.innerSteps]);
    return { rates: { shapes, init: () => shapes.map((shape) => tf.fill(shape, config.innerLr)) } };
  },
  metaGradient: ({ params, extras, config }, batch, iteration) => mamlPlusPlusGradient(params, extras.rates, batch, config, iteration),
  // validation and eval: update u steps at the rates learned for step u; past the learned steps, plain SGD at lr (the
  // rates' starting value by default): the learned ones are tuned to stop there, and repeated they overshoot
  fineTuning: ({ extras }) => ({
    step: (fast, set, update, opts) => sgdStep(fast, set.support, update < extras.rates[0].shape[0] ? { ...opts, rates: ratesAt(extras.rates, update) } : opts),
    adaptation: 'learned rates',
  }),
};
