// Evaluation statistics: known answers, confidence intervals that shrink with more
// tasks, and agreement with an independent float64 re-implementation that reads the
// checkpoint files itself.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../src/run/checkpoint.js';
import { defaultsFor } from '../src/config/config.js';
const BASE = defaultsFor('maml');
/** The sine family's held-out test tasks of a config. */
const makeEvalSet = (settings: SineSettings, options: Omit<HeldOutOptions, 'split'>) => sineHeldOut(settings, { ...options, split: 'test' });
import { fineTuningSgd, sgdAdaptation } from '../src/core/adapt.js';
import { fineTune, disposeEvalSet, GRID_POINTS } from '../src/core/fine-tune.js';
import { summarize } from '../src/core/stats.js';
import { paramShapes } from '../src/core/model.js';
import { Rng } from '../src/core/rng.js';
import { divergenceBound, sampleTasks, sineValue, sineHeldOut, type SineSettings, type SineTask } from '../src/tasks/sine.js';
import type { HeldOutOptions } from '../src/tasks/family.js';
import { resolveEvalConfig } from '../src/eval/options.js';
import { evaluateCheckpoints } from '../src/eval/report.js';
import { train } from '../src/train/loop.js';
import { forEachBackend, runFiles } from './helpers.js';
import { fromArrays, gradOf, lossOf } from './reference.js';

const scratch = mkdtempSync(join(tmpdir(), 'metalearn-eval-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** An MLP whose every weight is 0 but the output bias c: it predicts c everywhere. */
function constantModel(hidden: number[], c: number): tf.Tensor[] {
  const shapes = paramShapes(hidden);
  return shapes.map((s, i) => (i === shapes.length - 1 ? tf.fill(s, c) : tf.zeros(s)));
}

describe('task draws', () => {
  before(() => tf.setBackend('cpu'));
  it('a fixed frequency draws nothing (the tasks of w = 1 are those of w = 2 but for w); a range draws w uniformly within it', () => {
    const draw = (frequency: [number, number]) => sampleTasks(new Rng(9), { ...BASE, frequency }, 2000);
    const [one, two, range] = [draw([1, 1]), draw([2, 2]), draw([0.8, 1.2])];
    assert.deepEqual(two.map(({ amplitude, phase }) => [amplitude, phase]), one.map(({ amplitude, phase }) => [amplitude, phase]));
    assert.ok(one.every((t) => t.frequency === 1) && two.every((t) => t.frequency === 2));
    const w = range.map((t) => t.frequency);
    assert.ok(w.every((v) => v >= 0.8 && v < 1.2));
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    assert.ok(Math.abs(mean - 1) < 0.01 && Math.min(...w) < 0.81 && Math.max(...w) > 1.19, `w: mean ${mean}, from ${Math.min(...w)} to ${Math.max(...w)}`);
    assert.equal(sineValue({ amplitude: 2, phase: 0.5, frequency: 1.5 }, 0.7), 2 * Math.sin(1.5 * 0.7 + 0.5));
  });

  it('asking for random query points changes no other draw: same tasks, same support points', () => {
    const [plain, withQuery] = [false, true].map((randomQuery) => makeEvalSet(BASE, { tasks: 50, samples: 5, seed: 12, randomQuery }));
    assert.deepEqual(withQuery.tasks, plain.tasks);
    assert.deepEqual(withQuery.support.x.dataSync(), plain.support.x.dataSync());
    assert.equal(plain.query, null);
    assert.deepEqual(withQuery.query!.x.shape, [50, 5, 1]);
    const qx = withQuery.query!.x.dataSync();
    assert.ok(qx.every((x) => x >= -5 && x <= 5) && qx.some((x, i) => x !== withQuery.support.x.dataSync()[i]), 'fresh points of the x range');
    [plain, withQuery].forEach(disposeEvalSet);
  });
});

describe('eval --points', () => {
  before(() => tf.setBackend('cpu'));
  it("fine-tunes one wave on its values at the given x, --samples their count; refused without --wave or with another --samples", () => {
    const settings = resolveEvalConfig({ wave: [2, 0.5], points: [1, -2.5, 3] });
    assert.equal(settings.samples, 3);
    const set = makeEvalSet(BASE, { tasks: 1, task: { amplitude: 2, phase: 0.5, frequency: 1 }, samples: 3, seed: 1, supportX: settings.points });
    assert.deepEqual([...set.support.x.dataSync()], [1, -2.5, 3]);
    set.support.y.dataSync().forEach((y, i) => assert.ok(Math.abs(y - 2 * Math.sin([1, -2.5, 3][i] + 0.5)) < 1e-6));
    disposeEvalSet(set);
    assert.throws(() => resolveEvalConfig({ points: [1] }), /--points\) needs --wave/);
    assert.throws(() => resolveEvalConfig({ wave: [1, 0], points: [1, 2], samples: 3 }), /'samples' \(--samples\) is 3, and --points gives 2 points/);
  });
});

describe('divergence is data', () => {
  it('tasks whose loss is not finite or above the bound are counted and left out of the mean; the median counts them as the largest', () => {
    const s = summarize([1, 2, Infinity, NaN, 5000, 3], 1000);
    assert.deepEqual([s.n, s.diverged, s.mean, s.median], [6, 3, 2, Infinity]); // the median of 1, 2, 3 and three beyond them
    assert.equal(summarize([1, 2, 3, 4], 1000).median, 2.5);
    const all = summarize([Infinity, NaN], 1000);
    assert.deepEqual([all.diverged, Number.isNaN(all.mean), all.median], [2, true, Infinity]);
    assert.equal(summarize([-Infinity, 1]).diverged, 1, 'not finite, whatever the bound');
    assert.equal(divergenceBound({ ...BASE, amplitude: [0.1, 5] }), 1250);
  });
});

forEachBackend('evaluation statistics', (backend) => {
  it('a model exact for the family (A = 0, predicting 0) has zero loss after every update', () => {
    const set = makeEvalSet({ ...BASE, amplitude: [0, 0] }, { tasks: 20, samples: 5, seed: 1 });
    const { losses } = fineTune(constantModel([8, 8], 0), set, { updates: 4, adaptation: sgdAdaptation, sgd: fineTuningSgd(0.1, 'mse', 'relu') });
    assert.equal(losses.length, 5);
    for (const l of losses) assert.equal(summarize(l).mean, 0);
    disposeEvalSet(set);
  });

  it('a constant prediction c on A = 0 tasks: MSE c^2 (1 - 2 lr)^(2u) after u updates, CI 0', () => {
    const c = 1.5;
    const lr = 0.1;
    const set = makeEvalSet({ ...BASE, amplitude: [0, 0] }, { tasks: 30, samples: 7, seed: 2 });
    const { losses } = fineTune(constantModel([8, 8], c), set, { updates: 3, adaptation: sgdAdaptation, sgd: fineTuningSgd(lr, 'mse', 'relu') });
    losses.forEach((l, u) => {
      const s = summarize(l);
      const expected = c ** 2 * (1 - 2 * lr) ** (2 * u);
      assert.ok(Math.abs(s.mean - expected) < 1e-5 * expected, `after ${u}: ${s.mean} vs ${expected}`);
      assert.ok(s.ci95 < 1e-5);
    });
    disposeEvalSet(set);
  });

  it('right phase: a fit equally near two phases (predicting 0 for sin and -sin) is no hit', () => {
    const set = makeEvalSet({ ...BASE, amplitude: [1, 1], phases: [0, Math.PI] }, { tasks: 10, samples: 4, seed: 4 });
    const { phaseHits } = fineTune(constantModel([8], 0), set, { updates: 0, adaptation: sgdAdaptation, sgd: fineTuningSgd(0.01, 'mse', 'relu') });
    assert.equal(summarize(phaseHits![0]).mean, 0);
    disposeEvalSet(set);
  });

  it('fine-tuning with predictions kept leaves the tensor count as it was; the predictions of update u give its losses', () => {
    const params = constantModel([8], 0.5);
    const set = makeEvalSet(BASE, { tasks: 3, samples: 4, seed: 5 });
    const before = tf.memory().numTensors;
    const r = fineTune(params, set, { updates: 2, adaptation: sgdAdaptation, sgd: fineTuningSgd(0.1, 'mse', 'relu'), keepPredictions: true });
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(r.predictions!.map((p) => p.length), [3, 3, 3].map((t) => t * GRID_POINTS));
    assert.ok(r.predictions![0].every((v) => v === 0.5) && r.predictions![2].some((v) => v !== 0.5), 'the constant model, then its fine-tuned predictions');
    const y = set.scored.y.dataSync();
    r.predictions!.forEach((pred, u) => {
      for (let t = 0; t < 3; t++) {
        const rows = Array.from({ length: GRID_POINTS }, (_, i) => t * GRID_POINTS + i);
        const mse = rows.reduce((sum, i) => sum + (pred[i] - y[i]) ** 2, 0) / GRID_POINTS;
        assert.ok(Math.abs(mse - r.losses[u][t]) <= 1e-5 * mse, `update ${u}, task ${t}: ${mse} against ${r.losses[u][t]}`);
      }
    });
    disposeEvalSet(set);
    tf.dispose(params);
  });

  it('summarize: mean, sample standard deviation and 1.96 sd / sqrt(n)', () => {
    const s = summarize([1, 2, 3, 4]);
    assert.equal(s.mean, 2.5);
    assert.ok(Math.abs(s.std - Math.sqrt(5 / 3)) < 1e-12);
    assert.ok(Math.abs(s.ci95 - (1.96 * Math.sqrt(5 / 3)) / 2) < 1e-12);
    assert.equal(s.n, 4);
  });

  it('the confidence interval shrinks with the number of tasks (about 1 / sqrt(n))', () => {
    const params = constantModel([8], 0.3);
    const width = (tasks: number) => {
      const set = makeEvalSet(BASE, { tasks, samples: 5, seed: 3 });
      const ci = summarize(fineTune(params, set, { updates: 0, adaptation: sgdAdaptation, sgd: fineTuningSgd(0.01, 'mse', 'relu') }).losses[0]).ci95;
      disposeEvalSet(set);
      return ci;
    };
    const [small, large] = [width(100), width(1600)];
    assert.ok(large < small / 2.5 && large > small / 6, `ci ${small} with 100 tasks, ${large} with 1600`);
    tf.dispose(params);
  });

  it('eval numbers equal an independent float64 re-implementation reading model.json and the weights file it names', async () => {
    const runDir = join(scratch, `${backend}-indep`);
    // a frequency-varying family, and the random query points besides the grid
    const config = { ...defaultsFor('maml'), hidden: [12, 10], iterations: 30, metaBatch: 4, evalEvery: 0, valTasks: 2, frequency: [0.8, 1.2] as [number, number] };
    await train({ config, runDir, force: true });
    const model = loadModel(runDir);
    const settings = resolveEvalConfig({ samples: 5, updates: 3, lr: 0.02, tasks: 40, seed: 11, query: 'random' });
    const report = evaluateCheckpoints([{ dir: runDir, model }], settings, model.info!.config);
    tf.dispose(model.params);
    assert.deepEqual((report.family as SineSettings).frequency, [0.8, 1.2], "the checkpoint's family by default");
    // the re-implementation: weights straight from the files, plain loops in float64
    const manifest = JSON.parse(readFileSync(runFiles(runDir).model, 'utf8')).weightsManifest[0].weights as { shape: number[] }[];
    const bytes = readFileSync(runFiles(runDir).weights);
    const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    let offset = 0;
    const values = manifest.map((w) => all.slice(offset, (offset += w.shape.reduce((a, b) => a * b, 1))));
    const { activation } = model.info!.config;
    const set = makeEvalSet(model.info!.config, { tasks: settings.tasks, samples: settings.samples, seed: settings.seed, randomQuery: true });
    const rows = (t: tf.Tensor3D) => tf.unstack(t).map((r) => [...r.dataSync()]);
    const [sx, sy, qx] = [set.support.x, set.support.y, set.query!.x].map(rows);
    const gridX = [...set.scored.x.dataSync()].slice(0, GRID_POINTS);
    const perUpdate: number[][] = Array.from({ length: settings.updates + 1 }, () => []);
    const queryPerUpdate: number[][] = Array.from({ length: settings.updates + 1 }, () => []);
    (set.tasks as SineTask[]).forEach((task, t) => {
      let p = fromArrays(values, manifest.map((w) => w.shape));
      const wave = (x: number) => task.amplitude * Math.sin(task.frequency * x + task.phase);
      assert.ok(task.frequency >= 0.8 && task.frequency <= 1.2);
      const [gridY, queryY] = [gridX.map(wave), qx[t].map(wave)];
      for (let u = 0; u <= settings.updates; u++) {
        perUpdate[u].push(lossOf(p, gridX, gridY, activation, 'mse'));
        queryPerUpdate[u].push(lossOf(p, qx[t], queryY, activation, 'mse'));
        const g = gradOf(p, sx[t], sy[t], activation, 'mse');
        p = p.map((m, i) => ({ ...m, v: m.v.map((v, k) => v - settings.lr! * g[i].v[k]) }));
      }
    });
    disposeEvalSet(set);
    report.results[0].byUpdate.forEach((s, u) => {
      const ref = summarize(perUpdate[u]);
      assert.ok(Math.abs(s.mean - ref.mean) < 1e-4 * ref.mean, `update ${u}: metalearn ${s.mean}, reference ${ref.mean}`);
      assert.ok(Math.abs(s.ci95 - ref.ci95) < 1e-3 * ref.ci95);
      const query = report.results[0].queryByUpdate![u];
      const queryRef = summarize(queryPerUpdate[u]);
      assert.ok(Math.abs(query.mean - queryRef.mean) < 1e-4 * queryRef.mean, `update ${u}: random query ${query.mean}, reference ${queryRef.mean}`);
    });
  });
});
