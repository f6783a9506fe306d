// Faults during training, caused for real: signals, kill -9 at random moments, a
// diverging run, a full disk, the run directory deleted under a running process.
// Nothing is lost: the run directory always holds a checkpoint that loads, and a
// resumed run ends exactly where an uninterrupted one does. docs/reliability.md's
// "Reliability" table points here.
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/kernels/backend.js';
import { loadModel, readRunDir } from '../src/run/checkpoint.js';
import { mountTmpfs, runCli, runFiles, startCli, type CliResult } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'metalearn-faults-'));
const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});
before(() => useBackend('cpu'));

const cli = (...args: string[]) => runCli(scratch, ...args);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One small MAML run (Adam, so optimizer state matters) that every fault below interrupts. */
const RUN = ['train', '--algo', 'maml', '--hidden', '8', '--meta-batch', '2', '--iterations', '1000', '--eval-every', '250', '--checkpoint-every', '5', '--seed', '3', '--backend', 'cpu', '--out-dir', scratch];

/** Starts the CLI: its output so far, and a promise of its exit. */
function start(...args: string[]) {
  const child = startCli(scratch, ...args);
  children.add(child);
  const seen = { stdout: '', stderr: '', exited: false };
  child.stdout!.on('data', (d) => (seen.stdout += d));
  child.stderr!.on('data', (d) => (seen.stderr += d));
  const exit = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      children.delete(child);
      seen.exited = true;
      resolve({ code, signal, stdout: seen.stdout, stderr: seen.stderr });
    });
  });
  return { child, seen, exit };
}

/** Polls until the condition holds (the test's own timeout bounds the wait). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(10);
}

/** Everything an interrupted and resumed run must share, bit for bit, with the uninterrupted one. */
function outcome(dir: string) {
  const f = runFiles(dir);
  const state = JSON.parse(readFileSync(f.state, 'utf8'));
  const curve = JSON.parse(readFileSync(f.curve, 'utf8'));
  return {
    weights: readFileSync(f.weights).toString('base64'),
    iteration: JSON.parse(readFileSync(f.model, 'utf8')).userDefinedMetadata.metalearn.iteration,
    state: { optimizer: state.optimizer, rng: state.rng, window: state.window },
    train: curve.train.map((p: { iteration: number; metaLoss: number }) => [p.iteration, p.metaLoss]),
    validation: curve.validation.map((p: { iteration: number; before: number; after: number }) => [p.iteration, p.before, p.after]),
  };
}

/**
 * The run directory holds a checkpoint that loads (the project's own loaders), whose files agree on
 * its iteration (the weights file is named for it; the curve's last point and the unfinished window
 * add up to it); returns the iteration.
 */
function assertLoadable(dir: string): number {
  const model = loadModel(dir);
  assert.deepEqual(model.hidden, [8]);
  const values = model.params.flatMap((p) => [...p.dataSync()]);
  tf.dispose(model.params);
  assert.ok(values.every(Number.isFinite), 'finite weights');
  const { info, resume, curve } = readRunDir(dir);
  const iteration = info!.iteration;
  assert.match(runFiles(dir).weights, new RegExp(`weights-0*${iteration}\\.bin$`));
  assert.ok(curve!.train.every((p) => Number.isFinite(p.metaLoss)), 'finite curve');
  assert.equal((curve!.train.at(-1)?.iteration ?? 0) + resume!.window.count, iteration, 'the curve and the window add up to the iteration');
  assert.ok(curve!.validation.every((p) => p.iteration <= iteration));
  return iteration;
}

/** Files of writeFileAtomic's that a killed writer left behind. */
const temporaries = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

const uninterrupted = join(scratch, 'uninterrupted');
before(() => {
  const r = cli(...RUN, '--name', 'uninterrupted', '--quiet');
  assert.equal(r.code, 0, r.stderr);
});

describe('faults: nothing lost', { timeout: 120_000 }, () => {
  it('writeFileAtomic: a writer killed at random moments leaves the old file or the new one, whole', async () => {
    // a process that rewrites one 4 MB file over and over, alternating two contents
    const fsutil = fileURLToPath(new URL('../src/base/files.js', import.meta.url));
    const target = join(scratch, 'atomic.bin');
    const size = 4 << 20;
    const writer = `const { writeFileAtomic } = await import(${JSON.stringify(fsutil)});
      for (let i = 0; ; i++) writeFileAtomic(${JSON.stringify(target)}, Buffer.alloc(${size}, i % 2 ? 'b' : 'a'));`;
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', writer]);
      children.add(child);
      await until(() => existsSync(target));
      await sleep(Math.random() * 100);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('close', resolve));
      children.delete(child);
      const bytes = readFileSync(target);
      assert.equal(bytes.length, size);
      assert.ok(bytes.every((b) => b === bytes[0]) && [97, 98].includes(bytes[0]), 'all a or all b');
    }
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal}: a checkpoint, the resume command and exit ${code}; resuming ends exactly like the uninterrupted run`, async () => {
      const dir = join(scratch, signal);
      const run = start(...RUN, '--name', signal);
      await until(() => existsSync(join(dir, 'model.json')));
      await sleep(100);
      run.child.kill(signal);
      const r = await run.exit;
      assert.equal(r.code, code, r.stderr);
      const iteration = Number(/checkpoint written at iteration (\d+)/.exec(r.stderr)?.[1]);
      assert.ok(iteration > 0 && iteration < 1000, r.stderr);
      assert.match(r.stderr, new RegExp(`resume with: npx metalearn train --resume ${dir} --backend cpu\\n$`));
      assert.equal(assertLoadable(dir), iteration);

      const resumed = cli('train', '--resume', dir, '--backend', 'cpu', '--quiet');
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.deepEqual(outcome(dir), outcome(uninterrupted));
    });
  }

  it('kill -9 ten times at random moments: always a loadable checkpoint; --resume ends exactly like the uninterrupted run', async () => {
    const dir = join(scratch, 'killed');
    let last = 0;
    for (let round = 0; round < 10; round++) {
      const args = round === 0 ? [...RUN, '--name', 'killed'] : ['train', '--resume', dir, '--backend', 'cpu'];
      const run = start(...args, '--json');
      // kill while it trains: after its first curve point (the first checkpoint is on disk by then)
      await until(() => run.seen.exited || run.seen.stdout.includes('"progress"'));
      await sleep(Math.random() * 100);
      run.child.kill('SIGKILL');
      const r = await run.exit;
      assert.ok(r.signal === 'SIGKILL' || r.code === 0, r.stderr);
      const iteration = assertLoadable(dir);
      assert.ok(iteration >= last, `the checkpoint went back from ${last} to ${iteration}`);
      last = iteration;
    }
    assert.ok(last < 1000, 'killed before the end');
    const resumed = cli('train', '--resume', dir, '--backend', 'cpu', '--quiet');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(temporaries(dir), [], 'temporary files left');
    assert.deepEqual(outcome(dir), outcome(uninterrupted));
  });
});

describe('faults: divergence', () => {
  // plain SGD at step 1 on joint training: the loss overflows within a few iterations
  const DIVERGING = ['train', '--algo', 'transfer', '--meta-optimizer', 'sgd', '--meta-lr', '1', '--hidden', '8', '--meta-batch', '2', '--iterations', '200', '--backend', 'cpu', '--out-dir', scratch];
  const divergedAt = (r: CliResult) => {
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^error: training diverged at iteration \d+: .*\. Start again with a smaller --meta-lr or --inner-lr, or with --clip-grad\.$/);
    return Number(/at iteration (\d+)/.exec(lines[0])![1]);
  };

  it('a non-finite meta-loss stops training at its first bad iteration, found between log points; the last good checkpoint is kept', () => {
    const r = cli(...DIVERGING, '--name', 'diverged', '--quiet');
    const at = divergedAt(r);
    assert.match(r.stderr, /its meta-loss is (Infinity|NaN); the last good checkpoint \(iteration 0\) is kept in .*diverged\./);
    assert.equal(assertLoadable(join(scratch, 'diverged')), 0);
    // checking every iteration and checkpointing every iteration names the same one, and keeps the one before it
    const everyIteration = cli(...DIVERGING, '--name', 'diverged-each', '--log-every', '1', '--checkpoint-every', '1', '--quiet');
    assert.equal(divergedAt(everyIteration), at);
    assert.ok(at > 1, 'diverged after some good iterations');
    assert.equal(assertLoadable(join(scratch, 'diverged-each')), at - 1);
    // and clipping the gradient keeps it finite
    const clipped = cli(...DIVERGING, '--name', 'clipped', '--clip-grad', '1', '--quiet');
    assert.equal(clipped.code, 0, clipped.stderr);
  });

  it('a non-finite meta-gradient, or validation loss, is caught even when every meta-loss was finite', () => {
    // one step of 3e38 times the gradient overflows float32: the loss of iteration 1 is finite, the weights after it are not
    const r = cli(...DIVERGING, '--name', 'overflow', '--meta-lr', '3e38', '--iterations', '1', '--quiet');
    assert.equal(divergedAt(r), 1);
    assert.match(r.stderr, /its meta-gradient made the weights infinite or NaN/);
    assert.equal(assertLoadable(join(scratch, 'overflow')), 0);
    // a step of 1e38 leaves the weights finite but too large to predict with: the validation loss says so
    const huge = cli(...DIVERGING, '--name', 'huge', '--meta-lr', '1e38', '--iterations', '1', '--quiet');
    assert.equal(divergedAt(huge), 1);
    assert.match(huge.stderr, /its validation loss is not finite for \d+ of 100 tasks before fine-tuning and \d+ after/);
    assert.equal(assertLoadable(join(scratch, 'huge')), 0);
  });
});

describe('faults: the disk', { timeout: 60_000 }, () => {
  it('a full disk during a checkpoint: a clear error, exit 1, the previous checkpoint intact; --resume later continues', (t) => {
    const disk = join(scratch, 'tiny-disk');
    if (!mountTmpfs(t, disk, 'size=64k', 'a 64 KB tmpfs')) return;
    try {
      const dir = join(disk, 'run');
      const first = cli(...RUN, '--out-dir', disk, '--name', 'run', '--iterations', '20', '--quiet');
      assert.equal(first.code, 0, first.stderr);
      // fill what is left of the disk
      const filler = join(disk, 'filler');
      assert.throws(() => {
        for (let i = 0; i < 1000; i++) writeFileSync(filler, Buffer.alloc(1024), { flag: 'a' });
      }, /ENOSPC/);
      truncateSync(filler, statSync(filler).size - 4096); // one page free: room for the run's lock, not for a checkpoint
      const full = cli('train', '--resume', dir, '--iterations', '40', '--backend', 'cpu', '--quiet');
      assert.equal(full.code, 1, full.stderr);
      // the first checkpoint due (--checkpoint-every 5) fails
      assert.equal(full.stderr, `error: cannot write the checkpoint of iteration 25 in ${dir}: no space left on device (ENOSPC); the checkpoint of iteration 20 is intact\n`);
      assert.equal(assertLoadable(dir), 20);
      assert.deepEqual(temporaries(dir), []);
      rmSync(filler);
      const later = cli('train', '--resume', dir, '--iterations', '40', '--backend', 'cpu', '--quiet');
      assert.equal(later.code, 0, later.stderr);
      assert.equal(assertLoadable(dir), 40);
    } finally {
      execFileSync('umount', [disk]);
    }
  });

  it('the run directory deleted while training: a clear error and exit 1', async () => {
    const dir = join(scratch, 'vanishing');
    const run = start(...RUN, '--name', 'vanishing', '--iterations', '1000000');
    await until(() => existsSync(join(dir, 'model.json')));
    // gone at once (rm -rf would first delete the lock, which the run reports as that instead: test/run-dir.test.ts)
    const gone = `${dir}.gone`;
    renameSync(dir, gone);
    rmSync(gone, { recursive: true, force: true });
    const r = await run.exit;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr.trimEnd().split('\n').at(-1)!, /^error: cannot write the checkpoint of iteration \d+ in .*vanishing: no such file or directory \(ENOENT\); the run directory has disappeared$/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
