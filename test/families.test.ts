// Task families as plug-ins, end to end through the CLI: every algorithm trains and is evaluated on the
// multimodal family and on a user's data file of two inputs (daml refuses both, saying why); a data run's
// test tasks are never trained or validated on; bad data writes nothing; a changed file is refused.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ALGORITHMS } from '../src/algorithms/index.js';
import { Rng } from '../src/core/rng.js';
import { disposePoints } from '../src/core/points.js';
import { disposeEvalSet } from '../src/core/fine-tune.js';
import { resolveConfig, TRAIN_OPTIONS, usedOptions, type OptionKey } from '../src/config/config.js';
import type { Algorithm } from '../src/algorithms/index.js';
import type { FamilyName } from '../src/tasks/index.js';
import * as tf from '@tensorflow/tfjs';
import { before } from 'node:test';
import { loadData } from '../src/tasks/load.js';
import { dataFamily, type DataTask } from '../src/tasks/data.js';
import { runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'metalearn-families-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** 60 tasks y = a sin(x1) + b x2 + noise-free, 12 points each, two inputs. */
function writeData(file: string, tasks = 60): void {
  const rng = new Rng('families data');
  const lines = ['shop,x1,x2,y'];
  for (let t = 0; t < tasks; t++) {
    const [a, b] = [rng.uniform(1, 3), rng.uniform(-1, 1)];
    for (let i = 0; i < 12; i++) {
      const [x1, x2] = [rng.uniform(-3, 3), rng.uniform(0, 1)];
      lines.push(`s${t},${x1},${x2},${a * Math.sin(x1) + b * x2}`);
    }
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

const csv = join(dir, 'shops.csv');
writeData(csv);
const DATA = ['--data', csv, '--task-column', 'shop', '--x-column', 'x1,x2', '--y-column', 'y'];
const SHORT = ['--iterations', '4', '--eval-every', '2', '--val-tasks', '5', '--meta-batch', '3', '--support', '4', '--query', '4', '--hidden', '8', '--quiet'];
const SIZES: Partial<Record<OptionKey, string>> = { iterations: '4', evalEvery: '2', valTasks: '5', metaBatch: '3', support: '4', query: '4', innerBatch: '2', hidden: '8' };
/** A short run of an algorithm: the sizes above that it reads. */
const shortFor = (algo: Algorithm, family: FamilyName) =>
  [...Object.entries(SIZES).flatMap(([key, value]) => (usedOptions(algo, family).includes(key as OptionKey) ? [TRAIN_OPTIONS[key as OptionKey].flag.split(' ')[0], value] : [])), '--quiet'];

describe('task families', () => {
  before(() => tf.setBackend('cpu'));
  for (const [family, flags] of [['multimodal', ['--family', 'multimodal', '--modes', '3']], ['data', DATA]] as const) {
    it(`every algorithm trains and is evaluated on the ${family} family; daml refuses it`, () => {
      const runs: string[] = [];
      for (const algo of ALGORITHMS) {
        const run = join(dir, `${family}-${algo}`);
        const r = runCli(dir, 'train', '--algo', algo, ...flags, ...shortFor(algo, family), '--out-dir', dir, '--name', `${family}-${algo}`);
        if (algo === 'daml') {
          assert.equal(r.code, 2, r.stderr);
          assert.match(r.stderr, /daml adapts from unlabeled inputs .* it runs on --family sine/);
          assert.ok(!existsSync(run), 'a refused run writes nothing');
          continue;
        }
        assert.equal(r.code, 0, `${algo}: ${r.stderr}`);
        runs.push(run);
      }
      const out = join(dir, `${family}-eval.json`);
      const e = runCli(dir, 'eval', ...runs.flatMap((r) => ['--checkpoint', r]), '--samples', '4', '--updates', '2', '--tasks', '30', ...(family === 'data' ? ['--draws', '3'] : []), '--out', out, '--quiet');
      assert.equal(e.code, 0, e.stderr);
      const report = JSON.parse(readFileSync(out, 'utf8'));
      assert.equal(report.taskFamily.name, family);
      for (const r of report.results) for (const s of r.byUpdate) assert.ok(Number.isFinite(s.mean) && s.n > 0, `${r.checkpoint}: ${JSON.stringify(s)}`);
    });
  }

  it("a data run's meta-batches hold training tasks only, its held-out sets the split's own", async () => {
    const config = resolveConfig({}, { data: csv, taskColumn: 'shop', xColumn: 'x1,x2', yColumn: 'y' });
    const loaded = await loadData(config);
    const family = dataFamily(loaded);
    const splitOf = new Map(loaded.ids.map((id, t) => [id, loaded.split[t]]));
    const rng = new Rng(3);
    for (let i = 0; i < 50; i++) {
      const batch = family.sampleBatch(rng, { tasks: 8, support: 4, query: 4, supportGrid: false, queryGrid: false });
      for (const t of batch.tasks as DataTask[]) assert.equal(splitOf.get(t.id), 'train');
      assert.deepEqual(batch.support.x.shape, [8, 4, 2]);
      disposePoints(batch.support);
      disposePoints(batch.query!);
    }
    for (const split of ['validation', 'test'] as const) {
      const set = family.heldOut({ split, tasks: 1000, samples: 4, seed: 1, draws: 2 });
      assert.ok(set.tasks.length > 0);
      for (const t of set.tasks as DataTask[]) assert.equal(splitOf.get(t.id), split);
      // each task scored on its 12 - 4 other points, none padded
      assert.deepEqual(set.scored.x.shape, [set.tasks.length, 8, 2]);
      disposeEvalSet(set);
    }
  });

  it('bad data: one line, exit 2, nothing written', () => {
    const missing = runCli(dir, 'train', ...DATA.slice(0, 6), '--y-column', 'yy', ...SHORT, '--out-dir', dir, '--name', 'bad-column');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no column 'yy'.*x1, x2, y|no column 'yy'/);
    assert.ok(!existsSync(join(dir, 'bad-column')));
    const nofile = runCli(dir, 'train', '--data', join(dir, 'nope.csv'), ...SHORT, '--out-dir', dir, '--name', 'no-file');
    assert.equal(nofile.code, 2);
    assert.match(nofile.stderr, /nope\.csv/);
    assert.ok(!existsSync(join(dir, 'no-file')));
  });

  it('eval refuses a data file changed since training, and evaluates it with --other-data', () => {
    const file = join(dir, 'changing.csv');
    writeData(file);
    const flags = ['--data', file, '--task-column', 'shop', '--x-column', 'x1,x2', '--y-column', 'y'];
    assert.equal(runCli(dir, 'train', '--algo', 'maml', ...flags, ...SHORT, '--out-dir', dir, '--name', 'changing').code, 0);
    writeData(file, 50);
    const refused = runCli(dir, 'eval', '--checkpoint', join(dir, 'changing'), '--tasks', '10', '--updates', '1', '--quiet');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /has changed since the run was trained on it .*--other-data/);
    const asked = runCli(dir, 'eval', '--checkpoint', join(dir, 'changing'), '--tasks', '10', '--updates', '1', '--other-data', '--quiet');
    assert.equal(asked.code, 0, asked.stderr);
  });
});
