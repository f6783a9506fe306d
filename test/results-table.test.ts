// The README's results tables are bin/results-table.js's output on the committed reports, and its
// --check finds a mean that moved outside a stated interval.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const results = join(root, 'docs/results');
const table = (...args: string[]) => execFileSync(process.execPath, [join(root, 'bin/results-table.js'), ...args], { encoding: 'utf8' });
const scratch = mkdtempSync(join(tmpdir(), 'metalearn-results-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('results tables', () => {
  it("the README's tables are the generator's summaries of docs/results, verbatim", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const summary = table(results, '--summary').trim();
    assert.ok(summary.length > 1000);
    assert.ok(readme.includes(summary), 'README.md is out of date: node bin/results-table.js docs/results --summary');
  });

  it('--check counts a seed group whose fresh mean left its interval, and no other cell', () => {
    const report = JSON.parse(readFileSync(join(results, 'paper-k5.json'), 'utf8'));
    const group = report.seedGroups.find((g: { name: string }) => g.name === 'maml-paper-k5');
    // the runs' means and the group's moved by 0.05 after one update (its interval there is about 0.013)
    for (const i of group.members) report.results[i].byUpdate[1].mean += 0.05;
    group.byUpdate[1].mean += 0.05;
    writeFileSync(join(scratch, 'paper-k5.json'), JSON.stringify(report));
    const out = table(results, '--check', scratch);
    const cells = report.seedGroups.length * 4 + (report.results.length - report.seedGroups.flatMap((g: { members: number[] }) => g.members).length) * 4;
    assert.match(out, new RegExp(`^${cells - 1} of ${cells} summary cells`));
    const misses = out.split('\n').filter((l) => l.startsWith('| paper-k5.json'));
    assert.equal(misses.length, 1);
    assert.match(misses[0], /^\| paper-k5\.json \| maml-paper-k5 \| 1 \| 0\.562 \+- 0\.0\d\d \| 0\.612 /);
  });
});
