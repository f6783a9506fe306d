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

  it('--check counts the cells whose fresh mean left their interval, and no other', () => {
    const report = JSON.parse(readFileSync(join(results, 'paper-k5.json'), 'utf8'));
    const group = report.seedGroups.find((g: { name: string }) => g.name === 'maml-paper-k5');
    // the group's runs and mean moved by 0.05 after one update (the intervals there are about 0.013)
    for (const i of group.members) report.results[i].byUpdate[1].mean += 0.05;
    group.byUpdate[1].mean += 0.05;
    writeFileSync(join(scratch, 'paper-k5.json'), JSON.stringify(report));
    const out = table(results, '--check', scratch);
    const members = report.seedGroups.flatMap((g: { members: number[] }) => g.members).length;
    const summaryCells = (report.seedGroups.length + report.results.length - members) * 4;
    assert.match(out, new RegExp(`^${summaryCells - 1} of ${summaryCells} summary cells and ${members * 4 - 3} of ${members * 4} cells of single runs`));
    const misses = out.split('\n').filter((l) => l.startsWith('| paper-k5.json'));
    assert.deepEqual(misses.map((l) => l.split(' | ').slice(1, 3)), [['maml-paper-k5', '1'], ['maml-paper-k5-0', '1'], ['maml-paper-k5-1', '1'], ['maml-paper-k5-2', '1']]);
    assert.match(misses[0], /^\| paper-k5\.json \| maml-paper-k5 \| 1 \| 0\.562 \+- 0\.0\d\d \| 0\.612 /);
  });
});
