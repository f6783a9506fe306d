// The analytic pieces (backpropagation, Hessian-vector products, the whole MAML
// meta-gradient) against TF.js's generic autodiff, on several architectures.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { LEARNERS } from '../src/algorithms/index.js';
import { defaultsFor, type TrainConfig } from '../src/config/config.js';
import { autodiffGradients, backprop, hessianVectorProduct, sumOverTasks } from '../src/core/gradients.js';
import { initParams, perTaskCopies } from '../src/core/model.js';
import { Rng } from '../src/core/rng.js';
import { pointSet, sampleInputs, sampleTasks } from '../src/tasks/sine.js';
import { forEachBackend, maxRelativeError, metaState } from './helpers.js';

const ARCHITECTURES: { hidden: number[]; activation: TrainConfig['activation']; loss: TrainConfig['loss'] }[] = [
  { hidden: [40, 40], activation: 'relu', loss: 'mse' },
  { hidden: [16, 12], activation: 'tanh', loss: 'mse' },
  { hidden: [9], activation: 'tanh', loss: 'l1' },
  { hidden: [7, 5, 6], activation: 'relu', loss: 'l1' },
];

function setup(a: (typeof ARCHITECTURES)[number], tasks = 4, k = 6) {
  const config: TrainConfig = { ...defaultsFor('maml'), ...a, metaBatch: tasks, support: k, query: k, innerSteps: 2, innerLr: 0.03 };
  const rng = new Rng(`analytic ${a.hidden}`);
  const t = sampleTasks(rng, config, tasks);
  const support = pointSet(t, sampleInputs(rng, tasks, k, config.xRange, false));
  const query = pointSet(t, sampleInputs(rng, tasks, k, config.xRange, false));
  const params = initParams(config.hidden, rng);
  return { config, sines: t, support, query, params };
}

const flat = (ts: tf.Tensor[]) => ts.flatMap((t) => [...t.dataSync()]);

forEachBackend('analytic gradients against autodiff', () => {
  for (const [a, tasks] of [...ARCHITECTURES.map((a) => [a, 4] as const), [ARCHITECTURES[1], 1] as const, [ARCHITECTURES[3], 1] as const]) {
    const name = `1-${a.hidden.join('-')}-1 ${a.activation} ${a.loss}, ${tasks} task(s)`;
    it(`${name}: backprop equals tf.grads, for shared and per-task params`, () => {
      tf.tidy(() => {
        const { config, support, params } = setup(a, tasks);
        for (const p of [params, perTaskCopies(params, tasks).map((t, i) => tf.add(t, tf.mul(tf.randomUniform(t.shape, -0.1, 0.1, 'float32', i + 1), 1)))]) {
          const mine = flat(backprop(p, support, config, 0.7).grads);
          const theirs = flat(autodiffGradients(p, support, config, 0.7));
          assert.ok(maxRelativeError(mine, theirs) < 1e-4, `max relative error ${maxRelativeError(mine, theirs)}`);
        }
        // summed over tasks: the gradient of the summed loss
        const summed = flat(backprop(params, support, config, 1, true).grads);
        const perTask = flat(sumOverTasks(backprop(params, support, config, 1).grads, params));
        assert.ok(maxRelativeError(summed, perTask) < 1e-4);
      });
    });
    it(`${name}: the R-operator Hessian-vector product equals autodiff's`, () => {
      tf.tidy(() => {
        const { config, support, params } = setup(a, tasks);
        const fast = perTaskCopies(params, tasks);
        const v = fast.map((p, i) => tf.randomUniform(p.shape, -1, 1, 'float32', 100 + i));
        const bp = backprop(fast, support, config, 0.5);
        const perTask = hessianVectorProduct(fast, bp, v, config, 0.5);
        const mine = flat(perTask);
        // summed over tasks in the product itself: the sum of the per-task products
        const summed = flat(hessianVectorProduct(fast, bp, v, config, 0.5, true));
        assert.ok(maxRelativeError(summed, flat(sumOverTasks(perTask, params)), 1e-2) < 1e-4);
        // autodiff: d/dp (0.5 grad L(p) . v) by tf.grads of the tf.grads gradient
        const theirs = flat(
          tf.grads((...ps: tf.Tensor[]) => tf.addN(autodiffGradients(ps, support, config, 0.5).map((g, i) => tf.sum(tf.mul(g, v[i])))))(fast),
        );
        assert.ok(maxRelativeError(mine, theirs, 1e-2) < 1e-3, `max relative error ${maxRelativeError(mine, theirs, 1e-2)}`);
      });
    });
    it(`${name}: analytic MAML meta-gradient equals nested tf.grads inside tf.variableGrads`, () => {
      const { config, sines, support, query, params } = setup(a, tasks);
      const vars = params.map((p) => tf.variable(p));
      const batch = { tasks: sines, support, query };
      const [analytic, autodiff] = (['analytic', 'autodiff'] as const).map((gradients) => LEARNERS.maml.metaGradient!(metaState({ ...config, gradients }, vars), batch, 0));
      assert.ok(Math.abs(analytic.loss.dataSync()[0] - autodiff.loss.dataSync()[0]) < 1e-5 * autodiff.loss.dataSync()[0]);
      const err = maxRelativeError(flat(analytic.grads), flat(autodiff.grads), 1e-2);
      assert.ok(err < 1e-3, `max relative error ${err}`);
      tf.dispose([...vars, ...params, support.x, support.y, query.x, query.y, analytic.loss, autodiff.loss, ...analytic.grads, ...autodiff.grads]);
    });
  }
});
