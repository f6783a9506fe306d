// The built CLI as a user runs it: help, a smoke run of `train --algo reptile`
// with few iterations, then `eval` on its checkpoint.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TRAIN_OPTIONS } from '../src/config/config.js';
import { runCli, runFiles } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'metalearn-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const metalearn = (...args: string[]) => runCli(scratch, ...args);

describe('metalearn CLI', () => {
  it('--help lists the commands; train --help documents every option with its default', () => {
    const top = metalearn('--help');
    assert.equal(top.code, 0);
    for (const cmd of ['train', 'eval']) assert.match(top.stdout, new RegExp(`\\b${cmd}\\b`));
    const help = metalearn('train', '--help');
    assert.equal(help.code, 0);
    const text = help.stdout.replace(/\s+/g, ' ');
    // one entry per option: from its flag to the next line that starts with a flag
    const entries = help.stdout.split(/\n(?= {2}-)/).map((e) => e.replace(/\s+/g, ' ').trim());
    for (const spec of Object.values(TRAIN_OPTIONS)) {
      const flag = spec.flag.split(' ')[0];
      const entry = entries.find((e) => e.startsWith(`${flag} `));
      assert.ok(entry, `${flag} is not in train --help`);
      assert.match(entry, /\(default: [^)]+\)/, `${flag} without its default`);
    }
    for (const flag of ['--config', '--name', '--resume', '--force', '--backend', '--quiet', '--json']) assert.ok(text.includes(flag), flag);
    const evalHelp = metalearn('eval', '--help').stdout;
    for (const flag of ['--checkpoint', '--samples', '--updates', '--lr', '--tasks', '--seed', '--out', '--backend']) assert.ok(evalHelp.includes(flag), flag);
  });

  it('smoke: train --algo reptile with few iterations, then eval its checkpoint', () => {
    const train = metalearn('train', '--algo', 'reptile', '--iterations', '30', '--eval-every', '10', '--seed', '5', '--json');
    assert.equal(train.code, 0, train.stderr);
    const runDir = join(scratch, 'checkpoints', 'reptile-5');
    const files = runFiles(runDir);
    for (const f of [files.model, files.weights, files.state, files.curve]) assert.ok(existsSync(f), f);
    assert.match(files.weights, /weights-0000030\.bin$/);
    const events = train.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(events[0].event, 'start');
    assert.ok(['wasm', 'cpu', 'tensorflow'].includes(events[0].backend));
    assert.equal(events.at(-1).event, 'end');
    assert.equal(events.at(-1).iteration, 30);
    const curve = JSON.parse(readFileSync(files.curve, 'utf8'));
    assert.deepEqual(curve.train.map((p: { iteration: number }) => p.iteration), [10, 20, 30]);
    assert.deepEqual(curve.validation.map((p: { iteration: number }) => p.iteration), [0, 10, 20, 30]);
    assert.equal(JSON.parse(readFileSync(files.model, 'utf8')).userDefinedMetadata.metalearn.backend, events[0].backend);

    const out = join(scratch, 'eval.json');
    const ev = metalearn('eval', '--checkpoint', 'checkpoints/reptile-5', '--samples', '5', '--updates', '10', '--tasks', '50', '--out', out);
    assert.equal(ev.code, 0, ev.stderr);
    const lines = ev.stdout.trim().split('\n');
    assert.match(lines[0], /checkpoint\s+lr\s+0\s+1\s+2\s.*\s10$/);
    assert.match(lines[1], /^checkpoints\/reptile-5\s/);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(report.results[0].byUpdate.length, 11);
    assert.equal(report.settings.samples, 5);
    assert.equal(report.results[0].byUpdate[0].n, 50);
  });

  it('refuses to overwrite a run without --force, and replaces it with --force', () => {
    const args = ['train', '--algo', 'random', '--name', 'twice', '--quiet'];
    assert.equal(metalearn(...args).code, 0);
    const again = metalearn(...args);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already holds a run.*--resume.*--force/);
    assert.equal(metalearn(...args, '--force').code, 0);
  });

  it('extends a run with --resume --iterations, but not one whose outer step size is annealed over its length', () => {
    assert.equal(metalearn('train', '--algo', 'reptile', '--iterations', '6', '--name', 'extend', '--quiet').code, 0);
    const extended = metalearn('train', '--resume', 'checkpoints/extend', '--iterations', '9', '--json');
    assert.equal(extended.code, 0, extended.stderr);
    assert.equal(JSON.parse(extended.stdout.trim().split('\n').at(-1)!).iteration, 9);
    assert.equal(metalearn('train', '--algo', 'reptile', '--iterations', '6', '--meta-lr-final', '0', '--name', 'annealed', '--quiet').code, 0);
    const refused = metalearn('train', '--resume', 'checkpoints/annealed', '--iterations', '9');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /iterations = 6, not 9 \(its outer step size is annealed/);
  });

  it('rejects an unknown algorithm with one line and exit code 2', () => {
    const r = metalearn('train', '--algo', 'mammal');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /'algo' \(--algo\).*maml/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
