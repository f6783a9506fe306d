// The results tables of docs/results.md are bin/results-table.js's output on the committed reports, every
// checkpoint they score is shipped, a seed group's interval is the one docs/results.md describes, and
// --check finds a mean that moved outside a stated interval.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const results = join(root, 'docs/results');
const script = join(root, 'bin/results-table.js');
const table = (...args: string[]) => execFileSync(process.execPath, [script, ...args], { encoding: 'utf8' });
const scratch = mkdtempSync(join(tmpdir(), 'metalearn-results-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Stat { update: number; n: number; diverged: number; mean: number; std: number; ci95: number; median: number }
interface Report { settings: { seed: number; tasks: number }; results: { checkpoint: string; algo: string | null; byUpdate: Stat[] }[]; seedGroups: { name: string; members: number[]; byUpdate: { mean: number; ci95: number; runs: number }[] }[] }
const read = (file: string): Report => JSON.parse(readFileSync(join(results, file), 'utf8'));
const num = (v: number) => v.toFixed(3);
const fresh = (s: Stat) => 1.96 * s.std * Math.sqrt(1 / (s.n - s.diverged) + 1 / 20000);

describe('results tables', () => {
  it("docs/results.md's tables are the generator's summaries of docs/results, verbatim", () => {
    const doc = readFileSync(join(root, 'docs', 'results.md'), 'utf8');
    const summary = table(results, '--summary').trim();
    assert.ok(summary.length > 1000);
    assert.ok(doc.includes(summary), 'docs/results.md is out of date: node bin/results-table.js docs/results --summary');
  });

  it('every checkpoint a report scores is shipped under checkpoints/shipped/, so that the tables can be evaluated again from a clone', () => {
    const reports = readdirSync(results).filter((f) => f.endsWith('.json') && f !== 'bench.json');
    assert.ok(reports.length >= 10);
    for (const file of reports) for (const r of read(file).results) assert.ok(existsSync(join(root, r.checkpoint, 'model.json')), `${file}: ${r.checkpoint}`);
  });

  it("a seed group's cell: the mean of its runs' means +- the t-interval over seeds and the mean fresh-draw interval, in quadrature", () => {
    const report = read('paper-k5.json');
    const summary = table(results, '--summary');
    for (const g of report.seedGroups) {
      const runs = g.members.map((i) => report.results[i].byUpdate[1]);
      const draw = runs.reduce((a, s) => a + fresh(s), 0) / runs.length;
      const row = summary.split('\n').find((l) => l.startsWith(`| ${g.name} `))!;
      assert.equal(row.split(' | ')[4], `${num(g.byUpdate[1].mean)} +- ${num(Math.hypot(g.byUpdate[1].ci95, draw))}`, g.name);
    }
  });

  it('--check counts the cells whose fresh mean left their interval, and no other; it refuses a report of other settings or of the same tasks', () => {
    const report = read('paper-k5.json');
    const g = report.seedGroups.find((s) => s.name === 'maml-paper-k5')!;
    const runs = g.members.map((i) => report.results[i].byUpdate[1]);
    // the group's runs and mean moved after one update by twice the largest of their intervals (the group's is the widest)
    const shift = 2 * Math.hypot(g.byUpdate[1].ci95, Math.max(...runs.map(fresh)));
    for (const s of runs) s.mean += shift;
    g.byUpdate[1].mean += shift;
    const moved = { ...report, settings: { ...report.settings, seed: report.settings.seed + 1 } };
    const dir = join(scratch, 'fresh');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'paper-k5.json'), JSON.stringify(moved));
    const out = table(results, '--check', dir);
    const compared = (line: string) => Number(/(\d+) of (\d+)/.exec(line)![2]) - Number(/(\d+) of/.exec(line)![1]);
    const [summaryLine, runLine] = out.split('\n').filter((l) => l.startsWith('- ') && / of \d+ /.test(l));
    assert.equal(compared(summaryLine), 1, summaryLine);
    assert.equal(compared(runLine), 3, runLine);
    const misses = out.split('\n').filter((l) => l.startsWith('| paper-k5.json'));
    assert.deepEqual(misses.map((l) => l.split(' | ').slice(1, 3)), [['maml-paper-k5', '1'], ...g.members.map((i) => [report.results[i].checkpoint.split('/').at(-1)!, '1'])]);
    // the same tasks, or another evaluation altogether, is not a fresh draw
    writeFileSync(join(dir, 'paper-k5.json'), JSON.stringify(report));
    const same = spawnSync(process.execPath, [script, results, '--check', dir], { encoding: 'utf8' });
    assert.notEqual(same.status, 0);
    assert.match(same.stderr, /the same tasks \(--seed 1000\)/);
    writeFileSync(join(dir, 'paper-k5.json'), JSON.stringify({ ...moved, results: moved.results.slice(1) }));
    const other = spawnSync(process.execPath, [script, results, '--check', dir], { encoding: 'utf8' });
    assert.match(other.stderr, /not the evaluation of .*paper-k5\.json on other tasks/);
  });
});
