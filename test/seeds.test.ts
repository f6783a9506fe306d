// Results over seeds, as a user gets them from the CLI: `train --seeds` (one process per seed,
// the same runs as `train --seed`), `eval` of several seeds of one config (the spread over
// seeds beside each run's interval over tasks), `eval` without --checkpoint (the newest run),
// and divergence in the table (counted, never NaN; everything diverged said plainly).
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { EvalReport } from '../src/eval/report.js';
import { runCli, runFiles, startCliInGroup } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'metalearn-seeds-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const metalearn = (...args: string[]) => runCli(scratch, ...args);
const TINY = ['--algo', 'reptile', '--iterations', '20', '--eval-every', '10', '--hidden', '16,16', '--backend', 'cpu'];
const evalJson = (...args: string[]): EvalReport => {
  const r = metalearn('eval', ...args, '--backend', 'cpu', '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
};
const weights = (run: string) => readFileSync(runFiles(join(scratch, 'checkpoints', run)).weights);

describe('several seeds', () => {
  it('train --seeds trains <name>-<seed> per seed in processes of their own, each the run train --seed makes', () => {
    const sweep = metalearn('train', ...TINY, '--seeds', '3,4', '--jobs', '2');
    assert.equal(sweep.code, 0, sweep.stderr);
    assert.match(sweep.stderr, /2 seeds \(3, 4\), 2 at a time -> checkpoints\/reptile-3, checkpoints\/reptile-4/);
    for (const seed of [3, 4]) assert.match(sweep.stderr, new RegExp(`seed ${seed}: done at iteration 20, validation MSE \\S+ before, \\S+ after: checkpoints/reptile-${seed}`));
    assert.match(sweep.stderr, /validation MSE after fine-tuning over 2 seeds: .* eval --checkpoint checkpoints\/reptile-3 --checkpoint checkpoints\/reptile-4/);
    assert.equal(metalearn('train', ...TINY, '--seed', '4', '--name', 'alone', '--quiet').code, 0);
    assert.ok(weights('reptile-4').equals(weights('alone')), 'seed 4 of the sweep is the run of --seed 4');
    assert.ok(!weights('reptile-3').equals(weights('reptile-4')), 'the seeds differ');
  });

  it('train --seeds refuses, before any run starts, a run directory in use, a repeated seed, --seed, and --jobs 0', () => {
    const committed = statSync(runFiles(join(scratch, 'checkpoints', 'reptile-3')).model).mtimeMs;
    const cases: [string[], RegExp][] = [
      [['--seeds', '5,3'], /reptile-3 already holds a run/],
      [['--seeds', '5,5'], /--seeds 5,5: a seed is repeated/],
      [['--seeds', '5,x'], /--seeds 5,x: expected whole numbers/],
      [['--seeds', '5', '--seed', '1'], /drop --seed/],
      [['--seeds', '5', '--jobs', '0'], /--jobs 0: expected a whole number of at least 1/],
    ];
    for (const [args, message] of cases) {
      const r = metalearn('train', ...TINY, ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.throws(() => statSync(join(scratch, 'checkpoints', 'reptile-5')), /ENOENT/, 'no run started');
    assert.equal(statSync(runFiles(join(scratch, 'checkpoints', 'reptile-3')).model).mtimeMs, committed);
  });

  it('train --seeds says which seeds failed and why, with --quiet too, and exits with their code', () => {
    const r = metalearn('train', ...TINY, '--meta-lr', '1e30', '--inner-lr', '1e30', '--seeds', '6,7', '--quiet');
    assert.equal(r.code, 1, r.stderr);
    for (const seed of [6, 7]) assert.match(r.stderr, new RegExp(`^seed ${seed}: exit 1: error: training diverged at iteration \\d+: .*Start again with a smaller --meta-lr`, 'm'));
  });

  it("train --seeds stopped by a terminal's Ctrl-C (SIGINT to its process group): every seed checkpoints, says where it stopped and how to resume, exit 130", async () => {
    const child = startCliInGroup(scratch, 'train', ...TINY, '--iterations', '1000000', '--checkpoint-every', '100000', '--seeds', '8,9', '--jobs', '2');
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
    const trains: number[] = [];
    const kill = (pid: number) => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    };
    try {
      const deadline = Date.now() + 60_000;
      while (![8, 9].every((seed) => existsSync(join(scratch, 'checkpoints', `reptile-${seed}`, 'model.json')))) {
        assert.ok(Date.now() < deadline, `both seeds should have checkpointed within a minute: ${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const seed of [8, 9]) trains.push(JSON.parse(readFileSync(join(scratch, 'checkpoints', `reptile-${seed}`, 'lock'), 'utf8')).pid);
      // each seed's train has a process group of its own, so that the Ctrl-C reaches it once, forwarded by the
      // sweep: in the sweep's group it would get it twice, and leave without its checkpoint
      if (existsSync('/proc/self/stat')) {
        for (const pid of trains) assert.notEqual(Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[2]), child.pid, `train ${pid} is in the sweep's process group`);
      }
      process.kill(-child.pid!, 'SIGINT');
      assert.equal(await exit, 130, stderr);
      for (const seed of [8, 9]) {
        const m = new RegExp(`^seed ${seed}: stopped at iteration (\\d+), its checkpoint written; resume with: npx metalearn train --resume checkpoints/reptile-${seed}$`, 'm').exec(stderr);
        assert.ok(m, stderr);
        assert.equal(JSON.parse(readFileSync(runFiles(join(scratch, 'checkpoints', `reptile-${seed}`)).model, 'utf8')).userDefinedMetadata.metalearn.iteration, Number(m[1]));
      }
    } finally {
      for (const pid of [-child.pid!, ...trains]) kill(pid);
    }
  });

  it('eval of two seeds of one config: each run, and their mean with the 95% t-interval over seeds', () => {
    const report = evalJson('--checkpoint', 'checkpoints/reptile-3', '--checkpoint', 'checkpoints/reptile-4', '--checkpoint', 'checkpoints/alone', '--tasks', '40', '--updates', '3');
    // alone is seed 4 again: same config, so it joins the group
    assert.equal(report.seedGroups.length, 1);
    const [group] = report.seedGroups;
    assert.deepEqual([group.members, group.seeds], [[0, 1, 2], [3, 4, 4]]);
    group.byUpdate.forEach((s, u) => {
      const means = report.results.map((r) => r.byUpdate[u].mean);
      const mean = means.reduce((a, b) => a + b, 0) / 3;
      const sd = Math.sqrt(means.reduce((a, v) => a + (v - mean) ** 2, 0) / 2);
      assert.ok(Math.abs(s.mean - mean) < 1e-12 && Math.abs(s.std - sd) < 1e-12);
      assert.ok(Math.abs(s.ci95 - (4.303 * sd) / Math.sqrt(3)) < 1e-12, 't with 2 degrees of freedom');
    });
    const table = metalearn('eval', '--checkpoint', 'checkpoints/reptile-3', '--checkpoint', 'checkpoints/reptile-4', '--tasks', '40', '--updates', '3', '--backend', 'cpu');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^\s+reptile-3\s+reptile-4\s+reptile \(2 seeds\)$/m);
    assert.match(table.stdout, /^fine-tuning\s+sgd at 0\.02\s+sgd at 0\.02\s+sgd at 0\.02$/m);
    for (const u of [0, 1, 2, 3]) assert.match(table.stdout, new RegExp(`^\\s+${u} updates?(\\s+\\d\\.\\d{3}\\+-\\d\\.\\d{3}){3}$`, 'm'));
    assert.match(table.stderr, /over seeds: the mean of the runs' means/);
  });

  it('plain layers models named <name>-<seed> (as the PyTorch peer saves them) are grouped by name', () => {
    for (const [run, seed] of [['reptile-3', 0], ['reptile-4', 1]] as const) {
      const files = runFiles(join(scratch, 'checkpoints', run));
      const dir = join(scratch, `peer-${seed}`);
      mkdirSync(dir);
      const { userDefinedMetadata: _metalearn, ...plain } = JSON.parse(readFileSync(files.model, 'utf8'));
      writeFileSync(join(dir, 'model.json'), JSON.stringify(plain));
      copyFileSync(files.weights, join(dir, basename(files.weights)));
    }
    const report = evalJson('--checkpoint', 'peer-0', '--checkpoint', 'peer-1', '--checkpoint', 'checkpoints/reptile-3', '--tasks', '20', '--updates', '1', '--lr', '0.01');
    assert.deepEqual(report.results.map((r) => r.algo), [null, null, 'reptile']);
    assert.deepEqual(report.seedGroups.map((g) => [g.name, g.members, g.seeds]), [['peer', [0, 1], [0, 1]]]);
    assert.deepEqual(report.results[0].byUpdate, report.results[2].byUpdate, 'the same weights, the same numbers');
  });
});

describe('eval on defaults', () => {
  it('without --checkpoint, eval evaluates the most recently trained run under checkpoints/ and says which', () => {
    assert.equal(metalearn('train', ...TINY, '--name', 'cli-other', '--inner-lr', '0.03', '--quiet').code, 0);
    const out = join(scratch, 'newest.json');
    const r = metalearn('eval', '--samples', '5', '--updates', '10', '--tasks', '30', '--backend', 'cpu', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no --checkpoint: evaluating checkpoints\/cli-other, the most recently trained run under checkpoints\//);
    assert.equal((JSON.parse(readFileSync(out, 'utf8')) as EvalReport).results[0].checkpoint, 'checkpoints/cli-other');
    const other = evalJson('--checkpoint', 'checkpoints/reptile-3', '--checkpoint', 'checkpoints/cli-other', '--tasks', '10', '--updates', '1');
    assert.equal(other.seedGroups.length, 0, 'runs of different configs are not grouped');
    const empty = mkdtempSync(join(scratch, 'empty-'));
    const none = runCli(empty, 'eval', '--samples', '5');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no --checkpoint given, and no run under checkpoints\/ to evaluate: train one first/);
  });

  it('the table counts diverged tasks beside the mean of the others, and says so plainly when everything diverged', () => {
    const some = metalearn('eval', '--checkpoint', 'checkpoints/alone', '--tasks', '50', '--updates', '2', '--diverged-above', '2', '--backend', 'cpu');
    assert.equal(some.code, 0, some.stderr);
    assert.match(some.stdout, /^\s+\d updates?\s+\d\.\d{3}\+-\d\.\d{3} \(diverged [1-9]\d?\/50\)$/m);
    assert.doesNotMatch(some.stdout, /NaN|Infinity/);
    assert.match(some.stderr, /a task whose loss is above 2 or not finite counts as diverged/);
    const all = metalearn('eval', '--checkpoint', 'checkpoints/alone', '--tasks', '20', '--updates', '2', '--lr', '1000', '--backend', 'cpu');
    assert.equal(all.code, 0, all.stderr);
    for (const u of [1, 2]) assert.match(all.stdout, new RegExp(`^\\s+${u} updates?\\s+diverged 20\\/20$`, 'm'));
    assert.match(all.stderr, /every task diverged after every update, for every checkpoint: try a smaller --lr or fewer --updates/);
  });
});
