// MAML: Finn, Abbeel & Levine, "Model-Agnostic Meta-Learning for Fast Adaptation
// of Deep Networks", ICML 2017 (arXiv:1703.03400), algorithm 2.
//   phi_t  = theta - alpha grad_theta L_t(support_t; theta)      (innerSteps times)
//   theta <- theta - beta grad_theta mean_t L_t(query_t; phi_t)
// Second order, by one of two routes with the same result (test/gradients.test.ts):
// - autodiff: the inner gradients are taken with tf.grads inside the outer
//   tf.variableGrads, which differentiates through them;
// - analytic (default): the chain rule through each step phi' = phi - alpha grad L(phi)
//   is v <- v - alpha H(phi) v, with H v computed by the R-operator (gradients.ts).
// With firstOrder (FOMAML) the inner gradients are held constant: the meta-gradient is
// the query gradient at phi_t, v, taken as it is.
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { adapt, sgdStep } from '../adapt.js';
import type { TrainConfig } from '../config.js';
import { backprop, hessianVectorProduct, sumOverTasks, type Backprop } from '../gradients.js';
import { subtractScaled } from '../kernels/step.js';
import { forward, taskLosses, type Params } from '../model.js';
import { option } from '../options.js';
import { adaptOptions, autodiffMetaGradient, TRAINING, type MetaBatch, type MetaGradient, type MetaLearner, type SharedKey } from './types.js';

export const GRADIENT_ROUTES = ['analytic', 'autodiff'] as const;

/** MAML's own option, shared with Meta-SGD. */
export const mamlOptions = {
  gradients: option({
    flag: '--gradients <route>',
    kind: 'enum',
    help: 'how to differentiate through adaptation: analytic (explicit backpropagation and Hessian-vector products, fast) or autodiff (nested tf.grads inside tf.variableGrads, the generic reference); same result',
    schema: z.enum(GRADIENT_ROUTES),
    default: 'analytic' as (typeof GRADIENT_ROUTES)[number],
  }),
};

/** The shared options of MAML and its variants: the training loop, inner steps on support points, query points. */
export const MAML_USES = [...TRAINING, 'innerSteps', 'support', 'supportGrid', 'query', 'queryGrid'] as const satisfies readonly SharedKey[];

/** Support and query points must differ: on the same grid they would be the same points. */
export function checkQueryGrid(config: TrainConfig, refuse: (key: string, message: string) => void): void {
  if (config.supportGrid && config.queryGrid && config.support === config.query) refuse('queryGrid', 'support and query would be the same grid points');
}

/** metaLoss(params, batch): mean over tasks of the query loss after adaptation (at innerLr, or at Meta-SGD's per-parameter rates). */
export function metaLoss(params: Params, batch: MetaBatch, config: TrainConfig, autodiff = false, rates?: Params): tf.Scalar {
  const adapted = adapt(params, batch.support, { ...adaptOptions(config, autodiff), rates }); // [tasks, ...] each
  const query = batch.query!;
  return tf.mean(taskLosses(forward(adapted, query.x, config.activation), query.y, config.loss));
}

/**
 * The analytic route. Each inner step is phi' = phi - r (.) g(phi), r the scalar inner lr (maml) or learned
 * per-parameter rates (meta-sgd); the reverse sweep is v <- v - H(phi) (r (.) v) (H symmetric, r diagonal), and
 * with rates also d/dr -= sum_t g_t (.) v_t. First order (fomaml) skips the sweep: the inner gradients are constants.
 * Returns the meta-gradient of theta (shapes of params) and, with rates, of the rates.
 */
export function analyticMetaGradient(params: Params, batch: MetaBatch, config: TrainConfig, o: { firstOrder?: boolean; rates?: Params }) {
  const opts = adaptOptions(config);
  const query = batch.query!;
  const { rates } = o;
  const scale = rates ? 1 : opts.lr; // a scalar lr is folded into backpropagation
  const rated = (g: tf.Tensor, i: number) => (rates ? tf.mul(rates[i], g) : g);
  // phi_0 = theta, ..., and for the second-order sweep, each step's point and backprop
  const steps: { at: Params; inner: Backprop }[] = [];
  let fast: Params = params;
  for (let s = 0; s < opts.steps; s++) {
    if (o.firstOrder) fast = sgdStep(fast, batch.support, opts);
    else {
      const inner = backprop(fast, batch.support, opts, scale); // scale g_t(phi_s), [tasks, ...shape]
      steps.push({ at: fast, inner });
      fast = subtractScaled(fast, inner.grads, rates ?? 1);
    }
  }
  // v = d(mean query loss)/d phi, [tasks, ...shape]; with no sweep only its sum over tasks is needed
  const outer = backprop(fast, query, opts, 1 / query.x.shape[0], steps.length === 0);
  let v = outer.grads;
  const rateTerms: Params[] = []; // sum_t g_t (.) v_t of each step, the shapes of the rates
  steps.reverse().forEach(({ at, inner }, j) => {
    if (rates) rateTerms.push(sumOverTasks(inner.grads.map((g, i) => tf.mul(g, v[i])), rates));
    const atTheta = j === steps.length - 1; // the last product feeds only the sum over tasks
    const hv = hessianVectorProduct(at, inner, v.map(rated), opts, scale, atTheta); // H(phi_s) (r (.) v)
    v = subtractScaled(atTheta ? sumOverTasks(v, params) : v, hv, 1);
  });
  return {
    loss: tf.mean(outer.losses) as tf.Scalar,
    grads: sumOverTasks(v, params),
    rateGrads: rates ? rates.map((_, i) => tf.neg(tf.addN(rateTerms.map((t) => t[i])))) : [],
  };
}

export function mamlGradient(params: tf.Variable[], batch: MetaBatch, config: TrainConfig, firstOrder: boolean): MetaGradient {
  if (!firstOrder && (config.gradients === 'autodiff' || config.clipGrad !== null)) return autodiffMetaGradient(() => metaLoss(params, batch, config, true), params);
  return tf.tidy(() => {
    const { loss, grads } = analyticMetaGradient(params, batch, config, { firstOrder });
    return { loss, grads };
  });
}

export const maml: MetaLearner = {
  uses: MAML_USES,
  options: mamlOptions,
  check: checkQueryGrid,
  metaGradient: ({ params, config }, batch) => mamlGradient(params, batch, config, false),
};
