#!/usr/bin/env node
// Prints docs/results.md's tables (markdown) from the `metalearn eval --out` reports that
// bin/reproduce.sh writes: per experiment, a summary (each config's mean over its seeds, with the
// 95% t-interval over seeds widened by the interval a fresh 20 000-task evaluation falls in) beside
// the published numbers, then every run on its own (mean over tasks, the interval a fresh 20 000-task
// evaluation falls in, tasks that diverged, median).
// Usage: node bin/results-table.js docs/results > docs/results/tables.md
//        node bin/results-table.js docs/results --summary    (the summaries alone: docs/results.md's tables)
//        node bin/results-table.js docs/results --check docs/results/fresh-4242
//            (does each summary cell's interval hold the mean of a fresh evaluation on other tasks?)
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const dir = process.argv[2] ?? 'docs/results';
const summaryOnly = process.argv.includes('--summary');
const checkIndex = process.argv.indexOf('--check');
const checkDir = checkIndex > 0 ? process.argv[checkIndex + 1] : null;
if (checkIndex > 0 && !checkDir) throw new Error('--check takes the folder of the fresh evaluation, e.g. docs/results/fresh-2027');
/** The size of the fresh evaluation the per-run intervals are for. */
const FRESH = 20000;

// Published numbers: MAML paper (Finn et al. 2017), Table 2 / figure 2, K = 5, after 1 / 5 / 10 steps (its
// pretrained baseline likewise); Meta-SGD paper (Li et al. 2017), Table 1, 5-shot, one step.
const EXPERIMENTS = [
  { file: 'paper-k5.json', title: 'MAML paper, section 5.1: K = 5, SGD 0.01', steps: [0, 1, 5, 10], published: { 'maml-paper-k5': [null, 0.67, 0.38, 0.35], 'transfer-paper': [null, 2.41, 2.23, 2.19] } },
  { file: 'ranking-k5.json', title: 'Seven meta-learners, 5-shot, on the MAML paper protocol: K = 5, each fine-tuned its own way at its inner lr (cavia its context at 1.0, anil its head, meta-sgd and maml++ at their learned rates, maml++ by SGD 0.01 after its one learned step), ranked by the mean after one update', steps: [0, 1, 5, 10], rankBy: 1 },
  { file: 'cavia-k10.json', title: "CAVIA's own setting: K = 10, its context at 1.0; MAML trained at K = 10, SGD 0.01", steps: [0, 1, 5, 10] },
  { file: 'paper-k10.json', title: 'MAML paper protocol, K = 10, SGD 0.01', steps: [0, 1, 5, 10] },
  { file: 'paper-k5-random-query.json', title: "MAML paper, K = 5, SGD 0.01, with cbfinn/maml's test loss: the MSE on K = 5 fresh random query points", steps: [0, 1, 5, 10], query: true, published: { 'maml-paper-k5': [null, 0.67, 0.38, 0.35] } },
  { file: 'meta-sgd-k5.json', title: 'Meta-SGD paper: 5-shot models tested at K = 5, one step (meta-sgd at its learned rates, maml at 0.01)', steps: [0, 1], published: { 'meta-sgd-paper': [null, 0.9], 'maml-paper-k5': [null, 1.13] } },
  { file: 'meta-sgd-k10.json', title: 'The same 5-shot models tested at K = 10, one step', steps: [0, 1] },
  { file: 'meta-sgd-k20.json', title: 'The same 5-shot models tested at K = 20, one step', steps: [0, 1] },
  { file: 'freq-k5.json', title: 'The frequency-varying family (w in [0.8, 1.2]), K = 5, SGD 0.01 (meta-sgd at its learned rates)', steps: [0, 1, 5, 10] },
  { file: 'flux.json', title: 'Flux post: K = 10 from [-5, 5], 32 updates of SGD 0.02', steps: [0, 1, 10, 32] },
  { file: 'flux-robustness.json', title: 'Flux post robustness test: K = 5 from [0, 5], 10 updates of SGD 0.02', steps: [0, 1, 5, 10] },
  { file: 'blog.json', title: 'PyTorch post: K = 4, 5 steps of SGD 0.03 on the L1 loss (grid MSE)', steps: [0, 1, 5] },
  { file: 'numpy.json', title: 'numpy post: K = 10, SGD 0.01', steps: [0, 1, 5, 10] },
  { file: 'jax.json', title: 'JAX post: K = 20, SGD 0.1', steps: [0, 1, 5, 10] },
  { file: 'daml.json', title: 'DAML (PyTorch post): 1 unlabeled source input per step, 5 steps of 0.03 down the learned loss (grid MSE)', steps: [0, 1, 5] },
];

const num = (v) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : Math.abs(v) >= 100 ? v.toExponential(2) : v.toFixed(3));
/** The half-width of the 95% interval a fresh evaluation of FRESH tasks lands in around one run's mean: 1.96 sd sqrt(1/n + 1/FRESH). */
const freshDraw = (s) => 1.96 * s.std * Math.sqrt(1 / (s.n - s.diverged) + 1 / FRESH);
/** One run at one update: its mean +- the fresh-draw interval, and the tasks that diverged. */
function runCell(s) {
  const half = s.diverged === s.n ? null : freshDraw(s);
  return { mean: half === null ? null : s.mean, half, draw: half, diverged: s.diverged, tasks: s.n };
}
/**
 * A config over its seeds at one update: mean of the runs' means +- the 95% t-interval over seeds
 * combined (in quadrature) with the fresh-draw interval of that mean, and the tasks that diverged in
 * all. The runs share their tasks, so the spread over seeds leaves out the draw of the tasks; the
 * fresh-draw term puts it back, bounded above by the mean of the runs' own (the sd of a mean of
 * runs is at most the mean of their sds).
 */
function groupCell(g, runs, u) {
  const s = g[u];
  const diverged = runs.reduce((n, r) => n + r[u].diverged, 0);
  const tasks = runs.reduce((n, r) => n + r[u].n, 0);
  if (s.runs === 0) return { mean: null, half: null, draw: null, diverged, tasks };
  const kept = runs.map((r) => r[u]).filter((r) => r.diverged < r.n);
  const draw = kept.reduce((sum, r) => sum + freshDraw(r), 0) / kept.length;
  return { mean: s.mean, half: Math.hypot(s.ci95 ?? 0, draw), draw, diverged, tasks };
}
const cellText = (c) => {
  const note = c.diverged ? `diverged ${c.diverged}/${c.tasks}` : '';
  return c.mean === null ? note : `${num(c.mean)} +- ${num(c.half)}${note ? ` (${note})` : ''}`;
};
const percent = (v) => `${(100 * v).toFixed(1)}%`;
const stem = (checkpoint) => basename(checkpoint).replace(/-\d+$/, '');

/** A run's per-update statistics of the experiment's loss: the grid's, or the random query points'. */
const statsOf = (e, r) => (e.query ? r.queryByUpdate : r.byUpdate);

/** The summary rows of one experiment's report: a row per config (its seeds together) and per single run, ranked where the experiment ranks. */
function summaryRows(e, report) {
  const stats = (r) => statsOf(e, r);
  const grouped = new Set((report.seedGroups ?? []).flatMap((g) => g.members));
  const rows = [
    ...(report.seedGroups ?? []).map((g) => ({ name: report.results[g.members[0]].algo === null ? `${g.name} (PyTorch peer)` : g.name, result: report.results[g.members[0]], seeds: g.members.length, cells: e.steps.map((u) => groupCell(e.query ? g.queryByUpdate : g.byUpdate, g.members.map((i) => stats(report.results[i])), u)), phase: null })),
    ...report.results
      .filter((_, i) => !grouped.has(i))
      .map((r) => ({ name: r.algo === null ? `${basename(r.checkpoint)} (PyTorch peer)` : stem(r.checkpoint), result: r, seeds: 1, cells: e.steps.map((u) => runCell(stats(r)[u])), phase: r.phaseAccuracy })),
  ];
  // a ranking: lowest mean first (a mean that is null, every run diverged, last)
  const at = (row) => row.cells[e.steps.indexOf(e.rankBy)].mean ?? Infinity;
  if (e.rankBy !== undefined) rows.sort((a, b) => at(a) - at(b));
  return rows;
}

const reports = (from) => EXPERIMENTS.filter((e) => existsSync(join(from, e.file))).map((e) => ({ e, report: JSON.parse(readFileSync(join(from, e.file), 'utf8')) }));

/** Each run of a seed group on its own, as tables.md lists them. */
const memberRows = (e, report) => (report.seedGroups ?? []).flatMap((g) => g.members.map((i) => report.results[i])).map((r) => ({ name: basename(r.checkpoint), result: r, cells: e.steps.map((u) => runCell(statsOf(e, r)[u])) }));

if (checkDir) {
  // each cell of `dir` (the summaries, and each run of a seed group) against the same row's mean in a fresh
  // evaluation of the same checkpoints and settings but the tasks' --seed, in checkDir
  const counts = { summary: { inside: 0, drawOnly: 0, cells: 0 }, run: { inside: 0, drawOnly: 0, cells: 0 } };
  const misses = [];
  const skipped = [];
  const setting = (report) => JSON.stringify({ ...report.settings, seed: undefined, checkpoints: report.results.map((r) => r.checkpoint) });
  for (const { e, report } of reports(dir)) {
    const freshPath = join(checkDir, e.file);
    if (!existsSync(freshPath)) {
      skipped.push(`${e.file}: not in ${checkDir}`);
      continue;
    }
    const fresh = JSON.parse(readFileSync(freshPath, 'utf8'));
    if (setting(fresh) !== setting(report)) throw new Error(`${freshPath}: not the evaluation of ${join(dir, e.file)} on other tasks (its settings or checkpoints differ beyond --seed)`);
    if (fresh.settings.seed === report.settings.seed) throw new Error(`${freshPath}: the same tasks (--seed ${report.settings.seed}) as ${join(dir, e.file)}, not a fresh draw`);
    for (const [kind, rowsOf] of [['summary', summaryRows], ['run', memberRows]]) {
      const freshRows = new Map(rowsOf(e, fresh).map((row) => [row.name, row]));
      for (const row of rowsOf(e, report)) {
        row.cells.forEach((c, j) => {
          const f = freshRows.get(row.name)?.cells[j];
          if (c.mean === null || !f || f.mean === null) {
            skipped.push(`${e.file}, ${row.name}, update ${e.steps[j]}: every task diverged in ${c.mean === null ? dir : checkDir}`);
            return;
          }
          counts[kind].cells++;
          const off = Math.abs(f.mean - c.mean);
          if (off <= c.draw) counts[kind].drawOnly++;
          if (off <= c.half) counts[kind].inside++;
          else misses.push(`| ${e.file} | ${row.name} | ${e.steps[j]} | ${cellText(c)} | ${num(f.mean)} (--seed ${fresh.settings.seed}) |`);
        });
      }
    }
  }
  const { summary, run } = counts;
  console.log(`Of the cells in ${dir}, these hold the mean of the fresh evaluation in ${checkDir} inside their interval:`);
  console.log(`- ${summary.inside} of ${summary.cells} summary cells (${summary.drawOnly} with the fresh-draw term of a seed group's interval alone, without the spread over seeds)`);
  console.log(`- ${run.inside} of ${run.cells} cells of single runs of a seed group (tables.md; a 95% interval: about 5% outside is expected)`);
  if (skipped.length) console.log(`\nNot compared:\n${skipped.map((l) => `- ${l}`).join('\n')}`);
  console.log(`\nOutside:\n\n| report | row | update | stated | fresh mean |\n| --- | --- | --- | --- | --- |\n${misses.join('\n')}`);
  process.exit(0);
}

for (const { e, report } of reports(dir)) {
  const { tasks, seed } = report.settings;
  const loss = e.query ? 'MSE on 5 random query points' : 'grid MSE';
  console.log(`**${e.title}** (\`${e.file}\`, ${tasks} tasks of --seed ${seed}): mean ${loss} after ${e.steps.join(' / ')} updates\n`);
  const header = ['model', 'algo', 'seeds', ...e.steps.map(String)];
  const published = e.published ?? {};
  const hasPublished = Object.keys(published).length > 0;
  const hasPhase = report.results.some((r) => r.phaseAccuracy);
  if (hasPublished) header.push(`published (${e.steps.join(' / ')})`);
  if (hasPhase) header.push(`right phase (${e.steps.join(' / ')})`);
  console.log(`| ${header.join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|`);
  for (const row of summaryRows(e, report)) {
    const cells = [row.name, row.result.algo ?? 'PyTorch', String(row.seeds), ...row.cells.map(cellText)];
    if (hasPublished) cells.push((published[row.name] ?? []).map(num).join(' / '));
    if (hasPhase) cells.push(row.phase ? e.steps.map((u) => percent(row.phase[u])).join(' / ') : '');
    console.log(`| ${cells.join(' | ')} |`);
  }
  // every run of a config with several seeds, on its own
  if ((report.seedGroups ?? []).length && !summaryOnly) {
    console.log(`\nEach run (mean +- the 95% interval of a fresh evaluation of ${FRESH} tasks; median):\n`);
    const runHeader = ['run', ...e.steps.map(String), `median (${e.steps.join(' / ')})`];
    console.log(`| ${runHeader.join(' | ')} |\n|${runHeader.map(() => ' --- ').join('|')}|`);
    for (const row of memberRows(e, report)) console.log(`| ${row.name} | ${row.cells.map(cellText).join(' | ')} | ${e.steps.map((u) => num(statsOf(e, row.result)[u].median)).join(' / ')} |`);
  }
  console.log('');
}
