// Training behaviour: meta-learning beats the baselines after a short run; a resumed
// run is the same run; nothing leaks.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../src/run/checkpoint.js';
import { disposeModel } from '../src/run/format.js';
import type { Algorithm } from '../src/algorithms/index.js';
import { defaultsFor, type TrainConfig } from '../src/config/config.js';
import { fineTuningSgd, sgdAdaptation } from '../src/core/adapt.js';
import { disposeEvalSet, fineTune } from '../src/core/fine-tune.js';
import { sineHeldOut } from '../src/tasks/sine.js';
import { summarize } from '../src/core/stats.js';
import type { CheckpointResult } from '../src/eval/checkpoints.js';
import { resolveEvalConfig } from '../src/eval/options.js';
import { evaluateCheckpoints } from '../src/eval/report.js';
import { train } from '../src/train/loop.js';
import { clipByGlobalNorm } from '../src/core/adapt.js';
import { forEachBackend } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'metalearn-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * A short run of each algorithm on the MAML paper's task family, with larger outer steps
 * than the defaults so that 1000 iterations show the difference: adam 5e-3 on 5 tasks,
 * reptile epsilon 1 on its 5 tasks' mean (OpenAI's batched Reptile starts at 1).
 */
function briefConfig(algo: Algorithm, iterations: number): TrainConfig {
  const base = { ...defaultsFor(algo), hidden: [32, 32], iterations, seed: 3, evalEvery: 0, checkpointEvery: 0, logEvery: 50, valTasks: 20 };
  if (algo === 'reptile') return { ...base, metaLr: 1 };
  // maml++: its schedules (first order, then second; the multi-step loss) run their course within the run; two inner
  // steps (its 5 at these outer steps drive the learned rates to where the inner loop diverges)
  const mamlPlusPlus = { innerSteps: 2, firstOrderIterations: Math.floor(0.3 * iterations), mslIterations: Math.floor(0.5 * iterations) };
  return { ...base, metaBatch: 5, metaLr: 0.005, ...(algo === 'maml++' ? mamlPlusPlus : {}) };
}

/**
 * For the bookkeeping tests (resume, memory): daml's nested gradients cost the most per inner step; two steps and a
 * small adaptation network show the same. maml++: two steps, and its schedules switch after the resume point.
 */
const LIGHTER: Partial<Record<Algorithm, Partial<TrainConfig>>> = { daml: { innerSteps: 2, valUpdates: 2, adaptHidden: [8] }, 'maml++': { innerSteps: 2, valUpdates: 2, firstOrderIterations: 25, mslIterations: 30 } };
const lighter = (algo: Algorithm) => LIGHTER[algo] ?? {};

const briefRuns = new Map<string, Promise<string>>();

/** Trains a brief run once per backend, algorithm and length; tests that compare runs share it, in any order. */
function trainBriefly(algo: Algorithm, iterations: number, backend: string): Promise<string> {
  const runDir = join(scratch, `${backend}-${algo}-${iterations}`);
  if (!briefRuns.has(runDir)) briefRuns.set(runDir, train({ config: briefConfig(algo, iterations), runDir, force: true }).then(() => runDir));
  return briefRuns.get(runDir)!;
}

/** Mean grid MSE before and after 5 SGD steps (at the run's inner lr) on 10 support points of 200 held-out tasks. */
function heldOutLoss(runDir: string): { before: number; after: number } {
  const model = loadModel(runDir);
  const set = sineHeldOut(model.info!.config, { split: 'test', tasks: 200, samples: 10, seed: 'held-out' });
  const { losses } = fineTune(model.params, set, { updates: 5, adaptation: sgdAdaptation, sgd: fineTuningSgd(model.info!.config.innerLr, 'mse', model.activation) });
  disposeEvalSet(set);
  tf.dispose(model.params);
  return { before: summarize(losses[0]).mean, after: summarize(losses[5]).mean };
}

/** `metalearn eval` of run directories on 200 held-out tasks (each algorithm's own fine-tuning). */
function evaluateRuns(runDirs: string[], settings: { samples: number; updates: number }): CheckpointResult[] {
  const models = runDirs.map((dir) => ({ dir, model: loadModel(dir) }));
  const report = evaluateCheckpoints(models, resolveEvalConfig({ ...settings, tasks: 200 }), models[0].model.info!.config);
  for (const { model } of models) disposeModel(model);
  return report.results;
}

forEachBackend('brief meta-training', (backend) => {
  const results = new Map<Algorithm, { before: number; after: number }>();
  for (const algo of ['random', 'transfer', 'maml', 'fomaml', 'reptile'] as const) {
    it(`${algo} trains and is evaluated on held-out tasks`, async () => {
      results.set(algo, heldOutLoss(await trainBriefly(algo, 1000, backend)));
    });
  }
  it('maml, fomaml and reptile adapt to well below the random initialisation', () => {
    const random = results.get('random')!;
    for (const algo of ['maml', 'fomaml', 'reptile'] as const) {
      const r = results.get(algo)!;
      assert.ok(r.after < 0.5 * random.after, `${algo}: ${r.after.toFixed(3)} after 5 steps vs random ${random.after.toFixed(3)}`);
    }
  });
  it('transfer does not adapt as the meta-trained models do', () => {
    const transfer = results.get('transfer')!;
    for (const algo of ['maml', 'fomaml', 'reptile'] as const) {
      const r = results.get(algo)!;
      assert.ok(r.after < 0.8 * transfer.after, `${algo}: ${r.after.toFixed(3)} after 5 steps vs transfer ${transfer.after.toFixed(3)}`);
      // its gain from fine-tuning is smaller too
      assert.ok(r.before - r.after > transfer.before - transfer.after, `${algo} gains ${(r.before - r.after).toFixed(3)}, transfer ${(transfer.before - transfer.after).toFixed(3)}`);
    }
  });
  it("meta-sgd: one step at its learned rates beats maml's one step on the same tasks", async () => {
    const [metaSgd, maml] = evaluateRuns([await trainBriefly('meta-sgd', 1000, backend), await trainBriefly('maml', 1000, backend)], { samples: 10, updates: 1 });
    assert.equal(metaSgd.lr, 'learned');
    const [mine, theirs] = [metaSgd.byUpdate[1].mean, maml.byUpdate[1].mean];
    assert.ok(mine < 0.8 * theirs, `meta-sgd ${mine.toFixed(3)} vs maml ${theirs.toFixed(3)} after one step`);
  });
  it('anil, cavia and maml++, each fine-tuned its own way, adapt to well below random and transfer', async () => {
    const algos = ['random', 'transfer', 'anil', 'cavia', 'maml++'] as const;
    const runs: string[] = [];
    for (const algo of algos) runs.push(await trainBriefly(algo, 1000, backend)); // one at a time: train checks that it leaks nothing
    const [random, transfer, ...learners] = evaluateRuns(runs, { samples: 10, updates: 5 });
    assert.deepEqual(learners.map((r) => r.adaptation), ['head only', 'context', 'learned rates']);
    const [before, after] = [(r: CheckpointResult) => r.byUpdate[0].mean, (r: CheckpointResult) => r.byUpdate[5].mean];
    learners.forEach((r, i) => {
      const algo = algos[i + 2];
      assert.ok(after(r) < 0.5 * after(random), `${algo}: ${after(r).toFixed(3)} after 5 steps vs random ${after(random).toFixed(3)}`);
      assert.ok(after(r) < 0.8 * after(transfer), `${algo}: ${after(r).toFixed(3)} after 5 steps vs transfer ${after(transfer).toFixed(3)}`);
      assert.ok(before(r) - after(r) > before(transfer) - after(transfer), `${algo} gains ${(before(r) - after(r)).toFixed(3)}, transfer ${(before(transfer) - after(transfer)).toFixed(3)}`);
    });
    console.log(`# held-out MSE before/after 5 own steps [${backend}]: ${[random, transfer, ...learners].map((r, i) => `${algos[i]} ${before(r).toFixed(3)}/${after(r).toFixed(3)}`).join(', ')}`);
  });
  after(() => console.log(`# held-out MSE before/after 5 steps [${backend}]: ${[...results].map(([a, r]) => `${a} ${r.before.toFixed(3)}/${r.after.toFixed(3)}`).join(', ')}`));
});

forEachBackend('daml', (backend) => {
  it('adapted from unlabeled source inputs of held-out tasks, it follows the right phase far more often than chance', async () => {
    const runDir = join(scratch, `${backend}-daml`);
    const config = { ...defaultsFor('daml'), hidden: [16, 16], adaptHidden: [16], iterations: 150, metaBatch: 10, metaLr: 0.005, seed: 3, evalEvery: 0, checkpointEvery: 0, valTasks: 20 };
    await train({ config, runDir, force: true });
    const [r] = evaluateRuns([runDir], { samples: 1, updates: 5 });
    const [before, after] = [r.phaseAccuracy![0], r.phaseAccuracy![5]];
    assert.ok(after > 0.9, `right phase for ${(100 * after).toFixed(1)}% of tasks after 5 steps`);
    assert.ok(before < 0.7, `before adapting, ${(100 * before).toFixed(1)}% already (no phase can be told from the initialisation)`);
    // 0.5 = mean sin^2: the grid MSE of predicting 0, the best any model blind to the phase can do
    assert.ok(r.byUpdate[5].mean < 0.5, `grid MSE ${r.byUpdate[0].mean.toFixed(3)} -> ${r.byUpdate[5].mean.toFixed(3)}`);
  });
});

forEachBackend('resume', (backend) => {
  for (const algo of ['maml', 'reptile', 'meta-sgd', 'daml', 'anil', 'cavia', 'maml++'] as const) {
    it(`${algo}: N iterations in one go and N/2 + resume N/2 give the same weights and curve`, async () => {
      const config = { ...briefConfig(algo, 40), logEvery: 7, evalEvery: 10, checkpointEvery: 15, metaLrFinal: 0.0001, ...lighter(algo) };
      const whole = join(scratch, `${backend}-${algo}-whole`);
      const split = join(scratch, `${backend}-${algo}-split`);
      const a = await train({ config, runDir: whole, force: true });
      await train({ config: { ...config, iterations: 40 }, runDir: split, force: true, shouldStop: (() => { let n = 0; return () => ++n === 20; })() });
      const b = await train({ runDir: split, resume: {} });
      const [wa, wb] = [loadModel(whole), loadModel(split)];
      const learned = (m: typeof wa) => [...m.params, ...Object.values(m.extras).flat()]; // with meta-sgd's rates, daml's adaptation network
      learned(wa).forEach((p, i) => assert.deepEqual(p.dataSync(), learned(wb)[i].dataSync()));
      assert.deepEqual(b.curve.train.map((p) => [p.iteration, p.metaLoss]), a.curve.train.map((p) => [p.iteration, p.metaLoss]));
      assert.deepEqual(b.curve.validation.map((p) => [p.iteration, p.after]), a.curve.validation.map((p) => [p.iteration, p.after]));
      disposeModel(wa);
      disposeModel(wb);
    });
  }
});

forEachBackend('memory', (backend) => {
  for (const algo of ['maml', 'fomaml', 'reptile', 'transfer', 'meta-sgd', 'daml', 'anil', 'cavia', 'maml++'] as const) {
    it(`${algo}: the tensor count is the same after 10 and after 500 iterations`, async () => {
      const counts: number[] = [];
      const config = { ...briefConfig(algo, 500), hidden: [8], metaBatch: 2, support: 10, innerBatch: 5, logEvery: 5, evalEvery: 100, checkpointEvery: 250, ...lighter(algo) };
      await train({
        config,
        runDir: join(scratch, `${backend}-${algo}-memory`),
        force: true,
        onProgress: (p) => {
          if (p.iteration === 10 || p.iteration === 500) counts.push(tf.memory().numTensors);
        },
      });
      assert.equal(counts.length, 2);
      assert.equal(counts[1], counts[0]);
    });
  }
});

forEachBackend('gradient clipping', (backend) => {
  it('scales gradients to the bound: per task (leading axis) or over all of them', () => {
    tf.tidy(() => {
      const grads = [tf.tensor3d([[[3]], [[0.3]]]), tf.tensor2d([[4], [0.4]])]; // task norms 5 and 0.5
      const perTask = clipByGlobalNorm(grads, 1, true).map((g) => [...g.dataSync()]);
      assert.deepEqual(perTask.map((g) => g.map((v) => +v.toFixed(6))), [[0.6, 0.3], [0.8, 0.4]]);
      const global = clipByGlobalNorm([tf.tensor1d([3]), tf.tensor1d([4])], 1, false).map((g) => +g.dataSync()[0].toFixed(6));
      assert.deepEqual(global, [0.6, 0.8]);
    });
  });
  for (const algo of ['maml', 'fomaml', 'reptile', 'meta-sgd', 'daml', 'anil', 'cavia', 'maml++'] as const) {
    it(`${algo} trains with --clip-grad on one task and on several`, async () => {
      for (const metaBatch of [1, 3]) {
        const config = { ...briefConfig(algo, 3), metaBatch, clipGrad: 0.5, hidden: [8], valTasks: 2 };
        const result = await train({ config, runDir: join(scratch, `${backend}-${algo}-clip-${metaBatch}`), force: true });
        assert.equal(result.iteration, 3);
        assert.ok(result.curve.train.every((p) => Number.isFinite(p.metaLoss)));
      }
    });
  }
});
