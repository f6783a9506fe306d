// MAML: Finn, Abbeel & Levine, "Model-Agnostic Meta-Learning for Fast Adaptation
// of Deep Networks", ICML 2017 (arXiv:1703.03400), algorithm 2.
//   phi_t  = theta - alpha grad_theta L_t(support_t; theta)      (innerSteps times)
//   theta <- theta - beta grad_theta mean_t L_t(query_t; phi_t)
// Its adaptation is plain SGD on every weight (core/adapt.ts). Second order, by one of two routes
// with the same result (test/gradients.test.ts):
// - autodiff: the adaptation's steps, their gradients taken with tf.grads, inside the outer
//   tf.variableGrads, which differentiates through them (learner.ts autodiffSecondOrder);
// - analytic (default): the chain rule through each step phi' = phi - alpha grad L(phi)
//   is v <- v - alpha H(phi) v, with H v computed by the R-operator (core/gradients.ts).
// With firstOrder (FOMAML) the inner gradients are held constant: the meta-gradient is
// the query gradient at phi_t, v, taken as it is.
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { sgdStep } from '../core/adapt.js';
import { backprop, hessianVectorProduct, sumOverTasks, type Backprop } from '../core/gradients.js';
import type { Params } from '../core/model.js';
import { subtractScaled } from '../core/ops.js';
import { option, type ValueNamer, type Values } from '../options/option.js';
import { TRAINING, type SharedConfig, type UsedKey } from '../options/shared.js';
import { autodiffSecondOrder, innerSgd, learner, type MetaBatch, type MetaGradient, type MetaState } from './learner.js';

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

/** The config of MAML and of the variants that share its option. */
export type MamlConfig = SharedConfig & Values<typeof mamlOptions>;

/** The shared options of MAML and its variants: the training loop, inner steps on support points, query points. */
export const MAML_USES = [...TRAINING, 'innerSteps', 'support', 'supportGrid', 'query', 'queryGrid'] as const satisfies readonly UsedKey[];

/** Support and query points must differ: on the same grid they would be the same points. */
export function checkQueryGrid(config: SharedConfig, refuse: (key: string, message: string) => void, shown: ValueNamer): void {
  if (config.supportGrid && config.queryGrid && config.support === config.query) refuse('queryGrid', `support and query would be the same grid points: support ${shown('support')}, query ${shown('query')}; give another --query`);
}

/** Whether a meta-gradient goes by autodiff: asked for, or needed by clipping (the analytic sweep does not clip). */
export const byAutodiff = (config: MamlConfig): boolean => config.gradients === 'autodiff' || config.clipGrad !== null;

/** What the analytic route varies between MAML, FOMAML, Meta-SGD and MAML++. */
export interface InnerRule {
  /** Hold the inner gradients constant (FOMAML; MAML++'s first iterations): no Hessian-vector products. */
  firstOrder?: boolean;
  /** The rates of inner step s, one per param: a tensor of its shape (Meta-SGD's, the same at every step) or a scalar (MAML++'s, one per step and layer); absent: the scalar inner lr. */
  rates?: (step: number) => Params;
  /** The weight of the mean query loss after each inner step (MAML++'s multi-step loss); absent: the last step's alone, at weight 1. */
  lossWeights?: number[];
}

/** Sums g [tasks, ...shape] to the shape of a rate: one copy of the param's shape, or a scalar. */
const reduceTo = (g: tf.Tensor, rate: tf.Tensor) => (rate.rank === 0 ? tf.sum(g) : g.rank > rate.rank ? tf.sum(g, 0) : g);

/**
 * The analytic route. Each inner step is phi' = phi - r (.) g(phi), r the scalar inner lr (maml) or learned rates
 * (meta-sgd, maml++); the outer loss is sum_s w_s mean_t L_t(query_t; phi_{s+1}) (w: the last step's alone, unless
 * lossWeights). The reverse sweep carries v = d(outer loss)/d phi back through each step:
 *   d/dr_s -= sum_t g_t (.) v_t,   v <- v - H(phi_s) (r_s (.) v)   (H symmetric, r diagonal),   v += w_{s-1} d L/d phi_s
 * and with firstOrder skips the Hessian-vector products (the inner gradients are constants; the rates still get
 * theirs). Returns the meta-gradient of theta (shapes of params) and, with rates, of each step's rates (their shapes).
 */
export function analyticMetaGradient(params: Params, batch: MetaBatch, config: SharedConfig, rule: InnerRule) {
  const sgd = innerSgd(config, false);
  const innerSteps = config.innerSteps;
  const query = batch.query!;
  const tasks = query.x.shape[0];
  const { rates, firstOrder } = rule;
  const weights = rule.lossWeights ?? Array.from({ length: innerSteps }, (_, s) => (s === innerSteps - 1 ? 1 : 0));
  const scale = rates ? 1 : sgd.lr; // a scalar lr is folded into backpropagation
  // the steps the sweep needs: their points, backprops and rates (none for plain fomaml: its meta-gradient is a query gradient)
  const swept = !firstOrder || rates !== undefined || rule.lossWeights !== undefined;
  const steps: { at: Params; inner: Backprop; rates: Params | null }[] = [];
  const direct: (Params | null)[] = []; // w_s d(mean query loss)/d phi_{s+1} of the steps before the last, [tasks, ...shape]
  const losses: tf.Tensor[] = [];
  let fast: Params = params;
  for (let s = 0; s < innerSteps; s++) {
    if (!swept) fast = sgdStep(fast, batch.support, sgd);
    else {
      const inner = backprop(fast, batch.support, sgd, scale); // scale g_t(phi_s), [tasks, ...shape]
      const r = rates?.(s) ?? null;
      steps.push({ at: fast, inner, rates: r });
      fast = subtractScaled(fast, inner.grads, r ?? 1);
    }
    direct.push(null);
    if (s < innerSteps - 1 && weights[s] !== 0) {
      const q = backprop(fast, query, sgd, weights[s] / tasks);
      direct[s] = q.grads;
      losses.push(tf.mul(tf.mean(q.losses), weights[s]));
    }
  }
  // v = d(outer loss)/d phi_S, [tasks, ...shape]; with no sweep only its sum over tasks is needed
  const last = weights[innerSteps - 1];
  const outer = backprop(fast, query, sgd, last / tasks, steps.length === 0);
  losses.push(last === 1 ? tf.mean(outer.losses) : tf.mul(tf.mean(outer.losses), last));
  let v = outer.grads;
  const rateGrads: Params[] = [];
  for (let s = steps.length - 1; s >= 0; s--) {
    const { at, inner, rates: r } = steps[s];
    if (r) rateGrads[s] = r.map((rate, i) => tf.neg(reduceTo(tf.mul(inner.grads[i], v[i]), rate)));
    if (!firstOrder) {
      const atTheta = s === 0; // the last product feeds only the sum over tasks
      const hv = hessianVectorProduct(at, inner, r ? v.map((x, i) => tf.mul(r[i], x)) : v, sgd, scale, atTheta); // H(phi_s) (r (.) v)
      v = subtractScaled(atTheta ? sumOverTasks(v, params) : v, hv, 1);
    }
    const d = direct[s - 1];
    if (d) v = v.map((x, i) => tf.add(x, d[i]));
  }
  return {
    loss: (losses.length === 1 ? losses[0] : tf.addN(losses)) as tf.Scalar,
    grads: sumOverTasks(v, params),
    rateGrads,
  };
}

/** The meta-gradient of MAML's objective by the analytic route: second order, or first order (FOMAML). */
export function analyticMamlGradient(state: MetaState, batch: MetaBatch, firstOrder: boolean): MetaGradient {
  return tf.tidy(() => {
    const { loss, grads } = analyticMetaGradient(state.params, batch, state.config, { firstOrder });
    return { loss, grads };
  });
}

export const maml = learner({
  uses: MAML_USES,
  options: mamlOptions,
  check: checkQueryGrid,
  metaGradient: (state, batch) => (byAutodiff(state.config) ? autodiffSecondOrder(state, batch) : analyticMamlGradient(state, batch, false)),
});
