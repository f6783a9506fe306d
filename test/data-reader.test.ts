// The reader of a user's own data file (src/tasks/data/): the same tasks from CSV, TSV, JSON and JSON Lines, every
// refusal's one-line message, the seeded split and the standardization over training tasks only.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../src/base/errors.js';
import { readDataFile } from '../src/tasks/data/read-file.js';
import {
  splitFromColumn,
  splitTasks,
  standardization,
  standardize,
  TaskTable,
  tooFew,
  unitHash,
  unstandardize,
  type DataColumns,
  type DataTasks,
  type Split,
} from '../src/tasks/data/records.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/data/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'metalearn-data-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const SALES: DataColumns = { task: ['region', 'store'], x: ['week', 'price'], y: ['sales'] };
const SIMPLE: DataColumns = { task: ['store'], x: ['week'], y: ['sales'] };

/** A file of `text` in the scratch folder. */
function scratchFile(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

/** `run` is refused with a UsageError whose message is exactly `message` (a string) or matches it. */
async function assertRefused(run: () => unknown, message: string | RegExp): Promise<void> {
  await assert.rejects(async () => run(), (error: Error) => {
    assert.ok(error instanceof UsageError, `${error.constructor.name}: ${error.message}`);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
}

/** The tasks of records added to a TaskTable, line numbers from 2 (after a header). */
function tableOf(records: Record<string, unknown>[], columns: DataColumns = SIMPLE, invalid: 'refuse' | 'drop' = 'refuse'): DataTasks {
  const table = new TaskTable({ columns, invalid, source: 'data.csv' });
  records.forEach((record, i) => table.add(record, i + 2));
  return table.finish();
}

describe('data files: the same tasks from every format', () => {
  it('CSV, TSV, JSON, JSON Lines and a CSV with a BOM, CRLF and a blank line give identical tasks', async () => {
    const csv = await readDataFile(join(fixtures, 'sales.csv'), SALES);
    assert.deepEqual(csv.ids, ['north / Main St, 1', 'south / Dock 7', 'east / Hill', 'west / Hill']);
    // d = 2: row-major [week, price] per point, in the file's order within each task
    assert.deepEqual(csv.x[0], new Float32Array([1, 2.5, 2, 2, 3, 2.25]));
    assert.deepEqual(csv.y[0], new Float32Array([10, 12.5, 11]));
    assert.deepEqual(csv.y[1], new Float32Array([1e-3, 0.5, 2]), "'1e-3' and ' 2' are numbers");
    assert.deepEqual([csv.rows, csv.dropped], [10, 0]);
    const { file, ...tasks } = csv;
    for (const [name, format] of [['sales.tsv', 'tsv'], ['sales.json', 'json'], ['sales.jsonl', 'jsonl'], ['sales-bom-crlf.csv', 'csv']]) {
      const { file: other, ...same } = await readDataFile(join(fixtures, name), SALES);
      assert.deepEqual(same, tasks, name);
      assert.equal(other.format, format);
    }
    assert.equal(file.format, 'csv');
  });

  it("names the file's size and SHA-256, computed while streaming", async () => {
    for (const name of ['sales.csv', 'sales.json', 'sales.jsonl']) {
      const path = join(fixtures, name);
      const { file } = await readDataFile(path, SALES);
      assert.deepEqual(file, { ...file, path, bytes: statSync(path).size, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') });
    }
  });

  it('one task column groups the same store of two regions into one task', async () => {
    const tasks = await readDataFile(join(fixtures, 'sales.csv'), { ...SALES, task: ['store'] });
    assert.deepEqual(tasks.ids, ['Main St, 1', 'Dock 7', 'Hill']);
    assert.deepEqual(tasks.y[2], new Float32Array([7, 8, 9, 9.5]));
  });

  it('streams a file of many chunks: UTF-8 characters split between chunks stay whole, every row lands in its task', async () => {
    const ids = ['Zürich ü', 'Köln ö', '東京'];
    const lines = ['city,t,v'];
    for (let i = 0; i < 30000; i++) lines.push(`${ids[i % 3]},${i},${i % 7}`);
    const path = scratchFile('many.csv', `${lines.join('\n')}\n`);
    assert.ok(statSync(path).size > 4 * 65536);
    const tasks = await readDataFile(path, { task: ['city'], x: ['t'], y: ['v'] });
    assert.deepEqual(tasks.ids, ids);
    assert.deepEqual(tasks.x.map((x) => x.length), [10000, 10000, 10000]);
    assert.equal(tasks.x[1][9999], 29998);
    assert.equal(tasks.y[2][9999], 29999 % 7);
  });

  it('an explicit format reads a file whose extension does not say it; an unknown extension is refused', async () => {
    const path = scratchFile('sales.txt', readFileSync(join(fixtures, 'sales.jsonl'), 'utf8'));
    assert.deepEqual((await readDataFile(path, SALES, { format: 'jsonl' })).ids.length, 4);
    await assertRefused(() => readDataFile(path, SALES), `cannot tell the format of ${path} from its extension '.txt': name it .csv, .tsv, .json, .jsonl or .ndjson`);
  });
});

describe('data files: refusals, one line each', () => {
  it('a CSV row with the wrong number of fields is named by the line an editor shows (quoted newlines counted)', async () => {
    await assertRefused(() => readDataFile(join(fixtures, 'broken-lines.csv'), SALES), 'line 6: 4 fields where the header has 5');
  });

  it('an unclosed quote is named by its line', async () => {
    await assertRefused(() => readDataFile(join(fixtures, 'unclosed-quote.csv'), SALES), 'line 3: quoted field unterminated');
  });

  it('a missing column lists the columns the file has, with a suggestion when one is near', async () => {
    const path = join(fixtures, 'sales.csv');
    await assertRefused(() => readDataFile(path, { ...SALES, y: ['salse'] }), `no column 'salse' in ${path}: it has region, store, week, price, sales (did you mean 'sales'?)`);
    await assertRefused(() => readDataFile(path, { ...SALES, x: ['Week'] }), /\(did you mean 'week'\?\)$/);
    await assertRefused(() => readDataFile(path, { ...SALES, x: ['temperature'] }), `no column 'temperature' in ${path}: it has region, store, week, price, sales`);
    // JSON: the first record's keys
    await assertRefused(() => readDataFile(join(fixtures, 'sales.jsonl'), { ...SALES, task: ['stor'] }), /no column 'stor' in .*sales\.jsonl: it has region, store, week, price, sales \(did you mean 'store'\?\)$/);
  });

  it('a header-only CSV is checked for its columns, then refused for having no rows', async () => {
    const path = scratchFile('header.csv', 'store,week,sales\n');
    await assertRefused(() => readDataFile(path, { ...SIMPLE, y: ['price'] }), /no column 'price'/);
    await assertRefused(() => readDataFile(path, SIMPLE), `${path} has no rows`);
  });

  it('a non-numeric, empty, NaN or infinite cell is refused naming line, column and value, with the way to drop it', async () => {
    const hint = '(--drop-invalid drops such rows and counts them)';
    const cases: [unknown, string][] = [
      ['abc', "'abc' is not a number"],
      ['', 'the cell is empty'],
      ['   ', 'the cell is empty'],
      [undefined, 'the cell is empty'],
      [null, 'the cell is empty'],
      ['NaN', "'NaN' is not a finite number"],
      ['-Infinity', "'-Infinity' is not a finite number"],
      ['1e999', "'1e999' is not a finite number"],
      ['0x10', "'0x10' is not a number"],
      ['1,5', "'1,5' is not a number"],
      [true, 'true is not a number'],
      [Infinity, 'Infinity is not a finite number'],
    ];
    for (const [cell, why] of cases) {
      await assertRefused(() => tableOf([{ store: 'a', week: 1, sales: 1 }, { store: 'a', week: 2, sales: cell }]), `line 3, column 'sales': ${why} ${hint}`);
    }
    const path = scratchFile('abc.csv', 'store,week,sales\na,1,2\na,2,3\nb,1,abc\n');
    await assertRefused(() => readDataFile(path, SIMPLE), `line 4, column 'sales': 'abc' is not a number ${hint}`);
    const json = scratchFile('missing.json', '[{"store":"a","week":1,"sales":2},{"store":"a","week":2}]');
    await assertRefused(() => readDataFile(json, SIMPLE), `record 2, column 'sales': the cell is empty ${hint}`);
  });

  it("'drop' drops and counts the rows with an invalid value, and a task left with no row", async () => {
    const path = scratchFile('dirty.csv', 'store,week,sales\na,1,2\na,2,NaN\nb,x,1\na,3,\na,4,5\nc,1,1\n');
    const tasks = await readDataFile(path, SIMPLE, { invalid: 'drop' });
    assert.deepEqual(tasks.ids, ['a', 'c']);
    assert.deepEqual(tasks.y, [new Float32Array([2, 5]), new Float32Array([1])]);
    assert.deepEqual([tasks.rows, tasks.dropped], [3, 3]);
    const all = scratchFile('all-dirty.csv', 'store,week,sales\na,1,?\nb,2,?\n');
    await assertRefused(() => readDataFile(all, SIMPLE, { invalid: 'drop' }), `every row of ${all} was dropped: 2 had an invalid value`);
  });

  it('a constant input or output column is refused (over the rows kept)', async () => {
    await assertRefused(() => tableOf([{ store: 'a', week: 3, sales: 1 }, { store: 'b', week: '3', sales: 2 }]), "column 'week' is constant (every value 3): it cannot be standardized or learned from");
    await assertRefused(() => tableOf([{ store: 'a', week: 1, sales: 7 }, { store: 'b', week: 2, sales: 7 }]), /^column 'sales' is constant \(every value 7\)/);
    // the one row that differed is dropped: what is kept is constant
    await assertRefused(() => tableOf([{ store: 'a', week: 3, sales: 1 }, { store: 'a', week: 4, sales: 'x' }, { store: 'b', week: 3, sales: 2 }], SIMPLE, 'drop'), /column 'week' is constant/);
  });

  it('an empty task id is refused naming the line and the column', async () => {
    await assertRefused(() => tableOf([{ store: 'a', week: 1, sales: 1 }, { store: ' ', week: 2, sales: 2 }]), "line 3: the task id (column 'store') is empty");
    await assertRefused(() => tableOf([{ region: 'n', store: 'a', week: 1, sales: 1 }, { region: '', store: 'a', week: 2, sales: 2 }], { ...SIMPLE, task: ['region', 'store'] }), "line 3: the task id (column 'region') is empty");
    // even when invalid values are dropped: an id is not a value to drop
    await assertRefused(() => tableOf([{ store: null, week: 1, sales: 1 }], SIMPLE, 'drop'), "line 2: the task id (column 'store') is empty");
  });

  it('several output columns, no input, or a column in two roles are refused', async () => {
    await assertRefused(() => tableOf([], { ...SIMPLE, y: ['sales', 'profit'] }), 'one output column: the MLP predicts one value (got 2: sales,profit)');
    await assertRefused(() => tableOf([], { ...SIMPLE, y: [] }), 'one output column: the MLP predicts one value (got 0)');
    await assertRefused(() => tableOf([], { ...SIMPLE, x: [] }), 'at least one input column is needed');
    await assertRefused(() => tableOf([], { ...SIMPLE, x: ['week', 'sales'] }), "column 'sales' is named twice among the task id, input, output and split columns");
  });

  it('a malformed JSON Lines line is named; a malformed JSON array, a non-array and a non-object record are refused', async () => {
    const jsonl = join(fixtures, 'malformed.jsonl');
    await assertRefused(() => readDataFile(jsonl, SIMPLE), new RegExp(`^line 4 of ${jsonl} is not JSON: `));
    await assertRefused(() => readDataFile(join(fixtures, 'malformed.json'), SIMPLE), /malformed\.json is not a JSON array of records: expected ','$/);
    const object = scratchFile('object.json', '{"store":"a","week":1,"sales":2}');
    await assertRefused(() => readDataFile(object, SIMPLE), `${object} is not a JSON array of records: Top-level object should be an array.`);
    const numbers = scratchFile('numbers.json', '[{"store":"a","week":1,"sales":2}, 3]');
    await assertRefused(() => readDataFile(numbers, SIMPLE), `record 2 of ${numbers} is not a JSON object of cells by column name (got number)`);
    const arrays = scratchFile('arrays.jsonl', '["a",1,2]\n');
    await assertRefused(() => readDataFile(arrays, SIMPLE), `line 1 of ${arrays} is not a JSON object of cells by column name (got an array)`);
  });

  it('a missing file, a directory and an unreadable file are refused in one line', async (t) => {
    const missing = join(scratch, 'nope.csv');
    await assertRefused(() => readDataFile(missing, SIMPLE), `cannot read ${missing}: no such file`);
    await assertRefused(() => readDataFile(scratch, SIMPLE, { format: 'csv' }), `cannot read ${scratch}: it is a directory`);
    if (process.getuid?.() === 0) return t.skip('root reads any file, whatever its mode');
    const locked = scratchFile('locked.csv', 'store,week,sales\na,1,2\n');
    chmodSync(locked, 0o000);
    await assertRefused(() => readDataFile(locked, SIMPLE), `cannot read ${locked}: permission denied`);
  });
});

describe('data files: the split column', () => {
  const SPLIT: DataColumns = { ...SIMPLE, split: 'fold' };

  it("gives each task its rows' split ('val' is validation), and splitFromColumn hands it on", () => {
    const tasks = tableOf([
      { store: 'a', week: 1, sales: 1, fold: 'train' },
      { store: 'b', week: 2, sales: 2, fold: ' Train ' },
      { store: 'c', week: 3, sales: 3, fold: 'val' },
      { store: 'a', week: 4, sales: 4, fold: 'train' },
      { store: 'd', week: 5, sales: 5, fold: 'test' },
    ], SPLIT);
    assert.deepEqual(splitFromColumn(tasks), ['train', 'train', 'validation', 'test']);
  });

  it("refuses a task whose rows disagree, a value that is not a split, and fewer than 2 training tasks", async () => {
    await assertRefused(
      () => tableOf([{ store: 'a', week: 1, sales: 1, fold: 'train' }, { store: 'b', week: 2, sales: 2, fold: 'test' }, { store: 'a', week: 3, sales: 3, fold: 'test' }], SPLIT),
      "line 4: task 'a' is in split 'test' here but in 'train' on line 2 (column 'fold'): a task's rows must agree",
    );
    await assertRefused(() => tableOf([{ store: 'a', week: 1, sales: 1, fold: 'dev' }], SPLIT), `line 2, column 'fold': "dev" is not a split: use train, validation, val, test`);
    const one = tableOf([{ store: 'a', week: 1, sales: 1, fold: 'train' }, { store: 'b', week: 2, sales: 2, fold: 'test' }], SPLIT);
    await assertRefused(() => splitFromColumn(one), "the split column 'fold' gives 1 training task of 2: meta-training needs at least 2; give more tasks their rows 'train'");
  });
});

describe('data files: the seeded split of tasks', () => {
  const ids = Array.from({ length: 10000 }, (_, i) => `store ${i}`);
  const count = (splits: Split[], name: Split) => splits.filter((s) => s === name).length;

  it("depends on a task's id and the seed alone: not on row order nor on the other tasks", () => {
    const splits = splitTasks(ids, [0.7, 0.1, 0.2], 0);
    const byId = new Map(ids.map((id, i) => [id, splits[i]]));
    const shuffled = [...ids].reverse().filter((_, i) => i % 3 !== 0);
    splitTasks(shuffled, [0.7, 0.1, 0.2], 0).forEach((split, i) => assert.equal(split, byId.get(shuffled[i])));
    const reseeded = splitTasks(ids, [0.7, 0.1, 0.2], 1);
    const moved = reseeded.filter((split, i) => split !== splits[i]).length;
    // two independent draws differ with probability 1 - (0.49 + 0.01 + 0.04) = 0.46
    assert.ok(Math.abs(moved / ids.length - 0.46) < 0.03, `${moved} of ${ids.length} tasks changed split with the seed`);
  });

  it('respects the fractions within 5 binomial standard deviations on 10 000 tasks, and never uses a split of fraction 0', () => {
    for (const fractions of [[0.7, 0.1, 0.2], [0.5, 0.5, 0], [0.8, 0, 0.2], [1 / 3, 1 / 3, 1 / 3]] as [number, number, number][]) {
      for (const seed of [0, 7]) {
        const splits = splitTasks(ids, fractions, seed);
        (['train', 'validation', 'test'] as Split[]).forEach((name, i) => {
          const p = fractions[i];
          const tolerance = 5 * Math.sqrt(ids.length * p * (1 - p));
          assert.ok(Math.abs(count(splits, name) - ids.length * p) <= tolerance, `${name}: ${count(splits, name)} of ${ids.length} for ${p} (seed ${seed})`);
        });
      }
    }
  });

  it('refuses fractions that are negative or do not sum to 1, and a split that leaves a wanted part empty', async () => {
    await assertRefused(() => splitTasks(ids, [0.7, 0.1, 0.1], 0), '--split 0.7,0.1,0.1: the fractions must sum to 1 (they sum to 0.9)');
    await assertRefused(() => splitTasks(ids, [1.1, -0.1, 0], 0), '--split 1.1,-0.1,0: each fraction must be a number, 0 or more');
    await assertRefused(() => splitTasks(ids, [0.7, NaN, 0.3], 0), '--split 0.7,NaN,0.3: each fraction must be a number, 0 or more');
    // a seed that puts 2 or 3 of tasks a, b, c in training and none in validation: the hash decides, as splitTasks does
    const three = ['a', 'b', 'c'];
    let seed = 0;
    while (!(three.filter((id) => unitHash(`${seed}:${id}`) < 0.7).length >= 2 && three.every((id) => Math.abs(unitHash(`${seed}:${id}`) - 0.75) >= 0.05))) seed++;
    await assertRefused(() => splitTasks(three, [0.7, 0.1, 0.2], seed), 'the split 0.7,0.1,0.2 gives 0 validation tasks of 3: give more tasks or another --split');
    await assertRefused(() => splitTasks(['a'], [1, 0, 0], 0), 'the split 1,0,0 gives 1 training task of 1: meta-training needs at least 2; give more tasks or another --split');
  });
});

describe('data files: standardization and short tasks', () => {
  // three tasks of d = 2 inputs; the third, a test task, has huge values
  const tasks = {
    columns: { task: ['id'], x: ['a', 'b'], y: ['v'] },
    x: [new Float32Array([1, 10, 2, 20]), new Float32Array([3, 30, 4, 40, 5, 50]), new Float32Array([1e6, -1e6])],
    y: [new Float32Array([1, 2]), new Float32Array([3, 4, 6]), new Float32Array([1e7])],
  };
  const training = [true, true, false];

  it('is the mean and sample standard deviation (n - 1) over the training tasks alone', () => {
    const s = standardization(tasks, training);
    const sampleStd = (values: number[]) => {
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
    };
    assert.deepEqual(s.x.mean, [3, 30]);
    assert.ok(Math.abs(s.x.std[0] - sampleStd([1, 2, 3, 4, 5])) < 1e-12);
    assert.ok(Math.abs(s.x.std[1] - sampleStd([10, 20, 30, 40, 50])) < 1e-12);
    assert.equal(s.y.mean, 16 / 5);
    assert.ok(Math.abs(s.y.std - sampleStd([1, 2, 3, 4, 6])) < 1e-12);
    // the test task's huge values move nothing; counting it would
    assert.deepEqual(standardization({ ...tasks, x: [...tasks.x.slice(0, 2), new Float32Array([0, 0])], y: [...tasks.y.slice(0, 2), new Float32Array([0])] }, training), s);
    assert.notDeepEqual(standardization(tasks, [true, true, true]), s);
  });

  it('standardize() gives mean 0 and std 1 over the training points, and unstandardize() undoes it', () => {
    const s = standardization(tasks, training);
    const x = standardize(tasks.x[1], s.x.mean, s.x.std);
    assert.ok(Math.abs(x[0] - (3 - 3) / s.x.std[0]) < 1e-6 && Math.abs(x[5] - (50 - 30) / s.x.std[1]) < 1e-6);
    const y = [...standardize(tasks.y[0], [s.y.mean], [s.y.std]), ...standardize(tasks.y[1], [s.y.mean], [s.y.std])];
    assert.ok(Math.abs(y.reduce((a, b) => a + b, 0)) < 1e-5);
    assert.ok(Math.abs(y.reduce((a, b) => a + b * b, 0) / (y.length - 1) - 1) < 1e-5);
    const back = unstandardize(standardize(tasks.x[2], s.x.mean, s.x.std), s.x.mean, s.x.std);
    back.forEach((v, i) => assert.ok(Math.abs(v - tasks.x[2][i]) <= 1e-6 * Math.abs(tasks.x[2][i])));
  });

  it('refuses a column constant over the training tasks, though not over all', async () => {
    const flat = { ...tasks, x: [new Float32Array([1, 7, 2, 7]), new Float32Array([3, 7]), new Float32Array([4, 8])] };
    await assertRefused(() => standardization({ ...flat, y: [tasks.y[0], new Float32Array([3]), new Float32Array([1])] }, training), "column 'b' is constant over the training tasks' 3 point(s) (every value 7): it cannot be standardized");
  });

  it('tooFew() names the tasks with fewer points than needed', () => {
    assert.deepEqual(tooFew(tasks, 2), [2]);
    assert.deepEqual(tooFew(tasks, 3), [0, 2]);
    assert.deepEqual(tooFew(tasks, 1), []);
  });
});
