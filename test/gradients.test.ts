// Second-order MAML is exact: checked against the JAX post's closed form and
// against central finite differences of an independent float64 meta-loss, on cpu and wasm.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { mamlGradient, metaLoss, type MetaBatch } from '../src/algorithms/index.js';
import { BASE_DEFAULTS, type TrainConfig } from '../src/config.js';
import { initParams, activate } from '../src/model.js';
import { Rng } from '../src/rng.js';
import { pointSet, sampleInputs, sampleTasks } from '../src/tasks.js';
import { forEachBackend, relativeNormError } from './helpers.js';
import { fromArrays, refMetaLoss, type RefTask } from './reference.js';

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
    // d/dx g(x - 2x) = d/dx (x^2 + 1) = 2x = 4; x0 - 4 = -2. A first-order method would see -(2 * -2) = 4 too,
    // but only a correct second-order term gives the (1 - 2) chain factor: check the value itself.
    const derivative = tf.grad(mamlObjective)(x0).dataSync()[0];
    assert.equal(2 - derivative, -2);
  });
});

function smallConfig(activation: TrainConfig['activation'], more: Partial<TrainConfig> = {}): TrainConfig {
  return { ...BASE_DEFAULTS, hidden: [8, 8], activation, innerSteps: 2, innerLr: 0.05, metaBatch: 3, support: 5, query: 5, ...more };
}

function batchFor(config: TrainConfig, seed: number): MetaBatch {
  const rng = new Rng(seed);
  const tasks = sampleTasks(rng, config, config.metaBatch);
  return {
    support: pointSet(tasks, sampleInputs(rng, tasks.length, config.support, config.xRange, false)),
    query: pointSet(tasks, sampleInputs(rng, tasks.length, config.query, config.xRange, false)),
  };
}

/**
 * The analytic meta-gradient (TF.js, float32) against central finite differences of
 * the float64 reference meta-loss (h = 1e-6), along random directions.
 */
function directionalCheck(config: TrainConfig, firstOrder: boolean) {
  const batch = batchFor(config, 7);
  const params = initParams(config.hidden, new Rng('fd')).map((t) => tf.variable(t));
  const { grads } = mamlGradient(params, batch, config, firstOrder);
  const rows = (t: tf.Tensor) => tf.unstack(t).map((r) => [...r.dataSync()]);
  const [sx, sy, qx, qy] = [batch.support.x, batch.support.y, batch.query!.x, batch.query!.y].map(rows);
  const tasks: RefTask[] = sx.map((_, i) => ({ sx: sx[i], sy: sy[i], qx: qx[i], qy: qy[i] }));
  const base = params.map((p) => [...p.dataSync()]);
  const shapes = params.map((p) => p.shape);
  const loss = (values: number[][]) => refMetaLoss(fromArrays(values, shapes), tasks, config.innerSteps, config.innerLr, config.activation, config.loss);
  const tfLoss = metaLoss(params, batch, config).dataSync()[0];
  const refLoss = loss(base);
  assert.ok(Math.abs(tfLoss - refLoss) / refLoss < 1e-4, `reference meta-loss ${refLoss} differs from metalearn's ${tfLoss}`);
  const rng = new Rng('directions');
  const analytic: number[] = [];
  const numeric: number[] = [];
  const h = 1e-6;
  for (let d = 0; d < 6; d++) {
    const dirs = base.map((v) => v.map(() => rng.uniform(-1, 1)));
    analytic.push(grads.reduce((s, g, i) => s + [...g.dataSync()].reduce((a, v, k) => a + v * dirs[i][k], 0), 0));
    const at = (step: number) => loss(base.map((v, i) => v.map((x, k) => x + step * dirs[i][k])));
    numeric.push((at(h) - at(-h)) / (2 * h));
  }
  return { analytic, numeric };
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
