// DAML, domain-adaptive meta-learning: Yu, Finn et al., "One-Shot Imitation from Observing
// Humans via Domain-Adaptive Meta-Learning", RSS 2018 (arXiv:1802.01557), on the sine
// experiment of the PyTorch post "Meta Learning in PyTorch" (2018). The inner
// loop sees no labels. It descends a learned adaptation loss, a second network N_w (ReLU,
// --adapt-hidden) over the MLP's output and hidden activations at unlabeled inputs u drawn
// from the task's source domain, new ones at every step:
//   phi_t  <- phi_t - alpha grad_phi mean_u |N_w([f(u), h_{L-1}(u), ..., h_1(u); phi_t])|   (innerSteps times, phi_t = theta first)
//   (theta, w) <- (theta, w) - beta grad mean_t L_t(query_t; phi_t)      (labeled target-domain points)
// Second order through both networks: nested tf.grads inside tf.variableGrads (relu, abs,
// matMul and concat differentiate twice correctly in TF.js; tanh is model.ts's own). The
// batch's labeled support points are not used.
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { clipByGlobalNorm, type SgdOptions } from '../core/adapt.js';
import { forward, forwardLayers, initParams, isPerTask, paramShapes, perTaskCopies, residualLosses, type Activation, type Params } from '../core/model.js';
import { count, option, rangeList } from '../options/option.js';
import { TRAINING } from '../options/shared.js';
import { sineOptions, sourceInputValues, type SineSettings, type SineTask } from '../tasks/sine.js';
import { autodiffSecondOrder, learner } from './learner.js';

export const damlOptions = {
  sourceRanges: option({
    flag: '--source-ranges <list>',
    kind: 'numbers',
    help: "the source domain of each of --phases, lo,hi per phase (e.g. pi/4,pi/2,-pi/2,-pi/4): a task's unlabeled inputs are drawn from its phase's range",
    schema: rangeList.nullable(),
    default: null as [number, number][] | null,
  }),
  adaptHidden: option<number[]>({ flag: '--adapt-hidden <sizes>', kind: 'ints', help: "hidden widths of the adaptation-loss network (ReLU) over the MLP's output and hidden activations", schema: z.array(count).min(1, 'needs at least one hidden layer').max(16), default: [32, 32] }),
};

/**
 * The learned adaptation loss of each task [tasks] at its unlabeled inputs x [tasks, n, 1]:
 * mean over its inputs of |N_w(f, h_{L-1}, ..., h_1)|, the post's L1 loss of N_w against 0.
 */
export function adaptationLosses(params: Params, net: Params, x: tf.Tensor3D, activation: Activation): tf.Tensor1D {
  const outputs = forwardLayers(params, x, activation); // x, h_1, ..., h_{L-1}, f
  const features = tf.concat(outputs.slice(1).reverse(), 2) as tf.Tensor3D; // [tasks, n, 1 + sum(hidden)], the post's order
  return residualLosses(forward(net, features, 'relu'), 'l1');
}

/** One step of every task down its learned loss: per-task phi [tasks, ...] (shared theta is copied per task first). */
export function unlabeledStep(fast: Params, net: Params, x: tf.Tensor3D, sgd: Pick<SgdOptions, 'lr' | 'activation' | 'clipGrad'>): Params {
  const phi = isPerTask(fast) ? fast : perTaskCopies(fast, x.shape[0]);
  // summed over tasks: each task's gradient is its own slice of the per-task params
  const grads = tf.grads((...ps: tf.Tensor[]) => tf.sum(adaptationLosses(ps, net, x, sgd.activation)))(phi);
  const clipped = sgd.clipGrad === null ? grads : clipByGlobalNorm(grads, sgd.clipGrad, true);
  return phi.map((p, i) => tf.sub(p, tf.mul(clipped[i], sgd.lr)));
}

export const daml = learner({
  uses: [...TRAINING, 'innerSteps', 'support', 'query', 'queryGrid'],
  // its source domains belong to the sine family's discrete phases: it reads that family's options, and runs on it alone
  options: { ...sineOptions, ...damlOptions },
  // the PyTorch post's experiment: target sin(x) or sin(x + pi) on [-2pi, 2pi], one unlabeled source input per
  // inner step from [pi/4, pi/2] (phase 0) or [-pi/2, -pi/4] (phase pi), 5 steps of 0.03, an L1 outer loss, ReLU
  defaults: {
    amplitude: [1, 1],
    phases: [0, Math.PI],
    xRange: [-2 * Math.PI, 2 * Math.PI],
    sourceRanges: [[Math.PI / 4, Math.PI / 2], [-Math.PI / 2, -Math.PI / 4]],
    support: 1,
    valSamples: 1,
    query: 4,
    innerSteps: 5,
    innerLr: 0.03,
    loss: 'l1',
    hidden: [32, 32],
    activation: 'relu',
  },
  check(config, refuse, shown) {
    if (config.family !== 'sine') refuse('family', `daml adapts from unlabeled inputs drawn from each task's source domain, which the sine family's discrete phases define: it runs on --family sine, not ${config.family}`);
    if (!config.phases || config.sourceRanges?.length !== config.phases.length) {
      const count = (list: unknown[] | null, what: string) => `${list?.length ?? 'no'} ${what}(s)`;
      refuse('sourceRanges', `daml needs one source range per phase: ${count(config.phases, 'phase')} in --phases ${shown('phases')}, ${count(config.sourceRanges, 'range')} in --source-ranges ${shown('sourceRanges')}`);
    }
  },
  extras: (config) => {
    const inputs = 1 + config.hidden.reduce((a, b) => a + b, 0); // f and every hidden activation
    return { adaptationNet: { shapes: paramShapes(config.adaptHidden, inputs), init: (rng) => initParams(config.adaptHidden, rng, inputs) } };
  },
  // a step down the learned loss at the step's unlabeled inputs, drawn from each task's source domain (new ones
  // every step: `support` of them per task in training, K in validation and eval); the labeled support points are not read
  adaptation: ({ extras }) => ({
    kind: 'learned loss',
    step: (fast, _support, at) => unlabeledStep(fast, extras.adaptationNet, at.unlabeled!, at.sgd),
    unlabeledInputs: (rng, family, tasks, n) => sourceInputValues(rng, family as SineSettings, tasks as SineTask[], n),
  }),
  metaGradient: autodiffSecondOrder,
});
