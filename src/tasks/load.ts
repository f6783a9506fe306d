// What a task family needs loaded before it can be made, in Node: a data family's file, read,
// split and standardized (the page and a library user with records in memory load it their own way).
import { UsageError } from '../base/errors.js';
import type { Standardization } from './data/records.js';
import { readDataFile } from './data/read-file.js';
import { splitFromColumn, splitTasks, standardization, standardize } from './data/records.js';
import type { DataSplit, DatasetFacts, LoadedData } from './data.js';
import type { TaskFamily } from './family.js';
import { familyOf, type FamilyOptions } from './index.js';
import type { FamilyConfig } from './family.js';

/** The seed of the hash that splits tasks: fixed, so that every run of a file (any --seed) has the same test tasks. */
const SPLIT_SEED = 0;

type Config = FamilyConfig<FamilyOptions> & { family: string };

/** A data family's tasks from its file: read, split by task, standardized with the training tasks' statistics. */
export async function loadData(config: Config): Promise<LoadedData> {
  const columns = { task: config.taskColumn, x: config.xColumn, y: config.yColumn, ...(config.splitColumn ? { split: config.splitColumn } : {}) };
  const read = await readDataFile(config.data!, columns, { invalid: config.dropInvalid ? 'drop' : 'refuse' });
  // tasks are split, never points: a task's split is a function of its id (or its split column)
  const split: DataSplit[] = config.splitColumn ? splitFromColumn(read) : splitTasks(read.ids, config.split, SPLIT_SEED);
  const scales: Standardization = standardization(read, split.map((s) => s === 'train'));
  const count = (s: DataSplit) => split.filter((x) => x === s).length;
  const facts: DatasetFacts = { file: config.data!, sha256: read.file.sha256, bytes: read.file.bytes, columns: read.columns, rows: read.rows, dropped: read.dropped, tasks: { train: count('train'), validation: count('validation'), test: count('test') }, scales };
  const x = read.x.map((v) => standardize(v, scales.x.mean, scales.x.std));
  const y = read.y.map((v) => standardize(v, [scales.y.mean], [scales.y.std]));
  return { facts, ids: read.ids, split, x, y };
}

/**
 * The task family of a config, its file loaded where it has one. With `trainedOn` (the data a run recorded), a file
 * whose content changed since is refused, unless `otherData` (eval on purpose on another file).
 */
export async function loadFamily(config: Config, trainedOn: DatasetFacts | null = null, otherData = false): Promise<{ family: TaskFamily; data: DatasetFacts | null }> {
  const loaded = await loadTasks(config, trainedOn, otherData);
  return { family: familyOf(config, loaded), data: loaded?.facts ?? null };
}

/** What a config's family loads (a data family's tasks; nothing for the others), checked against the data a run recorded (see loadFamily). */
export async function loadTasks(config: Config, trainedOn: DatasetFacts | null = null, otherData = false): Promise<LoadedData | undefined> {
  if (config.family !== 'data') return undefined;
  const loaded = await loadData(config);
  if (trainedOn && trainedOn.sha256 !== loaded.facts.sha256 && !otherData) {
    throw new UsageError(`${config.data} has changed since the run was trained on it (sha256 ${loaded.facts.sha256.slice(0, 12)}, the run's ${trainedOn.sha256.slice(0, 12)}): give --other-data to evaluate on it anyway`);
  }
  // a run's scales are its own: another file's tasks are standardized as the run's were
  return trainedOn && otherData ? rescaled(loaded, trainedOn.scales) : loaded;
}

/** Loaded tasks standardized with other scales (a run's, for eval on another file). */
function rescaled(loaded: LoadedData, scales: Standardization): LoadedData {
  const own = loaded.facts.scales;
  const back = (v: Float32Array, mean: number[], std: number[], to: { mean: number[]; std: number[] }) => v.map((z, i) => (z * std[i % std.length] + mean[i % mean.length] - to.mean[i % mean.length]) / to.std[i % std.length]);
  return {
    ...loaded,
    facts: { ...loaded.facts, scales },
    x: loaded.x.map((v) => back(v, own.x.mean, own.x.std, scales.x)),
    y: loaded.y.map((v) => back(v, [own.y.mean], [own.y.std], { mean: [scales.y.mean], std: [scales.y.std] })),
  };
}
