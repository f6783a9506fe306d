// A user's own regression tasks, from records read one at a time: grouping rows into tasks, the checks on
// their cells, the train/validation/test split and the standardization (browser-safe: no Node module).
import { UsageError } from '../../base/errors.js';

/** The columns a data file's records are read by: the task id (one or several), the inputs, the output, an optional split. */
export interface DataColumns {
  task: string[];
  x: string[];
  /** exactly one: the MLP predicts one value */
  y: string[];
  /** a column whose value ('train', 'validation' or 'val', 'test') places the row's task, the same on all its rows */
  split?: string;
}

/** What a row with an empty, non-numeric or non-finite input or output gets: refused (a UsageError), or dropped and counted. */
export type InvalidPolicy = 'refuse' | 'drop';

export type Split = 'train' | 'validation' | 'test';
export const SPLITS: readonly Split[] = ['train', 'validation', 'test'];

/** The tasks of a data file, in the order their first row came. */
export interface DataTasks {
  ids: string[];
  /** per task, its points' inputs, row-major: [n * d] for d = columns.x.length */
  x: Float32Array[];
  /** per task, its points' outputs: [n] */
  y: Float32Array[];
  /** per task, its split, when columns.split names a column */
  splits?: Split[];
  /** rows dropped for an invalid value (InvalidPolicy 'drop') */
  dropped: number;
  columns: DataColumns;
  /** rows kept (rows read = rows + dropped; blank lines are neither) */
  rows: number;
}

export interface TaskTableOptions {
  columns: DataColumns;
  invalid: InvalidPolicy;
  /** the file's name, for messages */
  source: string;
  /** what a record's position counts: lines of a CSV or JSON Lines file, records of a JSON array */
  unit?: 'line' | 'record';
}

const DROP_HINT = '(--drop-invalid drops such rows and counts them)';
const SPLIT_NAMES: Record<string, Split> = { train: 'train', validation: 'validation', val: 'validation', test: 'test' };

/** A Float32Array that doubles when full: a task's points cost 4 bytes a number, whatever its records looked like. */
class GrowingFloats {
  private data = new Float32Array(8);
  private length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  toArray(): Float32Array {
    return this.data.slice(0, this.length);
  }
}

/**
 * Groups records into tasks as they stream past, keeping only their numbers (per task, growing
 * Float32Arrays), never the records: add() each record, then finish().
 */
export class TaskTable {
  private readonly columns: DataColumns;
  private readonly numeric: string[];
  private readonly index = new Map<string, number>();
  private readonly ids: string[] = [];
  private readonly xs: GrowingFloats[] = [];
  private readonly ys: GrowingFloats[] = [];
  private readonly splits: Split[] = [];
  private readonly splitLines: number[] = [];
  /** each numeric column's first kept value, and whether a later kept one differed (as stored, in float32) */
  private readonly first: number[];
  private readonly varies: boolean[];
  private readonly row: Float64Array;
  private checked = false;
  private rows = 0;
  private dropped = 0;

  constructor(private readonly options: TaskTableOptions) {
    checkColumnRoles(options.columns);
    this.columns = options.columns;
    this.numeric = [...options.columns.x, ...options.columns.y];
    this.first = this.numeric.map(() => NaN);
    this.varies = this.numeric.map(() => false);
    this.row = new Float64Array(this.numeric.length);
  }

  /** Refuses a named column the file does not have; called with a CSV's header, else with the first record's keys. */
  expectColumns(names: readonly string[]): void {
    const { task, x, y, split } = this.columns;
    for (const wanted of [...task, ...x, ...y, ...(split === undefined ? [] : [split])]) {
      if (names.includes(wanted)) continue;
      const has = names.length === 0 ? 'it has no columns' : `it has ${listed(names)}`;
      const guess = closest(wanted, names);
      throw new UsageError(`no column '${wanted}' in ${this.options.source}: ${has}${guess === undefined ? '' : ` (did you mean '${guess}'?)`}`);
    }
    this.checked = true;
  }

  /** Adds one record (a row's cells by column name); `position` is its line (or record number) in the file. */
  add(record: Record<string, unknown>, position: number): void {
    if (!this.checked) this.expectColumns(Object.keys(record));
    const where = `${this.options.unit ?? 'line'} ${position}`;
    const id = this.taskId(record, where);
    const split = this.columns.split === undefined ? undefined : splitOfCell(record[this.columns.split], where, this.columns.split);
    if (!this.readNumbers(record, where)) {
      this.dropped++;
      return;
    }
    const task = this.taskOf(id);
    if (split !== undefined) this.noteSplit(task, split, position);
    const d = this.columns.x.length;
    for (let i = 0; i < d; i++) this.xs[task].push(this.row[i]);
    this.ys[task].push(this.row[d]);
    this.rows++;
  }

  /** The tasks read; refuses a file with no row kept, and a constant input or output column. */
  finish(): DataTasks {
    if (this.rows === 0) {
      throw new UsageError(this.dropped === 0 ? `${this.options.source} has no rows` : `every row of ${this.options.source} was dropped: ${this.dropped} had an invalid value`);
    }
    this.numeric.forEach((name, i) => {
      if (!this.varies[i]) throw new UsageError(`column '${name}' is constant (every value ${this.first[i]}): it cannot be standardized or learned from`);
    });
    return {
      ids: [...this.ids],
      x: this.xs.map((g) => g.toArray()),
      y: this.ys.map((g) => g.toArray()),
      ...(this.columns.split === undefined ? {} : { splits: [...this.splits] }),
      dropped: this.dropped,
      columns: this.columns,
      rows: this.rows,
    };
  }

  /** The row's task id: its task columns' values joined by ' / '. */
  private taskId(record: Record<string, unknown>, where: string): string {
    const parts = this.columns.task.map((name) => {
      const value = record[name];
      const text = typeof value === 'string' ? value.trim() : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
      if (text === '') throw new UsageError(`${where}: the task id (column '${name}') is ${value !== null && typeof value === 'object' ? 'not a text or number' : 'empty'}`);
      return text;
    });
    return parts.join(' / ');
  }

  /** Reads the row's inputs and output into this.row; false when one is invalid and the policy drops the row. */
  private readNumbers(record: Record<string, unknown>, where: string): boolean {
    for (let i = 0; i < this.numeric.length; i++) {
      const value = readNumber(record[this.numeric[i]]);
      if (typeof value === 'string') {
        if (this.options.invalid === 'drop') return false;
        throw new UsageError(`${where}, column '${this.numeric[i]}': ${value} ${DROP_HINT}`);
      }
      this.row[i] = value;
    }
    this.row.forEach((value, i) => {
      if (Number.isNaN(this.first[i])) this.first[i] = value;
      else if (Math.fround(value) !== Math.fround(this.first[i])) this.varies[i] = true;
    });
    return true;
  }

  private taskOf(id: string): number {
    let task = this.index.get(id);
    if (task === undefined) {
      task = this.ids.length;
      this.index.set(id, task);
      this.ids.push(id);
      this.xs.push(new GrowingFloats());
      this.ys.push(new GrowingFloats());
    }
    return task;
  }

  /** A task's rows must agree on its split: the first row's sets it. */
  private noteSplit(task: number, split: Split, position: number): void {
    if (this.splits[task] === undefined) {
      this.splits[task] = split;
      this.splitLines[task] = position;
    } else if (this.splits[task] !== split) {
      const unit = this.options.unit ?? 'line';
      throw new UsageError(
        `${unit} ${position}: task '${this.ids[task]}' is in split '${split}' here but in '${this.splits[task]}' on ${unit} ${this.splitLines[task]} (column '${this.columns.split}'): a task's rows must agree`,
      );
    }
  }
}

/** One output column, at least one input and one task id column, and no column in two roles. */
function checkColumnRoles({ task, x, y, split }: DataColumns): void {
  if (y.length !== 1) throw new UsageError(`one output column: the MLP predicts one value (got ${y.length}${y.length ? `: ${y.join(',')}` : ''})`);
  if (x.length === 0) throw new UsageError('at least one input column is needed');
  if (task.length === 0) throw new UsageError('at least one task id column is needed');
  const seen = new Set<string>();
  for (const name of [...task, ...x, ...y, ...(split === undefined ? [] : [split])]) {
    if (seen.has(name)) throw new UsageError(`column '${name}' is named twice among the task id, input, output and split columns`);
    seen.add(name);
  }
}

/** A cell as a finite number, or (a string) what is wrong with it. Numeric text is trimmed; '1e-3' is a number, '0x10' and '' are not. */
export function readNumber(cell: unknown): number | string {
  if (typeof cell === 'number') return Number.isFinite(cell) ? cell : `${cell} is not a finite number`;
  if (cell === undefined || cell === null || (typeof cell === 'string' && cell.trim() === '')) return 'the cell is empty';
  if (typeof cell !== 'string') return `${JSON.stringify(cell)} is not a number`;
  const text = cell.trim();
  const shown = `'${text.length > 40 ? `${text.slice(0, 40)}...` : text}'`;
  if (/^[-+]?(?:nan|inf|infinity)$/i.test(text)) return `${shown} is not a finite number`;
  if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$/i.test(text)) return `${shown} is not a number`;
  const value = Number(text);
  return Number.isFinite(value) ? value : `${shown} is not a finite number`;
}

/** A split column's cell as a Split; anything but train, validation (or val) and test is refused. */
function splitOfCell(cell: unknown, where: string, column: string): Split {
  const split = typeof cell === 'string' ? SPLIT_NAMES[cell.trim().toLowerCase()] : undefined;
  if (split === undefined) {
    throw new UsageError(`${where}, column '${column}': ${JSON.stringify(cell ?? '')} is not a split: use ${Object.keys(SPLIT_NAMES).join(', ')}`);
  }
  return split;
}

/** Names for a message: the first 20, then how many more. */
function listed(names: readonly string[]): string {
  return names.length <= 20 ? names.join(', ') : `${names.slice(0, 20).join(', ')} and ${names.length - 20} more`;
}

/** The name nearest `wanted` (ignoring case; a swap of two neighbours counts as one edit), if near enough to be a typo. */
function closest(wanted: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(wanted.length / 3)) + 1;
  for (const name of names) {
    const distance = editDistance(wanted.toLowerCase(), name.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and transpositions of neighbours. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
    }
  }
  return rows[a.length][b.length];
}

/** The tasks (their indices) with fewer than `needed` points: the caller skips and counts them, or refuses. */
export function tooFew(tasks: Pick<DataTasks, 'y'>, needed: number): number[] {
  return tasks.y.flatMap((y, task) => (y.length < needed ? [task] : []));
}

/**
 * Each task's split, from a seeded hash of its id alone: the same task lands in the same split whatever the
 * file's row order and whichever other tasks it holds. `fractions` (train, validation, test) are >= 0 and sum to
 * 1; a split asked for (fraction > 0) that gets no task, or fewer than 2 training tasks, is refused.
 */
export function splitTasks(ids: readonly string[], fractions: readonly [number, number, number], seed: number): Split[] {
  const asked = `--split ${fractions.join(',')}`;
  if (!fractions.every((f) => Number.isFinite(f) && f >= 0)) throw new UsageError(`${asked}: each fraction must be a number, 0 or more`);
  const sum = fractions[0] + fractions[1] + fractions[2];
  if (Math.abs(sum - 1) > 1e-9) throw new UsageError(`${asked}: the fractions must sum to 1 (they sum to ${Number(sum.toPrecision(12))})`);
  // The last split asked for takes [its lower edge, 1), so that rounding in the sum never sends a task to a split of fraction 0.
  const last = fractions[2] > 0 ? 2 : fractions[1] > 0 ? 1 : 0;
  const splits = ids.map((id) => {
    const u = unitHash(`${seed}:${id}`);
    let edge = 0;
    for (let i = 0; i < last; i++) {
      edge += fractions[i];
      if (u < edge) return SPLITS[i];
    }
    return SPLITS[last];
  });
  requireSplits(splits, fractions.map((f) => f > 0), `the split ${fractions.join(',')}`, 'give more tasks or another --split');
  return splits;
}

/** The splits a split column gave (DataTasks.splits), refused when it leaves fewer than 2 training tasks. */
export function splitFromColumn(tasks: Pick<DataTasks, 'splits' | 'columns'>): Split[] {
  if (tasks.splits === undefined || tasks.columns.split === undefined) throw new UsageError('no split column was read');
  requireSplits(tasks.splits, [true, false, false], `the split column '${tasks.columns.split}'`, "give more tasks their rows 'train'");
  return tasks.splits;
}

/** Each wanted split gets a task, and training at least 2 (meta-training samples pairs of tasks and more). */
function requireSplits(splits: readonly Split[], wanted: readonly boolean[], what: string, remedy: string): void {
  SPLITS.forEach((name, i) => {
    const count = splits.filter((s) => s === name).length;
    const label = name === 'train' ? 'training' : name;
    const tasks = `${count} ${label} task${count === 1 ? '' : 's'} of ${splits.length}`;
    if (name === 'train' && count < 2) throw new UsageError(`${what} gives ${tasks}: meta-training needs at least 2; ${remedy}`);
    if (wanted[i] && count === 0) throw new UsageError(`${what} gives ${tasks}: ${remedy}`);
  });
}

/**
 * `text` hashed to [0, 1): FNV-1a (32-bit) of its UTF-8 bytes, then murmur3's 32-bit finalizer, since FNV-1a
 * alone moves the top bits little when ids differ in their last character ('store 1', 'store 2', ...).
 */
export function unitHash(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) h = Math.imul(h ^ byte, 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

/** A column's shift and scale. */
export interface Scale {
  mean: number;
  std: number;
}

/** Each input column's and the output's mean and sample standard deviation (n - 1) over the training tasks' points. */
export interface Standardization {
  x: { mean: number[]; std: number[] };
  y: Scale;
}

/**
 * The standardization of the training tasks' points (`training[task]` true), in float64. Only they count, so
 * that validation and test tasks stay unseen. A column constant over them is refused.
 */
export function standardization(tasks: Pick<DataTasks, 'x' | 'y' | 'columns'>, training: readonly boolean[]): Standardization {
  const d = tasks.columns.x.length;
  const kept = (arrays: Float32Array[]) => arrays.filter((_, task) => training[task]);
  const x = Array.from({ length: d }, (_, column) => scaleOf(kept(tasks.x), column, d, tasks.columns.x[column]));
  const y = scaleOf(kept(tasks.y), 0, 1, tasks.columns.y[0]);
  return { x: { mean: x.map((s) => s.mean), std: x.map((s) => s.std) }, y };
}

/** Mean and sample standard deviation of column `column` of row-major arrays of `width` columns, two passes in float64. */
function scaleOf(arrays: readonly Float32Array[], column: number, width: number, name: string): Scale {
  let n = 0;
  let sum = 0;
  for (const a of arrays) for (let i = column; i < a.length; i += width) [n, sum] = [n + 1, sum + a[i]];
  const mean = sum / n;
  let squares = 0;
  for (const a of arrays) for (let i = column; i < a.length; i += width) squares += (a[i] - mean) ** 2;
  const std = Math.sqrt(squares / (n - 1));
  if (!(std > 0)) throw new UsageError(`column '${name}' is constant over the training tasks' ${n} point(s) (every value ${mean}): it cannot be standardized`);
  return { mean, std };
}

/** (value - mean) / std, column by column, of row-major `values` with mean.length columns. */
export function standardize(values: Float32Array, mean: readonly number[], std: readonly number[]): Float32Array {
  return values.map((v, i) => (v - mean[i % mean.length]) / std[i % mean.length]);
}

/** The inverse of standardize(): value * std + mean. */
export function unstandardize(values: Float32Array, mean: readonly number[], std: readonly number[]): Float32Array {
  return values.map((v, i) => v * std[i % mean.length] + mean[i % mean.length]);
}
