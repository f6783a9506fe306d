// The built CLI as a user runs it: help, a smoke run of `train --algo reptile`
// with few iterations, then `eval` on its checkpoint.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ALGORITHMS } from '../src/algorithms/index.js';
import { cell, columnNames, shownUpdates } from '../src/commands/eval-table.js';
import { TRAIN_OPTIONS } from '../src/config/config.js';
import { FORMAT_VERSION } from '../src/run/format.js';
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

  it("--version is package.json's and its lock's, past 0.1 (metalearn 0.1 wrote format 1, this one writes a later format)", () => {
    const read = (file: string) => JSON.parse(readFileSync(fileURLToPath(new URL(`../../${file}`, import.meta.url)), 'utf8'));
    const [pkg, lock] = [read('package.json'), read('package-lock.json')];
    const version = metalearn('--version');
    assert.equal(version.code, 0);
    assert.equal(version.stdout, `${pkg.version}\n`);
    assert.deepEqual([lock.version, lock.packages[''].version], [pkg.version, pkg.version]);
    assert.ok(FORMAT_VERSION > 1);
    assert.doesNotMatch(pkg.version, /^0\.1\./);
  });

  it("--help names every algorithm of the registry, and so does package.json's description", () => {
    const help = metalearn('--help').stdout.replace(/\s+/g, ' ');
    const description = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')).description.toLowerCase();
    for (const algo of ALGORITHMS) {
      assert.ok(help.includes(algo), `${algo} is not in --help`);
      assert.ok(description.includes(algo), `${algo} is not in package.json's description`);
    }
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
    const lines = ev.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^\s+reptile-5$/, 'the run directory names its column');
    assert.match(lines[1], /^fine-tuning\s+sgd at 0\.02$/);
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
    assert.equal(metalearn('train', '--algo', 'reptile', '--iterations', '6', '--meta-lr-final', 'none', '--name', 'extend', '--quiet').code, 0);
    const extended = metalearn('train', '--resume', 'checkpoints/extend', '--iterations', '9', '--json');
    assert.equal(extended.code, 0, extended.stderr);
    assert.equal(JSON.parse(extended.stdout.trim().split('\n').at(-1)!).iteration, 9);
    assert.equal(metalearn('train', '--algo', 'reptile', '--iterations', '6', '--meta-lr-final', '0', '--name', 'annealed', '--quiet').code, 0);
    const refused = metalearn('train', '--resume', 'checkpoints/annealed', '--iterations', '9');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /iterations = 6, not 9 \(its outer step size is annealed/);
  });

  it('--resume of a run trained to its iterations says so and how to train further, exits 0 and rewrites nothing', () => {
    assert.equal(metalearn('train', '--algo', 'reptile', '--iterations', '4', '--hidden', '8', '--meta-lr-final', 'none', '--name', 'finished', '--quiet').code, 0);
    const dir = join(scratch, 'checkpoints', 'finished');
    const before = readdirSync(dir).map((f) => [f, statSync(join(dir, f)).mtimeMs]);
    const again = metalearn('train', '--resume', 'checkpoints/finished');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, 'checkpoints/finished is already trained to its 4 iterations: to train further, give more, e.g. npx metalearn train --resume checkpoints/finished --iterations 8\n');
    assert.deepEqual(readdirSync(dir).map((f) => [f, statSync(join(dir, f)).mtimeMs]), before);
    const json = metalearn('train', '--resume', 'checkpoints/finished', '--iterations', '4', '--json');
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { event: 'end', runDir: 'checkpoints/finished', iteration: 4, stopped: false, validation: JSON.parse(readFileSync(runFiles(dir).curve, 'utf8')).validation.at(-1) });
    assert.equal(metalearn('train', '--algo', 'maml++', '--iterations', '2', '--hidden', '8', '--name', 'annealed-done', '--quiet').code, 0);
    assert.match(metalearn('train', '--resume', 'checkpoints/annealed-done').stderr, /already trained to its 2 iterations, over which its outer step size is annealed \(--meta-lr-final\): to train longer, start a new run/);
  });

  it("a run's model.json names its run directory: eval --checkpoint, train --resume, plot-data curves --run", () => {
    assert.equal(metalearn('train', '--algo', 'reptile', '--iterations', '2', '--hidden', '8', '--meta-lr-final', 'none', '--name', 'by-model', '--quiet').code, 0);
    const model = join('checkpoints', 'by-model', 'model.json');
    const evaluated = metalearn('eval', '--checkpoint', model, '--tasks', '5', '--updates', '1', '--backend', 'cpu', '--json');
    assert.equal(evaluated.code, 0, evaluated.stderr);
    assert.equal(JSON.parse(evaluated.stdout).results[0].checkpoint, join('checkpoints', 'by-model'));
    const resumed = metalearn('train', '--resume', model, '--iterations', '3', '--json');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(JSON.parse(resumed.stdout.trim().split('\n').at(-1)!).iteration, 3);
    assert.ok(existsSync(join(scratch, 'checkpoints', 'by-model', 'weights-0000003.bin')));
    const plotted = metalearn('plot-data', 'curves', '--run', model, '--out', join('plots', 'by-model'));
    assert.equal(plotted.code, 0, plotted.stderr);
  });

  it('plot-data offers an option only where the option it needs is: losses has no --wave, so no --points', () => {
    const flagsOf = (kind: string) => new Set([...metalearn('plot-data', kind, '--help').stdout.matchAll(/^ +(--[a-z-]+)/gm)].map((m) => m[1]));
    const [losses, fit] = [flagsOf('losses'), flagsOf('fit')];
    assert.ok(losses.has('--checkpoint') && !losses.has('--wave') && !losses.has('--points'), [...losses].join(' '));
    assert.ok(fit.has('--wave') && fit.has('--points'), [...fit].join(' '));
    const refused = metalearn('plot-data', 'losses', '--checkpoint', 'x', '--points', '1');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /unknown option '--points'/);
  });

  it('a misspelt command gets a suggestion: one it begins or that begins it, or a near miss', () => {
    for (const [word, meant] of [['evaluate', 'eval'], ['plot', 'plot-data'], ['training', 'train'], ['evl', 'eval']]) {
      const r = metalearn(word);
      assert.equal(r.code, 2);
      assert.equal(r.stderr, `error: unknown command '${word}' (Did you mean ${meant}?) (add --help for usage)\n`);
    }
    assert.equal(metalearn('xyz').stderr, "error: unknown command 'xyz' (add --help for usage)\n");
  });

  it('rejects an unknown algorithm with one line and exit code 2', () => {
    const r = metalearn('train', '--algo', 'mammal');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /'algo' \(--algo\).*maml/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});

describe("eval's table", () => {
  // committed runs, read only
  const committed = fileURLToPath(new URL('../../checkpoints/shipped/', import.meta.url));
  const TEN = ['maml-paper-k5-0', 'maml-paper-k5-1', 'maml-paper-k5-2', 'meta-sgd-freq-k5-0', 'maml++-paper-k5-0', 'anil-paper-k5-0', 'cavia-paper-k5-0', 'peer-transfer-paper-0', 'reptile-paper-0', 'random-paper-0'];
  const evalTable = (runs: string[], ...args: string[]) => {
    const r = metalearn('eval', ...runs.flatMap((run) => ['--checkpoint', join(committed, run)]), '--backend', 'cpu', ...args);
    assert.equal(r.code, 0, r.stderr);
    return r;
  };
  /** The updates of a table's rows, in order, section after section. */
  const rowUpdates = (table: string) => [...table.matchAll(/^ +(\d+) updates?(?= )/gm)].map((m) => Number(m[1]));
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  it('ten checkpoints and 32 updates: tables of at most 100 columns, a column per checkpoint and seed group, updates 0, 1, 2, 5, 10, 20 and 32 as rows', () => {
    const { stdout } = evalTable(TEN, '--tasks', '5', '--updates', '32', '--query', 'random');
    for (const line of stdout.split('\n')) assert.ok(line.length <= 100, `${line.length} characters: ${line}`);
    const tables = stdout.trimEnd().split('\n\n');
    assert.ok(tables.length > 1, 'wrapped into several tables');
    const heads = tables.map((t) => t.split('\n')[0]).join(' ');
    for (const name of [...TEN, 'maml-paper-k5 (3 seeds)']) assert.match(heads, new RegExp(`(^| )${escape(name)}( |$)`), name);
    const shown = [0, 1, 2, 5, 10, 20, 32];
    for (const table of tables) {
      assert.match(table, /^grid MSE after$(\n.*)+^random query MSE after$/m);
      assert.deepEqual(rowUpdates(table), [...shown, ...shown], 'the grid and the random query losses');
    }
  });

  it('--all-updates shows every update; the report (--out) holds every one either way', () => {
    const [some, all] = [[], ['--all-updates']].map((flag, i) => {
      const out = join(scratch, `updates-${i}.json`);
      const r = evalTable(['reptile-paper-0'], '--tasks', '5', '--updates', '12', '--out', out, ...flag);
      return { table: r.stdout, stderr: r.stderr, report: readFileSync(out, 'utf8') };
    });
    assert.deepEqual(rowUpdates(some.table), [0, 1, 2, 5, 10, 12]);
    assert.match(some.stderr, /the loss after updates 0, 1, 2, 5, 10, 12 of 12: --all-updates shows every one/);
    assert.deepEqual(rowUpdates(all.table), Array.from({ length: 13 }, (_, u) => u));
    assert.doesNotMatch(all.stderr, /--all-updates shows/);
    assert.equal(JSON.parse(some.report).results[0].byUpdate.length, 13);
    assert.equal(some.report, all.report);
  });

  it('one task (--wave): the loss alone, no interval', () => {
    const one = evalTable(['reptile-paper-0', 'maml-paper-k5-0'], '--wave', '2,1', '--updates', '2');
    assert.deepEqual(rowUpdates(one.stdout), [0, 1, 2]);
    for (const line of one.stdout.split('\n').filter((l) => /updates?/.test(l))) assert.match(line, /^ +\d updates?( +\d+\.\d{3}){2}$/);
    assert.match(one.stderr, /the loss of the one task \(no interval over one task\)/);
    const two = evalTable(['reptile-paper-0'], '--tasks', '2', '--updates', '2');
    assert.match(two.stdout, /^ +2 updates +\d+\.\d{3}\+-\d+\.\d{3}$/m);
  });

  it('checkpoints trained on different task families: a note says which family the tasks are from and how the others differ (not with --quiet or --json)', () => {
    const runs = ['maml-paper-k5-0', 'meta-sgd-freq-k5-0'];
    const frequency = (run: string) => JSON.parse(readFileSync(join(committed, run, 'model.json'), 'utf8')).userDefinedMetadata.metalearn.config.frequency as number[];
    assert.notDeepEqual(frequency(runs[0]), frequency(runs[1]));
    const shown = (range: number[]) => (range[0] === range[1] ? `${range[0]}` : range.join(','));
    const note = `note: the tasks are drawn from the task family of ${join(committed, runs[0])}, the first checkpoint; ${join(committed, runs[1])} was trained on another: frequency ${shown(frequency(runs[1]))} (the tasks: frequency ${shown(frequency(runs[0]))})\n`;
    assert.ok(evalTable(runs, '--tasks', '5', '--updates', '1').stderr.includes(note));
    for (const quiet of ['--quiet', '--json']) assert.doesNotMatch(evalTable(runs, '--tasks', '5', '--updates', '1', quiet).stderr, /note:/);
    assert.doesNotMatch(evalTable(['maml-paper-k5-0', 'reptile-paper-0'], '--tasks', '5', '--updates', '1').stderr, /note:/, 'the same family');
  });

  it('cells: no interval over fewer than two tasks that did not diverge; columns named by basename, longer where two collide', () => {
    assert.equal(cell({ mean: 0.5, ci95: 0, diverged: 1, n: 2 }), '0.500 (diverged 1/2)');
    assert.equal(cell({ mean: 0.5, ci95: 0.25, diverged: 1, n: 3 }), '0.500+-0.250 (diverged 1/3)');
    assert.equal(cell({ mean: NaN, ci95: 0, diverged: 3, n: 3 }), 'diverged 3/3');
    assert.deepEqual(columnNames(['runs/a/reptile-0', 'runs/b/reptile-0', 'maml-0/', './runs/a/reptile-0']), [join('a', 'reptile-0'), join('b', 'reptile-0'), 'maml-0', `${join('a', 'reptile-0')} #2`]);
    assert.deepEqual(shownUpdates(0, false), [0]);
    assert.deepEqual(shownUpdates(3, false), [0, 1, 2, 3]);
    assert.deepEqual(shownUpdates(250, false), [0, 1, 2, 5, 10, 20, 50, 100, 200, 250]);
    assert.deepEqual(shownUpdates(4, true), [0, 1, 2, 3, 4]);
  });
});
