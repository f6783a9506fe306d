// `metalearn eval`'s table for a terminal: one row per update shown, one column per checkpoint (then
// one per group of seeds), wrapped into tables stacked down the screen where they would be wider than
// it. The report (--out, --json) keeps every number; the table shows some updates of it.
import { normalize, sep } from 'node:path';
import type { Summary } from '../core/stats.js';
import type { EvalReport, SeedGroup } from '../eval/report.js';

/** Columns the table fits in when stdout is not a terminal (a file, a pipe, a test). */
export const DEFAULT_WIDTH = 100;

/** The width the table fits in: the terminal's, else DEFAULT_WIDTH. */
export function outputWidth(): number {
  return process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : DEFAULT_WIDTH;
}

/** The updates the table shows: 0, 1, 2, 5, 10, 20, 50, 100, ... (1-2-5 steps) below `updates`, and `updates` itself; with `all`, every one. */
export function shownUpdates(updates: number, all: boolean): number[] {
  if (all) return Array.from({ length: updates + 1 }, (_, u) => u);
  const shown = [0];
  for (let decade = 1; decade < updates; decade *= 10) shown.push(...[decade, 2 * decade, 5 * decade].filter((u) => u < updates));
  return updates > 0 ? [...shown, updates] : shown;
}

/** Column names: each checkpoint's basename; where two runs' collide, as many of their last path components as tell them apart (and #2, #3 for a run given twice). */
export function columnNames(paths: string[]): string[] {
  const parts = paths.map((p) => normalize(p).split(/[\\/]+/).filter((s) => s !== '' && s !== '.'));
  const runs = parts.map((p) => p.join(sep));
  const depth = paths.map(() => 1);
  const nameOf = (i: number) => parts[i].slice(-depth[i]).join(sep) || paths[i];
  for (let changed = true; changed; ) {
    const names = paths.map((_, i) => nameOf(i));
    const deeper = names.map((name, i) => depth[i] < parts[i].length && names.some((other, j) => other === name && runs[j] !== runs[i]));
    deeper.forEach((d, i) => (depth[i] += d ? 1 : 0));
    changed = deeper.some(Boolean);
  }
  const names = paths.map((_, i) => nameOf(i));
  return names.map((name, i) => {
    const earlier = names.slice(0, i).filter((n) => n === name).length;
    return earlier ? `${name} #${earlier + 1}` : name;
  });
}

const number = (v: number) => (Math.abs(v) >= 100 ? v.toExponential(2) : v.toFixed(3));

/** "0.310+-0.035", "0.654+-0.288 (diverged 3/600)", "diverged 600/600"; the mean alone where fewer than two tasks count (no interval). */
export function cell(s: Pick<Summary, 'mean' | 'ci95' | 'diverged' | 'n'>): string {
  if (s.diverged === s.n) return `diverged ${s.diverged}/${s.n}`;
  const interval = s.n - s.diverged > 1 ? `+-${number(s.ci95)}` : '';
  return `${number(s.mean)}${interval}${s.diverged ? ` (diverged ${s.diverged}/${s.n})` : ''}`;
}

/** The same over seeds: the runs whose tasks all diverged are counted apart. */
function seedCell(s: SeedGroup['byUpdate'][number]): string {
  if (s.runs === 0) return `diverged in all ${s.divergedRuns} runs`;
  const interval = s.runs > 1 ? `+-${number(s.ci95)}` : '';
  return `${number(s.mean)}${interval}${s.divergedRuns ? ` (${s.divergedRuns} run(s) diverged)` : ''}`;
}

type Result = EvalReport['results'][number];

/** A measure of the table, a section of its rows: its cells by update, for a checkpoint and for a group of seeds (undefined where it has none). */
interface Section {
  title: string;
  ofResult(r: Result): string[] | undefined;
  ofGroup(g: SeedGroup): string[] | undefined;
}

/** The grid MSE, and where a checkpoint has them, the random query MSE and the right phase. */
const SECTIONS: Section[] = [
  { title: 'grid MSE after', ofResult: (r) => r.byUpdate.map(cell), ofGroup: (g) => g.byUpdate.map(seedCell) },
  { title: 'random query MSE after', ofResult: (r) => r.queryByUpdate?.map(cell), ofGroup: (g) => g.queryByUpdate?.map(seedCell) },
  { title: 'right phase after', ofResult: (r) => r.phaseAccuracy?.map((a) => `${(100 * a).toFixed(1)}%`), ofGroup: () => undefined },
];

const fineTuning = (r: Result) => (r.lr === 'learned' ? r.adaptation : `${r.adaptation} at ${r.lr}`);

/** A table's rows and columns before they are laid out: a row label (or a section title: no cells) and a column's head and cells (one per row, '' on a title). */
interface Grid {
  rows: { label: string; section?: boolean }[];
  columns: { head: string; cells: string[] }[];
}

/** The grid: a row of how each column fine-tunes, then per section its title and one row per update shown; a column per checkpoint, then per seed group. */
function gridOf(report: EvalReport, updates: number[]): Grid {
  const { results } = report;
  const sections = SECTIONS.filter((s) => results.some((r) => s.ofResult(r)));
  const label = (u: number) => `${String(u).padStart(4)} update${u === 1 ? '' : 's'}`;
  // the first section is the family's loss (a report from before families: the sine family's grid MSE)
  const title = (s: Section) => (s === SECTIONS[0] && report.taskFamily ? `${report.taskFamily.lossName} after` : s.title);
  const rows = [{ label: 'fine-tuning' }, ...sections.flatMap((s) => [{ label: title(s), section: true }, ...updates.map((u) => ({ label: label(u) }))])];
  const cells = (info: string, bySection: (s: Section) => string[] | undefined) => [info, ...sections.flatMap((s) => ['', ...updates.map((u) => bySection(s)?.[u] ?? '')])];
  const names = columnNames(results.map((r) => r.checkpoint));
  return {
    rows,
    columns: [
      ...results.map((r, i) => ({ head: names[i], cells: cells(fineTuning(r), (s) => s.ofResult(r)) })),
      ...report.seedGroups.map((g) => ({ head: `${g.name} (${g.members.length} seeds)`, cells: cells(fineTuning(results[g.members[0]]), (s) => s.ofGroup(g)) })),
    ],
  };
}

/** The columns in tables of at most `width` characters, greedily (a column wider than that alone in its table). */
function packColumns(widths: number[], labelWidth: number, width: number): number[][] {
  const tables: number[][] = [];
  let used = Infinity;
  widths.forEach((w, i) => {
    if (used + 2 + w > width) {
      tables.push([]);
      used = labelWidth;
    }
    tables.at(-1)!.push(i);
    used += 2 + w;
  });
  return tables;
}

/** eval's table of a report: the updates shown as rows, the checkpoints and seed groups as columns, in tables of at most `width` characters. */
export function formatTable(report: EvalReport, updates: number[], width: number): string {
  const { rows, columns } = gridOf(report, updates);
  const labelWidth = Math.max(...rows.filter((r) => !r.section).map((r) => r.label.length));
  const widths = columns.map((c) => Math.max(c.head.length, ...c.cells.map((s) => s.length)));
  const render = (indices: number[]) => {
    const line = (label: string, cells: string[]) => `${label.padEnd(labelWidth)}${cells.map((c, k) => `  ${c.padStart(widths[indices[k]])}`).join('')}`.trimEnd();
    const body = rows.map((row, r) => (row.section ? row.label : line(row.label, indices.map((i) => columns[i].cells[r]))));
    return [line('', indices.map((i) => columns[i].head)), ...body].join('\n');
  };
  return `${packColumns(widths, labelWidth, width).map(render).join('\n\n')}\n`;
}
