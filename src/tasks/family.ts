// What a task family is to the rest of metalearn, as a learner is an algorithm's: its own options,
// defaults and checks, and, made from a run's config, the tasks it draws. Training draws meta-batches
// from it; validation, eval and the page draw held-out tasks with their support points and the points
// each task is scored on. Adding a family is its file and a line in tasks/index.ts.
import type { EvalSet } from '../core/fine-tune.js';
import type { PointSet } from '../core/points.js';
import type { Rng } from '../core/rng.js';
import type { OptionTable, ValueNamer, Values } from '../options/option.js';
import type { SharedConfig } from '../options/shared.js';

/** The config a family sees: the shared options and its own. */
export type FamilyConfig<Own extends OptionTable> = SharedConfig & Values<Own>;

/** The sizes of a meta-batch, from the run's config. */
export interface BatchSizes {
  tasks: number;
  support: number;
  /** Query points per task; null for a learner that reads none. */
  query: number | null;
  /** Support (query) points evenly spaced over the family's inputs rather than drawn, where the family has such a grid. */
  supportGrid: boolean;
  queryGrid: boolean;
}

/** What one meta-iteration trains on: the tasks, support [tasks, k, d] and, for learners that use it, query [tasks, q, d]. */
export interface MetaBatch {
  tasks: readonly unknown[];
  support: PointSet;
  query: PointSet | null;
}

/** Which held-out tasks: validation (during training) or test (eval, the page). */
export type HeldOutSplit = 'validation' | 'test';

export interface HeldOutOptions {
  split: HeldOutSplit;
  /** How many tasks to draw (a family of finitely many tasks gives its split's, up to this many). */
  tasks: number;
  /** Support points K per task. */
  samples: number;
  /** The draw's seed: the same seed, the same tasks and points for every model. */
  seed: string | number;
  /** Also draw K fresh random query points per task, scored beside (cbfinn/maml's test loss). */
  randomQuery?: boolean;
  /** One task given rather than drawn (eval --wave: a sine wave's A, phase, w), and its support x if chosen (eval --points, the page's clicks). */
  task?: unknown;
  supportX?: number[];
  /** Where support x are drawn, for a family of one input (default: its x range). */
  sampleRange?: [number, number];
  /** Support sets drawn per task, each scored on the task's other points (a family of finitely many tasks; default 1). */
  draws?: number;
}

/** A task family made from a run's config: the tasks it draws. */
export interface TaskFamily {
  /** Its name in the registry ('sine', ...). */
  name: string;
  /** Inputs per point, d: the MLP's first layer takes d (then any context inputs). */
  inputs: number;
  /** The family's settings an adaptation may read (DAML's source domains, the sine family's). */
  settings: unknown;
  /** Training: `sizes.tasks` tasks and their support (and query) points, drawn from the run's stream. */
  sampleBatch(rng: Rng, sizes: BatchSizes): MetaBatch;
  /** Held-out tasks with K support points each, and the points each is scored on. */
  heldOut(options: HeldOutOptions): EvalSet;
  /** A task whose loss is above this (or not finite) counts as diverged: 100 times the mean square of the family's largest outputs (in the reported units). */
  divergenceBound: number;
  /** The reported loss is the trained one times this: 1, or the output's variance for a family trained on standardized outputs (the data's own units). */
  lossScale: number;
  /** What a task's loss is measured on, as a report says it ("100 grid points over x in [-5,5]"). */
  scoredOn: string;
  /** The loss's name in a table's heading ("grid MSE"). */
  lossName: string;
  /** Its settings as a message names them, one term per option ("amplitude 0.1,5"): how two families differ. */
  terms: Record<string, string>;
  /** A picture of the family (plot-data family): `count` of its tasks drawn from seed, as curves or points over the first input. */
  sketch(count: number, seed: number): FamilySketch;
}

/** Tasks of a family as plot-data family draws them. */
export interface FamilySketch {
  /** The points of every task (x: its first input). */
  values: { task: number; x: number; y: number }[];
  /** Lines through a task's points (a function drawn densely) or its points alone (data). */
  mark: 'line' | 'point';
  title: string;
  subtitle: string;
  xTitle: string;
  xDomain: [number, number];
}

/** A task family as registered: its options, defaults and checks, and how it is made from a config. */
export interface FamilyPlugin<Own extends OptionTable = {}> {
  /** One line for --help. */
  summary: string;
  /** Its own options (the sine family's amplitude, phase, ...), read by every algorithm on this family. */
  options: Own;
  /** Its defaults where they differ from the shared ones (e.g. its own divergence scale). */
  defaults?: Partial<FamilyConfig<Own>>;
  /** Its settings in a config, as a message names them, one term per option ("amplitude 0.1,5"): how two families differ. */
  terms(config: FamilyConfig<Own>): Record<string, string>;
  /** A config with eval's overrides of its options (default: the overrides replace the config's values). */
  override?(config: FamilyConfig<Own>, overrides: Partial<Values<Own>>): FamilyConfig<Own>;
  /** Its checks of a whole config, as a learner's. */
  check?(config: FamilyConfig<Own>, refuse: (key: string, message: string) => void, shown: ValueNamer): void;
  /** Inputs per point, d, of a config's tasks (the MLP's first layer takes d, then any context inputs). */
  inputs(config: FamilyConfig<Own>): number;
  /** The family of a config (its options resolved and checked), and what was loaded for it (a data family's tasks: tasks/load.ts). */
  make(config: FamilyConfig<Own>, loaded?: unknown): TaskFamily;
}

/** A family plug-in, with its config typed by its own options. */
export function family<Own extends OptionTable = {}>(plugin: FamilyPlugin<Own>): FamilyPlugin<Own> {
  return plugin;
}
