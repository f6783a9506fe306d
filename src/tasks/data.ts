// A user's own tasks: many small regression problems read from a file (tasks/data/read-file.ts) or
// given as records (tasks/data/records.ts), one task per task id. Tasks are split, never points:
// train, validation and test tasks, by a seeded hash of the task id or a split column. Inputs and output
// are standardized with the training tasks' statistics; losses are reported in the data's own units.
// A meta-batch draws tasks with replacement from the training tasks, and from each K support and Q query
// points without replacement; a held-out task is scored, for each of `draws` support sets of K of its
// points, on its other points.
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { UsageError } from '../base/errors.js';
import type { EvalSet } from '../core/fine-tune.js';
import type { PointSet } from '../core/points.js';
import { Rng } from '../core/rng.js';
import { option, showValue } from '../options/option.js';
import type { DataColumns, Standardization } from './data/records.js';
import { family, type FamilySketch, type HeldOutOptions, type TaskFamily } from './family.js';

const columnList = z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v), z.array(z.string().min(1, 'a column name may not be empty')).min(1));
const fraction = z.number().min(0).max(1);

export const dataOptions = {
  data: option({ flag: '--data <file>', kind: 'string', help: 'data: a CSV, JSON array of records or JSON Lines file of many small regression tasks (implies --family data)', schema: z.string().min(1).nullable(), default: null as string | null }),
  taskColumn: option({ flag: '--task-column <names>', kind: 'string', help: "data: the column(s) naming a row's task, comma separated", schema: columnList, default: ['task'] }),
  xColumn: option({ flag: '--x-column <names>', kind: 'string', help: 'data: the numeric input column(s), comma separated (the MLP takes one input per column)', schema: columnList, default: ['x'] }),
  yColumn: option({ flag: '--y-column <name>', kind: 'string', help: 'data: the numeric output column', schema: z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(z.string().min(1)).length(1, 'one output column: the MLP predicts one value')), default: ['y'] }),
  split: option({ flag: '--split <train,val,test>', kind: 'numbers', help: 'data: the fractions of tasks for training, validation and test, by a seeded hash of the task id', schema: z.tuple([fraction, fraction, fraction]).refine((f) => Math.abs(f[0] + f[1] + f[2] - 1) < 1e-9, 'the three fractions must sum to 1'), default: [0.7, 0.1, 0.2] as [number, number, number] }),
  splitColumn: option({ flag: '--split-column <name>', kind: 'string', help: 'data: a column saying each task\'s split (train, validation or test) instead of --split', schema: z.string().min(1).nullable(), default: null as string | null }),
  dropInvalid: option({ flag: '--drop-invalid', kind: 'bool', help: 'data: drop rows with an empty, non-numeric or non-finite value, and count them (default: refuse the file)', schema: z.boolean(), default: false }),
};

export type DataSplit = 'train' | 'validation' | 'test';

/** A data file as a run records it: what was read, how it was split and scaled. */
export interface DatasetFacts {
  file: string;
  sha256: string;
  bytes: number;
  columns: DataColumns;
  rows: number;
  dropped: number;
  /** Tasks per split. */
  tasks: Record<DataSplit, number>;
  scales: Standardization;
}

/** The tasks of a data family, standardized, with their split: what make() needs beside the config. */
export interface LoadedData {
  facts: DatasetFacts;
  ids: string[];
  split: DataSplit[];
  /** Standardized points of each task: x [n * d], y [n]. */
  x: Float32Array[];
  y: Float32Array[];
}

/** One held-out row of an eval set: a task and which of its support draws. */
export interface DataTask {
  id: string;
  draw: number;
}

/** The first `count` of a permutation of 0..n-1 (a partial Fisher-Yates): `count` points drawn without replacement. */
function choose(rng: Rng, n: number, count: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(n - i);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** The points at `rows` of tasks, one row of the PointSet per task, padded to `width` with a mask when rows differ in length. */
function gather(data: LoadedData, tasks: number[], rows: number[][], width: number): PointSet {
  const d = data.facts.columns.x.length;
  const [xs, ys, mask] = [new Float32Array(tasks.length * width * d), new Float32Array(tasks.length * width), new Float32Array(tasks.length * width)];
  tasks.forEach((t, i) => {
    rows[i].forEach((r, j) => {
      xs.set(data.x[t].subarray(r * d, (r + 1) * d), (i * width + j) * d);
      ys[i * width + j] = data.y[t][r];
      mask[i * width + j] = 1;
    });
  });
  const ragged = rows.some((r) => r.length !== width);
  return { x: tf.tensor3d(xs, [tasks.length, width, d]), y: tf.tensor3d(ys, [tasks.length, width, 1]), ...(ragged ? { mask: tf.tensor3d(mask, [tasks.length, width, 1]) } : {}) };
}

/** The tasks of a split with at least `needed` points. */
function usable(data: LoadedData, split: DataSplit, needed: number): number[] {
  return data.split.flatMap((s, t) => (s === split && data.y[t].length >= needed ? [t] : []));
}

function sampleBatch(data: LoadedData, rng: Rng, sizes: { tasks: number; support: number; query: number | null }): { tasks: DataTask[]; support: PointSet; query: PointSet | null } {
  const needed = sizes.support + (sizes.query ?? 0);
  const pool = usable(data, 'train', needed);
  if (pool.length === 0) throw new UsageError(`no training task has ${needed} points (support ${sizes.support} + query ${sizes.query ?? 0}): give a smaller --support or --query`);
  const tasks = Array.from({ length: sizes.tasks }, () => pool[rng.int(pool.length)]);
  const chosen = tasks.map((t) => choose(rng, data.y[t].length, needed));
  const support = gather(data, tasks, chosen.map((c) => c.slice(0, sizes.support)), sizes.support);
  const query = sizes.query === null ? null : gather(data, tasks, chosen.map((c) => c.slice(sizes.support, needed)), sizes.query);
  return { tasks: tasks.map((t) => ({ id: data.ids[t], draw: 0 })), support, query };
}

function heldOut(data: LoadedData, options: HeldOutOptions): EvalSet {
  for (const [given, flag] of [[options.task, '--wave'], [options.supportX, '--points'], [options.sampleRange, '--sample-range'], [options.randomQuery, '--query random']] as const) {
    if (given) throw new UsageError(`${flag} is for the sine family: a data task is scored on its own points`);
  }
  const pool = usable(data, options.split, options.samples + 1).slice(0, options.tasks);
  if (pool.length === 0) throw new UsageError(`no ${options.split} task has more than ${options.samples} points: give a smaller K`);
  const rng = new Rng(options.seed);
  const draws = options.draws ?? 1;
  const tasks = pool.flatMap((t) => Array.from({ length: draws }, () => t));
  const chosen = tasks.map((t) => choose(rng, data.y[t].length, data.y[t].length)); // a whole permutation: K support, the rest scored
  const width = Math.max(...tasks.map((t) => data.y[t].length)) - options.samples;
  const support = gather(data, tasks, chosen.map((c) => c.slice(0, options.samples)), options.samples);
  const scored = gather(data, tasks, chosen.map((c) => c.slice(options.samples)), width);
  return { family: data.facts, seed: options.seed, tasks: tasks.map((t, i) => ({ id: data.ids[t], draw: i % draws })), support, scored, query: null, phaseGrids: [] };
}

function sketch(data: LoadedData, count: number, seed: number): FamilySketch {
  const { scales, columns } = data.facts;
  const pool = usable(data, 'train', 1);
  const picked = choose(new Rng(seed), pool.length, Math.min(count, pool.length)).slice(0, Math.min(count, pool.length)).map((i) => pool[i]);
  const d = columns.x.length;
  const values = picked.flatMap((t, i) => Array.from(data.y[t], (y, r) => ({ task: i, x: data.x[t][r * d] * scales.x.std[0] + scales.x.mean[0], y: y * scales.y.std + scales.y.mean })));
  const xs = values.map((v) => v.x);
  return { values, mark: 'point', title: `${columns.y[0]} against ${columns.x[0]}`, subtitle: `${data.facts.file}: ${picked.length} of ${data.facts.tasks.train} training tasks by ${columns.task.join(', ')} (seed ${seed})`, xTitle: columns.x[0], xDomain: [Math.min(...xs), Math.max(...xs)] };
}

const dataTerms = (c: { data: string | null; taskColumn: string[]; xColumn: string[]; yColumn: string[] }) => ({ data: `data ${c.data}`, columns: `columns ${showValue([...c.taskColumn, ...c.xColumn, ...c.yColumn])}` });

/** The data family of loaded tasks. */
export function dataFamily(data: LoadedData): TaskFamily {
  const { facts } = data;
  const lossScale = facts.scales.y.std ** 2;
  const meanSquare = Math.max(...data.y.map((y) => y.reduce((s, v) => s + v * v, 0) / Math.max(1, y.length)));
  return {
    name: 'data',
    inputs: facts.columns.x.length,
    settings: facts,
    sampleBatch: (rng, sizes) => sampleBatch(data, rng, sizes),
    heldOut: (options) => heldOut(data, options),
    divergenceBound: 100 * meanSquare * lossScale,
    lossScale,
    lossName: `MSE (${facts.columns.y[0]}^2)`,
    scoredOn: `each task's points other than its K support points, in ${facts.columns.y[0]}'s units`,
    terms: dataTerms({ data: facts.file, taskColumn: facts.columns.task, xColumn: facts.columns.x, yColumn: facts.columns.y }),
    sketch: (count, seed) => sketch(data, count, seed),
  };
}

export const data = family({
  summary: "a user's own tasks, read from --data FILE (CSV, JSON, JSON Lines): a task per task id",
  options: dataOptions,
  inputs: (config) => config.xColumn.length,
  terms: dataTerms,
  // its points are drawn from each task's own: no grid (whatever an algorithm's defaults say)
  defaults: { supportGrid: false, queryGrid: false },
  check(config, refuse) {
    if (config.data === null) refuse('data', 'the data family reads --data FILE: give it');
    if (config.supportGrid || config.queryGrid) refuse(config.supportGrid ? 'supportGrid' : 'queryGrid', "a data task's points are its own: there is no grid to place them on");
  },
  make: (_config, loaded) => {
    if (!loaded) throw new Error('internal error: the data family is made from its loaded tasks (tasks/load.ts)');
    return dataFamily(loaded as LoadedData);
  },
});
