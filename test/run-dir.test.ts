// One writer per run directory and one commit point per checkpoint, caused for real: two
// processes on one run, kill -9 at random instants while checkpointing every iteration, and the
// conversion of runs written by metalearn 0.1.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readRunDir } from '../src/run/checkpoint.js';
import { useBackend } from '../src/kernels/backend.js';
import { runCli, runFiles, startCli, type CliResult } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'metalearn-rundir-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
before(() => useBackend('cpu'));
const cli = (...args: string[]) => runCli(scratch, ...args);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A small MAML run (Adam: optimizer state matters) that checkpoints every iteration. */
const RUN = ['train', '--algo', 'maml', '--hidden', '8', '--meta-batch', '2', '--iterations', '400', '--eval-every', '50', '--checkpoint-every', '1', '--log-every', '7', '--seed', '4', '--backend', 'cpu', '--out-dir', scratch];

function start(...args: string[]) {
  const child = startCli(scratch, ...args);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exit = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout: '', stderr })));
  return { child, exit };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5);
}

/** Everything of the committed checkpoint that a resumed run must reproduce (wall-clock times aside), bit for bit. */
function committed(dir: string) {
  const f = runFiles(dir);
  const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'), (key, value) => (key === 'seconds' ? undefined : value));
  return { model: json(f.model), weights: readFileSync(f.weights).toString('base64'), state: json(f.state), curve: json(f.curve) };
}

/** The files of the committed checkpoint agree on its iteration; returns it. */
function consistentIteration(dir: string): number {
  const { info, resume, curve } = readRunDir(dir);
  const iteration = info!.iteration;
  const f = runFiles(dir);
  for (const path of [f.weights, f.state, f.curve]) assert.match(path, new RegExp(`-0*${iteration}\\.(bin|json)$`), `${path} is of iteration ${iteration}`);
  assert.equal((curve!.train.at(-1)?.iteration ?? 0) + resume!.window.count, iteration, 'curve and window add up to the iteration');
  assert.ok(curve!.validation.every((p) => p.iteration <= iteration) && curve!.validation.some((p) => p.iteration === 0));
  return iteration;
}

const uninterrupted = join(scratch, 'uninterrupted');
before(() => {
  const r = cli(...RUN, '--name', 'uninterrupted', '--quiet');
  assert.equal(r.code, 0, r.stderr);
});

describe('one writer per run directory', { timeout: 120_000 }, () => {
  it('while a run trains, a second train on its directory (--resume, or --force) is refused naming the process; eval reads it meanwhile', async () => {
    const dir = join(scratch, 'busy');
    const run = start(...RUN, '--name', 'busy', '--iterations', '100000', '--checkpoint-every', '20');
    await until(() => existsSync(join(dir, 'model.json')));
    const resumed = cli('train', '--resume', dir, '--backend', 'cpu');
    assert.equal(resumed.code, 2, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`^error: ${dir} is being trained by process ${run.child.pid} on .* \\(since .*\\): wait for it to finish, or stop it first \\(if no such process trains it, delete ${dir}/lock\\)\\n$`));
    const forced = cli(...RUN, '--name', 'busy', '--force');
    assert.equal(forced.code, 2, forced.stderr);
    assert.match(forced.stderr, new RegExp(`is being trained by process ${run.child.pid}`));
    const evaluated = cli('eval', '--checkpoint', dir, '--tasks', '20', '--backend', 'cpu', '--quiet');
    assert.equal(evaluated.code, 0, evaluated.stderr);
    run.child.kill('SIGINT');
    assert.equal((await run.exit).code, 130);
    assert.ok(!existsSync(join(dir, 'lock')), 'the lock is released at the end');
  });

  it('kill -9 leaves its lock behind; the next --resume sees that its process is gone and takes the run over', async () => {
    const dir = join(scratch, 'abandoned');
    const run = start(...RUN, '--name', 'abandoned');
    await until(() => existsSync(join(dir, 'model.json')));
    run.child.kill('SIGKILL');
    await run.exit;
    assert.ok(existsSync(join(dir, 'lock')), 'the killed process left its lock');
    const resumed = cli('train', '--resume', dir, '--backend', 'cpu', '--quiet');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(committed(dir), committed(uninterrupted));
  });
});

describe('one commit point per checkpoint', { timeout: 300_000 }, () => {
  it('kill -9 at random instants while checkpointing every iteration, 25 times: the files always agree on one iteration, which never goes back; the run resumes bit for bit', async () => {
    const dir = join(scratch, 'killed');
    let last = 0;
    let checked = 0;
    for (let round = 0; round < 25; round++) {
      const model = join(dir, 'model.json');
      const committedAt = () => (existsSync(model) ? statSync(model).mtimeMs : 0);
      const before = committedAt();
      const run = start(...(before ? ['train', '--resume', dir, '--backend', 'cpu'] : [...RUN, '--name', 'killed', '--force']));
      let done = false;
      void run.exit.then(() => (done = true));
      await until(() => done || committedAt() !== before); // this process has committed a checkpoint: it is in the stream of them
      await sleep(Math.random() * 200);
      run.child.kill('SIGKILL');
      const r = await run.exit;
      if (r.code === 0) break; // finished before the kill
      const iteration = consistentIteration(dir);
      assert.ok(iteration >= last, `the checkpoint went back from ${last} to ${iteration}`);
      last = iteration;
      checked++;
    }
    assert.ok(checked >= 10 && last > 0, `only ${checked} kills landed after a checkpoint (last at iteration ${last})`);
    const resumed = cli('train', '--resume', dir, '--backend', 'cpu', '--quiet');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(committed(dir), committed(uninterrupted));
  });
});

describe('runs of metalearn 0.1 (format 1)', () => {
  // test/fixtures: small runs written by metalearn 0.1 (30 iterations, cpu), and the weights its own
  // --resume --iterations 35 reached from them
  const fixtures = fileURLToPath(new URL('../../test/fixtures', import.meta.url));
  for (const name of ['reptile-format-1', 'meta-sgd-format-1']) {
    it(`${name}: refused with the command that converts it; \`metalearn upgrade\` keeps its weights, extras and curve; it resumes as metalearn 0.1 resumed it, bit for bit`, () => {
      const dir = join(scratch, name);
      cpSync(join(fixtures, name), dir, { recursive: true });
      const old = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
      assert.equal(old.formatVersion, 1);
      assert.match(cli('eval', '--checkpoint', dir, '--tasks', '5').stderr, new RegExp(`written in format 1 by metalearn 0.1.0: convert it with \`npx metalearn upgrade ${dir}\``));
      const r = cli('upgrade', dir);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`${dir}: upgraded \\(iteration 30\\)`));
      const run = readRunDir(dir);
      const base64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
      assert.equal(run.info!.iteration, 30);
      assert.deepEqual(run.weights.map(base64), old.params.map((p: { data: string }) => p.data));
      for (const [group, arrays] of Object.entries(run.extras)) assert.deepEqual(arrays.map((a) => base64(a.values)), old.extras[group].map((p: { data: string }) => p.data));
      assert.deepEqual(run.curve, JSON.parse(readFileSync(join(fixtures, name, 'curve.json'), 'utf8'), (key, value) => (['formatVersion', 'algo', 'backend', 'metalearnVersion'].includes(key) ? undefined : value)));
      assert.ok(!existsSync(join(dir, 'state.json')) && !existsSync(join(dir, 'weights.bin')), 'the old files are gone');
      assert.match(cli('upgrade', dir).stderr, /already in the current format/);
      const resumed = cli('train', '--resume', dir, '--iterations', '35', '--backend', 'cpu', '--quiet');
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(readFileSync(runFiles(dir).weights).toString('base64'), readFileSync(join(fixtures, `${name}.weights-after-35.bin`)).toString('base64'));
    });
  }
});

describe('what a killed or failed writer leaves', () => {
  it('an upgrade killed after its commit leaves format-1 files: a later upgrade removes them (it does not roll the run back), and so does --resume', () => {
    const fixture = fileURLToPath(new URL('../../test/fixtures/reptile-format-1', import.meta.url));
    const dir = join(scratch, 'half-upgraded');
    cpSync(fixture, dir, { recursive: true });
    assert.equal(cli('upgrade', dir).code, 0);
    assert.equal(cli('train', '--resume', dir, '--iterations', '40', '--backend', 'cpu', '--quiet').code, 0);
    for (const name of ['state.json', 'curve.json', 'weights.bin']) cpSync(join(fixture, name), join(dir, name)); // as if killed before removing them
    const before = committed(dir);
    assert.match(cli('upgrade', dir).stderr, /already in the current format/);
    assert.deepEqual(committed(dir), before, 'the run was not rolled back to iteration 30');
    assert.ok(!existsSync(join(dir, 'state.json')) && !existsSync(join(dir, 'weights.bin')));
    for (const name of ['state.json', 'weights.bin']) cpSync(join(fixture, name), join(dir, name));
    assert.equal(cli('train', '--resume', dir, '--iterations', '41', '--backend', 'cpu', '--quiet').code, 0);
    assert.ok(!existsSync(join(dir, 'state.json')) && !existsSync(join(dir, 'weights.bin')), '--resume cleans them up');
  });

  it('a lock naming this very process (a restarted container reuses pids) is stale; a train that fails to start releases its lock', async () => {
    const dir = join(scratch, 'own-pid');
    assert.equal(cli(...RUN, '--name', 'own-pid', '--iterations', '3', '--quiet').code, 0);
    const { lockRunDir } = await import('../src/run/lock.js');
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: process.pid, host: hostname(), token: 'a-dead-holder', since: '2024-01-01T00:00:00.000Z' }));
    lockRunDir(dir).release();
    assert.ok(!existsSync(join(dir, 'lock')));
    // a damaged run: the resume is refused, and leaves no lock behind
    writeFileSync(join(dir, 'model.json'), '{ damaged');
    const { train } = await import('../src/train/loop.js');
    await assert.rejects(train({ runDir: dir, resume: {} }), /not valid JSON/);
    assert.ok(!existsSync(join(dir, 'lock')), 'the lock is released');
  });

  it('a run whose lock is deleted, or taken over, stops before its next write and says which', async () => {
    const dir = join(scratch, 'lost-lock');
    assert.equal(cli(...RUN, '--name', 'lost-lock', '--iterations', '3', '--quiet').code, 0);
    const { lockRunDir } = await import('../src/run/lock.js');
    const lock = lockRunDir(dir);
    lock.check();
    rmSync(join(dir, 'lock'));
    assert.throws(() => lock.check(), { message: `${dir}: the run's lock (lock) has been deleted or damaged; stopping without writing` });
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: 1, host: 'elsewhere', token: 'another-holder', since: '2024-01-01T00:00:00.000Z' }));
    assert.throws(() => lock.check(), { message: `${dir}: this process no longer holds the run's lock (process 1 on elsewhere does); stopping without writing` });
    lock.release();
    assert.ok(existsSync(join(dir, 'lock')), "release leaves another holder's lock alone");
  });

  it('--resume with --iterations below the run\'s iteration is refused', () => {
    const r = cli('train', '--resume', uninterrupted, '--iterations', '10', '--backend', 'cpu');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--iterations 10 is below the run's iteration 400/);
  });

  it('--json progress events are the curve points, one per logged window, resumes included', () => {
    const dir = join(scratch, 'events');
    const first = cli('train', '--algo', 'reptile', '--hidden', '8', '--meta-lr-final', 'none', '--iterations', '15', '--log-every', '10', '--backend', 'cpu', '--out-dir', scratch, '--name', 'events', '--json');
    const second = cli('train', '--resume', dir, '--iterations', '40', '--log-every', '7', '--backend', 'cpu', '--json');
    const events = [first, second].flatMap((r) => r.stdout.trim().split('\n').map((l) => JSON.parse(l))).filter((e) => e.event === 'progress');
    const curve = readRunDir(dir).curve!.train;
    assert.deepEqual(events.map((e) => [e.iteration, e.metaLoss]), curve.map((p) => [p.iteration, p.metaLoss]));
    assert.deepEqual(curve.map((p) => p.iteration), [10, 15, 22, 29, 36, 40]);
  });
});
