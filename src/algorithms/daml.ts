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
import { clipByGlobalNorm, type AdaptOptions } from '../core/adapt.js';
import { drawnForWhole, type EvalSet } from '../core/fine-tune.js';
import { forward, forwardLayers, initParams, isPerTask, paramShapes, perTaskCopies, residualLosses, taskLosses, type Activation, type Params } from '../core/model.js';
import { Rng } from '../core/rng.js';
import { sampleSourceInputs, sourceInputValues } from '../core/tasks.js';
import { count, option, rangeList } from '../options/option.js';
import { z } from 'zod';
import { autodiffMetaGradient, TRAINING, type MetaLearner } from './learner.js';

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
export function unlabeledStep(fast: Params, net: Params, x: tf.Tensor3D, opts: Pick<AdaptOptions, 'lr' | 'activation' | 'clipGrad'>): Params {
  const phi = isPerTask(fast) ? fast : perTaskCopies(fast, x.shape[0]);
  // summed over tasks: each task's gradient is its own slice of the per-task params
  const grads = tf.grads((...ps: tf.Tensor[]) => tf.sum(adaptationLosses(ps, net, x, opts.activation)))(phi);
  const clipped = opts.clipGrad === null ? grads : clipByGlobalNorm(grads, opts.clipGrad, true);
  return phi.map((p, i) => tf.sub(p, tf.mul(clipped[i], opts.lr)));
}

/** The unlabeled inputs of an eval set's update u, [tasks * K]: drawn from the set's seed for all its tasks, the same for every model and however the tasks are split. */
function sourceInputValuesOf(set: EvalSet, update: number): Float32Array {
  const n = set.support.x.shape[1];
  return drawnForWhole(set, `source inputs ${update}`, n, (whole) => sourceInputValues(new Rng(`${whole.seed}:source inputs ${update}`), whole.family, whole.tasks, n));
}

export const daml: MetaLearner = {
  uses: [...TRAINING, 'innerSteps', 'support', 'query', 'queryGrid'],
  options: damlOptions,
  // the PyTorch post's experiment: target sin(x) or sin(x + pi) on [-2pi, 2pi], one unlabeled source input per
  // inner step from [pi/4, pi/2] (phase 0) or [-pi/2, -pi/4] (phase pi), 5 steps of 0.03, an L1 outer loss
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
  },
  check(config, refuse) {
    if (!config.phases || config.sourceRanges?.length !== config.phases.length) {
      refuse('sourceRanges', `daml needs one source range per phase of --phases (${config.phases?.length ?? 'none'} phase(s), ${config.sourceRanges?.length ?? 'no'} range(s))`);
    }
  },
  extras: (config) => {
    const inputs = 1 + config.hidden.reduce((a, b) => a + b, 0); // f and every hidden activation
    return { adaptationNet: { shapes: paramShapes(config.adaptHidden, inputs), init: (rng) => initParams(config.adaptHidden, rng, inputs) } };
  },
  metaGradient({ params, extras, config, rng }, batch) {
    const net = extras.adaptationNet;
    const query = batch.query!;
    const opts = { lr: config.innerLr, activation: config.activation, clipGrad: config.clipGrad };
    const sources = Array.from({ length: config.innerSteps }, () => sampleSourceInputs(rng, config, batch.tasks, config.support)); // [tasks, support, 1] per step
    try {
      return autodiffMetaGradient(() => {
        const adapted = sources.reduce<Params>((fast, x) => unlabeledStep(fast, net, x, opts), params);
        return tf.mean(taskLosses(forward(adapted, query.x, config.activation), query.y, config.loss)) as tf.Scalar;
      }, [...params, ...net]);
    } finally {
      tf.dispose(sources);
    }
  },
  // eval and validation: steps down the learned loss at fresh unlabeled inputs (K per step)
  fineTuning: ({ extras }) => ({
    step: (fast, set, update, opts) => unlabeledStep(fast, extras.adaptationNet, tf.tensor3d(sourceInputValuesOf(set, update), [set.tasks.length, set.support.x.shape[1], 1]), opts),
    adaptation: 'learned loss',
    inputs: sourceInputValuesOf,
  }),
};
