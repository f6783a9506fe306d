// Second-order meta-gradients are exact: MAML's checked against the JAX post's closed form,
// and MAML's, Meta-SGD's, DAML's, ANIL's, CAVIA's and MAML++'s against central finite
// differences of an independent float64 meta-loss, on cpu and wasm. CAVIA's reference adapts the
// context inputs themselves; metalearn's adaptation moves the first layer's bias along them: the
// meta-loss and its gradient agree.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { LEARNERS } from '../src/algorithms/index.js';
import { adaptedQueryLoss, innerSgd, type MetaBatch } from '../src/algorithms/learner.js';
import { lossWeights, mamlPlusPlusGradient } from '../src/algorithms/maml-plus-plus.js';
import { defaultsFor, type TrainConfig } from '../src/config/config.js';
import { activate, initParams } from '../src/core/model.js';
import { Rng } from '../src/core/rng.js';
import { pointSet, sampleInputs, sampleTasks, sourceInputValues, type SineTask } from '../src/tasks/sine.js';
import { forEachBackend, metaState, relativeNormError } from './helpers.js';
import { directionalDerivatives, fromArrays, refCaviaMetaLoss, refDamlMetaLoss, refMetaLoss, refMultiStepMetaLoss, type RefDamlTask, type RefTask } from './reference.js';

// The nested-gradient mechanism that the autodiff route (tf.grads inside tf.variableGrads) is built on.
forEachBackend('JAX post numerics check', () => {
  it('g(x) = x^2 + y at x0 = 2, y = 1: MAML objective g(x - g\'(x)) is 5 and x0 - its derivative is -2', () => {
    const y = tf.scalar(1);
    const g = (x: tf.Tensor) => tf.add(tf.square(x), y);
    const mamlObjective = (x: tf.Tensor) => {
      const inner = tf.grad(g)(x); // g'(x) = 2x, kept on the outer tape
      return g(tf.sub(x, inner));
    };
    const x0 = tf.scalar(2);
    assert.equal(mamlObjective(x0).dataSync()[0], 5);
    // d/dx g(x - 2x) = d/dx (x^2 + 1) = 2x = 4, so x0 - 4 = -2. Holding g'(x) constant (first order) would
    // give g'(x0 - g'(x0)) = g'(-2) = -4 instead, and x0 + 4 = 6: the value tells the two apart.
    const derivative = tf.grad(mamlObjective)(x0).dataSync()[0];
    assert.equal(2 - derivative, -2);
    const firstOrder = tf.grad(g)(tf.sub(x0, tf.grad(g)(x0))).dataSync()[0];
    assert.equal(2 - firstOrder, 6);
  });
});

function smallConfig(activation: TrainConfig['activation'], more: Partial<TrainConfig> = {}): TrainConfig {
  return { ...defaultsFor('maml'), hidden: [8, 8], activation, innerSteps: 2, innerLr: 0.05, metaBatch: 3, support: 5, query: 5, ...more };
}

function batchFor(config: TrainConfig, seed: number): MetaBatch {
  const rng = new Rng(seed);
  const tasks = sampleTasks(rng, config, config.metaBatch);
  return {
    tasks,
    support: pointSet(tasks, sampleInputs(rng, tasks.length, config.support, config.xRange, false)),
    query: pointSet(tasks, sampleInputs(rng, tasks.length, config.query, config.xRange, false)),
  };
}

/** Each tensor's values as a plain array; a [tasks, n, 1] tensor's rows, one per task. */
const valuesOf = (ts: tf.Tensor[]) => ts.map((t) => [...t.dataSync()]);
const rows = (t: tf.Tensor) => valuesOf(tf.unstack(t));

function refTasks(batch: MetaBatch): RefTask[] {
  const [sx, sy, qx, qy] = [batch.support.x, batch.support.y, batch.query!.x, batch.query!.y].map(rows);
  return sx.map((_, i) => ({ sx: sx[i], sy: sy[i], qx: qx[i], qy: qy[i] }));
}

function assertSameLoss(tfLoss: tf.Scalar, refLoss: number): void {
  const mine = tfLoss.dataSync()[0];
  assert.ok(Math.abs(mine - refLoss) / refLoss < 1e-4, `reference meta-loss ${refLoss} differs from metalearn's ${mine}`);
}

/**
 * The analytic meta-gradient (TF.js, float32) against central finite differences of
 * the float64 reference meta-loss (h = 1e-6), along random directions.
 */
function directionalCheck(config: TrainConfig, firstOrder: boolean) {
  const batch = batchFor(config, 7);
  const params = initParams(config.hidden, new Rng('fd')).map((t) => tf.variable(t));
  const state = metaState({ ...config, algo: firstOrder ? 'fomaml' : 'maml' }, params);
  const { grads } = LEARNERS[firstOrder ? 'fomaml' : 'maml'].metaGradient!(state, batch, 0);
  const tasks = refTasks(batch);
  const base = valuesOf(params);
  const shapes = params.map((p) => p.shape);
  const loss = (values: number[][]) => refMetaLoss(fromArrays(values, shapes), tasks, config.innerSteps, config.innerLr, config.activation, config.loss);
  assertSameLoss(adaptedQueryLoss(state, batch, innerSgd(config, false)), loss(base));
  return directionalDerivatives(valuesOf(grads), base, loss);
}

const CASES: { name: string; config: (a: TrainConfig['activation']) => TrainConfig }[] = [
  { name: '2 inner steps', config: (a) => smallConfig(a) },
  { name: '3 hidden layers, 3 inner steps, l1 loss', config: (a) => smallConfig(a, { hidden: [6, 5, 7], innerSteps: 3, loss: 'l1', innerLr: 0.1 }) },
];

for (const activation of ['tanh', 'relu'] as const) {
  for (const { name, config } of CASES) {
    forEachBackend(`MAML meta-gradient, ${activation} MLP, ${name}`, () => {
      for (const gradients of ['analytic', 'autodiff'] as const) {
        it(`${gradients}: matches central finite differences (relative error < 1e-2)`, () => {
          const { analytic, numeric } = tf.tidy(() => directionalCheck({ ...config(activation), gradients }, false));
          const err = relativeNormError(analytic, numeric);
          assert.ok(err < 1e-2, `relative error ${err}: analytic ${analytic} vs numeric ${numeric}`);
        });
      }
      it('FOMAML gradient differs measurably from it', () => {
        const { analytic: second } = tf.tidy(() => directionalCheck(config(activation), false));
        const { analytic: first, numeric } = tf.tidy(() => directionalCheck(config(activation), true));
        const gap = relativeNormError(first, numeric);
        assert.ok(gap > 1e-2, `FOMAML is within ${gap} of the true meta-gradient`);
        assert.ok(relativeNormError(second, numeric) < gap / 5);
      });
    });
  }
}

forEachBackend('tanh activation', () => {
  it('is tf.tanh in value and first derivative', () => {
    const x = tf.linspace(-3, 3, 13);
    assert.deepEqual([...activate(x, 'tanh').dataSync()], [...tf.tanh(x).dataSync()]);
    const mine = tf.grad((v: tf.Tensor) => tf.sum(activate(v, 'tanh')))(x).dataSync();
    const theirs = tf.grad((v: tf.Tensor) => tf.sum(tf.tanh(v)))(x).dataSync();
    mine.forEach((v, i) => assert.ok(Math.abs(v - theirs[i]) < 1e-6));
  });
});

/**
 * Meta-SGD's meta-gradient against central differences of the float64 reference, with
 * respect to the initialisation (rates held) and to the rates (initialisation held).
 */
function metaSgdCheck(config: TrainConfig) {
  const batch = batchFor(config, 7);
  const params = initParams(config.hidden, new Rng('fd')).map((t) => tf.variable(t));
  // rates around innerLr, unequal, so that a rate applied to the wrong parameter would show
  const rng = new Rng('rates');
  const rates = params.map((p) => tf.variable(tf.tensor(Float32Array.from({ length: p.size }, () => config.innerLr * rng.uniform(0.5, 1.5)), p.shape)));
  const state = metaState({ ...config, algo: 'meta-sgd' }, params, { rates });
  const grads = valuesOf(LEARNERS['meta-sgd'].metaGradient!(state, batch, 0).grads);
  const tasks = refTasks(batch);
  const shapes = params.map((p) => p.shape);
  const [theta, alpha] = [valuesOf(params), valuesOf(rates)];
  const loss = (t: number[][], a: number[][]) => refMetaLoss(fromArrays(t, shapes), tasks, config.innerSteps, fromArrays(a, shapes), config.activation, config.loss);
  assertSameLoss(adaptedQueryLoss(state, batch, innerSgd(config, false)), loss(theta, alpha));
  const n = params.length;
  return {
    params: directionalDerivatives(grads.slice(0, n), theta, (t) => loss(t, alpha)),
    rates: directionalDerivatives(grads.slice(n), alpha, (a) => loss(theta, a)),
  };
}

for (const activation of ['tanh', 'relu'] as const) {
  forEachBackend(`Meta-SGD meta-gradient, ${activation} MLP, 2 inner steps`, () => {
    for (const gradients of ['analytic', 'autodiff'] as const) {
      it(`${gradients}: with respect to the initialisation and to the rates, matches central finite differences (relative error < 1e-2)`, () => {
        const check = tf.tidy(() => metaSgdCheck({ ...smallConfig(activation), gradients }));
        for (const [what, { analytic, numeric }] of Object.entries(check)) {
          const err = relativeNormError(analytic, numeric);
          assert.ok(err < 1e-2, `${what}: relative error ${err}: analytic ${analytic} vs numeric ${numeric}`);
        }
      });
    }
  });
}

/**
 * DAML's meta-gradient (nested tf.grads through the learned loss) against central
 * differences of the float64 reference, with respect to the MLP and to the adaptation network.
 */
function damlCheck(config: TrainConfig) {
  const batch = batchFor(config, 7);
  const params = initParams(config.hidden, new Rng('fd')).map((t) => tf.variable(t));
  const net = LEARNERS.daml.extras!(config).adaptationNet.init(new Rng('net')).map((t) => tf.variable(t));
  const { loss: tfLoss, grads } = LEARNERS.daml.metaGradient!(metaState(config, params, { adaptationNet: net }, new Rng('sources')), batch, 0);
  const again = new Rng('sources'); // the same draws as metaGradient's
  const sources = Array.from({ length: config.innerSteps }, () => rows(tf.tensor3d(sourceInputValues(again, config, batch.tasks as SineTask[], config.support), [batch.tasks.length, config.support, 1])));
  const tasks: RefDamlTask[] = refTasks(batch).map((t, i) => ({ sources: sources.map((step) => step[i]), qx: t.qx, qy: t.qy }));
  const [shapes, netShapes] = [params.map((p) => p.shape), net.map((p) => p.shape)];
  const [theta, w] = [valuesOf(params), valuesOf(net)];
  const loss = (t: number[][], v: number[][]) => refDamlMetaLoss(fromArrays(t, shapes), fromArrays(v, netShapes), tasks, config.innerLr, config.activation, config.loss);
  assertSameLoss(tfLoss, loss(theta, w));
  const n = params.length;
  const values = valuesOf(grads);
  return {
    params: directionalDerivatives(values.slice(0, n), theta, (t) => loss(t, w)),
    adaptationNet: directionalDerivatives(values.slice(n), w, (v) => loss(theta, v)),
  };
}

for (const activation of ['relu', 'tanh'] as const) {
  forEachBackend(`DAML meta-gradient through the learned loss, ${activation} MLP`, () => {
    it('with respect to the MLP and to the adaptation network, matches central finite differences (relative error < 1e-2)', () => {
      const config = { ...defaultsFor('daml'), activation, hidden: [6, 5], adaptHidden: [5, 4], metaBatch: 3, support: 2, query: 4, innerSteps: 3, innerLr: 0.1 };
      const check = tf.tidy(() => damlCheck(config));
      for (const [what, { analytic, numeric }] of Object.entries(check)) {
        const err = relativeNormError(analytic, numeric);
        assert.ok(err < 1e-2, `${what}: relative error ${err}: analytic ${analytic} vs numeric ${numeric}`);
      }
    });
  });
}

/** Both relative errors of a check under 1e-2. */
function assertChecks(check: Record<string, { analytic: number[]; numeric: number[] }>): void {
  for (const [what, { analytic, numeric }] of Object.entries(check)) {
    const err = relativeNormError(analytic, numeric);
    assert.ok(err < 1e-2, `${what}: relative error ${err}: analytic ${analytic} vs numeric ${numeric}`);
  }
}

/** ANIL's meta-gradient against the reference MAML loss with the body's inner rates at zero and the head's at innerLr. */
function anilCheck(config: TrainConfig) {
  const batch = batchFor(config, 7);
  const params = initParams(config.hidden, new Rng('fd')).map((t) => tf.variable(t));
  const { loss: tfLoss, grads } = LEARNERS.anil.metaGradient!(metaState(config, params), batch, 0);
  const shapes = params.map((p) => p.shape);
  const rates = fromArrays(params.map((p, i) => new Array(p.size).fill(i >= params.length - 2 ? config.innerLr : 0)), shapes);
  const loss = (values: number[][]) => refMetaLoss(fromArrays(values, shapes), refTasks(batch), config.innerSteps, rates, config.activation, config.loss);
  const base = valuesOf(params);
  assertSameLoss(tfLoss, loss(base));
  return { params: directionalDerivatives(valuesOf(grads), base, loss) };
}

for (const activation of ['relu', 'tanh'] as const) {
  forEachBackend(`ANIL meta-gradient through the head's adaptation, ${activation} MLP, 2 inner steps`, () => {
    it('with respect to the body and the head, matches central finite differences (relative error < 1e-2)', () => {
      assertChecks(tf.tidy(() => anilCheck({ ...smallConfig(activation), algo: 'anil', innerLr: 0.2 })));
    });
  });
}

/** CAVIA's meta-gradient (through the context's adaptation) against the reference over [x, context] inputs. */
function caviaCheck(config: TrainConfig) {
  const batch = batchFor(config, 7);
  const params = initParams(config.hidden, new Rng('fd'), 1 + config.context).map((t) => tf.variable(t));
  const { loss: tfLoss, grads } = LEARNERS.cavia.metaGradient!(metaState(config, params), batch, 0);
  const shapes = params.map((p) => p.shape);
  const loss = (values: number[][]) => refCaviaMetaLoss(fromArrays(values, shapes), refTasks(batch), config.context, config.innerSteps, config.innerLr, config.activation, config.loss);
  const base = valuesOf(params);
  assertSameLoss(tfLoss, loss(base));
  return { params: directionalDerivatives(valuesOf(grads), base, loss) };
}

for (const activation of ['relu', 'tanh'] as const) {
  forEachBackend(`CAVIA meta-gradient through the context's adaptation, ${activation} MLP`, () => {
    const config = (more: Partial<TrainConfig> = {}) => ({ ...defaultsFor('cavia'), ...smallConfig(activation), algo: 'cavia' as const, context: 3, innerLr: 0.5, ...more });
    it('2 inner steps: matches central finite differences (relative error < 1e-2)', () => {
      assertChecks(tf.tidy(() => caviaCheck(config())));
    });
  });
}

/** MAML++'s meta-gradient at an iteration of the multi-step loss's annealing, with respect to theta and to the per-step rates. */
function mamlPlusPlusCheck(config: TrainConfig, iteration: number) {
  const batch = batchFor(config, 7);
  const params = initParams(config.hidden, new Rng('fd')).map((t) => tf.variable(t));
  // rates around innerLr, unequal over steps and tensors, so that a rate applied at the wrong step or to the wrong tensor would show
  const rng = new Rng('rates');
  const rates = params.map(() => tf.variable(tf.tensor1d(Array.from({ length: config.innerSteps }, () => config.innerLr * rng.uniform(0.5, 1.5)))));
  const { loss: tfLoss, grads } = mamlPlusPlusGradient(metaState(config, params, { rates }), batch, iteration);
  const weights = lossWeights(config.innerSteps, config.mslIterations, iteration);
  const shapes = params.map((p) => p.shape);
  const [theta, r] = [valuesOf(params), valuesOf(rates)];
  const loss = (t: number[][], rs: number[][]) => refMultiStepMetaLoss(fromArrays(t, shapes), refTasks(batch), weights.map((_, s) => rs.map((q) => q[s])), weights, config.activation, config.loss);
  assertSameLoss(tfLoss, loss(theta, r));
  const values = valuesOf(grads);
  const n = params.length;
  return {
    grads: values,
    check: { params: directionalDerivatives(values.slice(0, n), theta, (t) => loss(t, r)), rates: directionalDerivatives(values.slice(n), r, (q) => loss(theta, q)) },
  };
}

for (const activation of ['relu', 'tanh'] as const) {
  forEachBackend(`MAML++ meta-gradient, ${activation} MLP, 3 inner steps, multi-step loss`, () => {
    const config = (gradients: 'analytic' | 'autodiff', firstOrderIterations = 0) => ({ ...defaultsFor('maml++'), ...smallConfig(activation), algo: 'maml++' as const, innerSteps: 3, mslIterations: 10, firstOrderIterations, gradients });
    it('the loss weights anneal from uniform toward the last step, then the last step alone', () => {
      assert.deepEqual(lossWeights(3, 10, 0), [1 / 3, 1 / 3, 1 / 3]);
      const w = lossWeights(3, 10, 4);
      assert.ok(w[0] < 1 / 3 && w[2] > 1 / 3 && Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-12, `${w}`);
      assert.deepEqual(lossWeights(3, 10, 10), [0, 0, 1]);
    });
    for (const gradients of ['analytic', 'autodiff'] as const) {
      it(`${gradients}: with respect to the initialisation and to the per-step rates, matches central finite differences (relative error < 1e-2)`, () => {
        assertChecks(tf.tidy(() => mamlPlusPlusCheck(config(gradients), 4).check));
      });
    }
    it('first order (derivative-order annealing): both routes agree, and differ measurably from the true meta-gradient', () => {
      tf.tidy(() => {
        const [analytic, autodiff] = (['analytic', 'autodiff'] as const).map((g) => mamlPlusPlusCheck(config(g, 5), 4));
        const flat = (v: number[][]) => v.flat();
        const agree = relativeNormError(flat(analytic.grads), flat(autodiff.grads));
        assert.ok(agree < 1e-4, `the routes differ by ${agree}`);
        const gap = relativeNormError(analytic.check.params.analytic, analytic.check.params.numeric);
        assert.ok(gap > 1e-2, `first order is within ${gap} of the true meta-gradient`);
      });
    });
  });
}
