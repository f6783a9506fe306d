// The options every algorithm shares: the MLP, the inner loop, the meta-optimizer,
// logging, validation and checkpoints; and which algorithms read them. Adding a shared option is this
// file alone (the task family's options are its file's, tasks/): its entry in SHARED_OPTIONS, and its key in ALWAYS_USED (every algorithm reads it) or
// TRAINING (every algorithm that trains); an option only some algorithms read is named in their `uses`.
import { z } from 'zod';
import { ACTIVATIONS, LOSSES } from '../core/model.js';
import { META_LR_SCHEDULES, META_OPTIMIZERS } from '../core/optim.js';
import { MAX_TASKS, MAX_UNITS } from './limits.js';
import { atMost, count, countOrZero, nonNegative, option, positive, widths, type Values } from './option.js';

const taskCount = atMost(count, MAX_TASKS);

/**
 * The options every algorithm shares (an algorithm lists the ones it reads in its `uses`, beside ALWAYS_USED;
 * `algo` itself is the config's, config/config.ts). The defaults: the MAML paper's sinusoid protocol (section
 * 5.1) with tanh units, shortened to 10 000 iterations.
 */
export const SHARED_OPTIONS = {
  description: option({ flag: '--description <text>', kind: 'string', help: 'free text kept with the run', schema: z.string(), default: '' }),
  iterations: option({ flag: '--iterations <n>', kind: 'int', help: 'meta-iterations to train', schema: countOrZero, default: 10000 }),
  metaBatch: option({ flag: '--meta-batch <n>', kind: 'int', help: 'tasks per meta-iteration', schema: taskCount, default: 25 }),
  innerSteps: option({ flag: '--inner-steps <n>', kind: 'int', help: 'SGD steps of task adaptation inside each meta-iteration', schema: count, default: 1 }),
  innerLr: option({ flag: '--inner-lr <lr>', kind: 'number', help: 'step size of the inner (adaptation) SGD, and of fine-tuning in validation and eval', schema: positive, default: 0.01 }),
  metaOptimizer: option({ flag: '--meta-optimizer <name>', kind: 'enum', help: `outer optimizer: ${META_OPTIMIZERS.join('|')}`, schema: z.enum(META_OPTIMIZERS), default: 'adam' as (typeof META_OPTIMIZERS)[number] }),
  metaLr: option({ flag: '--meta-lr <lr>', kind: 'number', help: 'outer step size (reptile: epsilon in theta += epsilon (phi - theta))', schema: positive, default: 0.001 }),
  metaLrFinal: option({ flag: '--meta-lr-final <lr>', kind: 'number', help: 'anneal the outer step size to this value by the last iteration (along --meta-lr-schedule); none: a constant step', schema: nonNegative.nullable(), default: null as number | null }),
  metaLrSchedule: option({ flag: '--meta-lr-schedule <shape>', kind: 'enum', help: `how the outer step size goes from --meta-lr to --meta-lr-final: ${META_LR_SCHEDULES.join('|')} (cosine: metaLrFinal + (metaLr - metaLrFinal) (1 + cos(pi i / (iterations - 1))) / 2, SGDR without restarts)`, schema: z.enum(META_LR_SCHEDULES), default: 'linear' as (typeof META_LR_SCHEDULES)[number] }),
  clipGrad: option({ flag: '--clip-grad <norm>', kind: 'number', help: 'clip each inner and outer gradient to this global L2 norm (maml then differentiates by autodiff); none: no clipping', schema: positive.nullable(), default: null as number | null }),
  hidden: option({ flag: '--hidden <sizes>', kind: 'ints', help: 'hidden layer widths, comma separated (e.g. 40,40)', schema: widths(MAX_UNITS), default: [40, 40] }),
  // tanh, not the MAML paper's ReLU: its bounded units keep fine-tuning stable for 10 updates at K = 5 (docs/training.md)
  activation: option({ flag: '--activation <name>', kind: 'enum', help: `hidden activation: ${ACTIVATIONS.join('|')}`, schema: z.enum(ACTIVATIONS), default: 'tanh' as (typeof ACTIVATIONS)[number] }),
  seed: option({ flag: '--seed <n>', kind: 'int', help: 'seed of the task stream and the initialisation', schema: countOrZero, default: 0 }),
  support: option({ flag: '--support <k>', kind: 'int', help: 'support points per task (K, the inner-loop data; daml: unlabeled source inputs drawn anew for each inner step)', schema: count, default: 10 }),
  supportGrid: option({ flag: '--support-grid', kind: 'bool', help: 'support points on an evenly spaced grid over x-range instead of uniform draws', schema: z.boolean(), default: false }),
  query: option({ flag: '--query <n>', kind: 'int', help: 'query points per task (the outer-loop data)', schema: count, default: 10 }),
  queryGrid: option({ flag: '--query-grid', kind: 'bool', help: 'query points on an evenly spaced grid over x-range', schema: z.boolean(), default: false }),
  loss: option({ flag: '--loss <name>', kind: 'enum', help: `task loss: ${LOSSES.join('|')}`, schema: z.enum(LOSSES), default: 'mse' as (typeof LOSSES)[number] }),
  logEvery: option({ flag: '--log-every <n>', kind: 'int', help: 'iterations per point of the loss curve (mean meta-loss over the window)', schema: count, default: 10 }),
  evalEvery: option({ flag: '--eval-every <n>', kind: 'int', help: 'iterations between validation evaluations (0: only at the end)', schema: countOrZero, default: 1000 }),
  checkpointEvery: option({ flag: '--checkpoint-every <n>', kind: 'int', help: 'iterations between checkpoints (0: only at the end)', schema: countOrZero, default: 1000 }),
  valTasks: option({ flag: '--val-tasks <n>', kind: 'int', help: 'fixed validation tasks (drawn from the seed, never trained on)', schema: taskCount, default: 100 }),
  valSamples: option({ flag: '--val-samples <k>', kind: 'int', help: 'support points per validation task', schema: count, default: 10 }),
  valUpdates: option({ flag: '--val-updates <n>', kind: 'int', help: "fine-tuning steps before the validation loss is measured (the algorithm's own fine-tuning)", schema: countOrZero, default: 5 }),
};

export type SharedKey = keyof typeof SHARED_OPTIONS;
/** The options a learner may name in its `uses`: the shared ones, the algorithm's name and the task family's. */
export type UsedKey = SharedKey | 'algo' | 'family';

/** Shared options every algorithm reads: the task family (its name; its own options come with it), the MLP, its fine-tuning and its validation. */
export const ALWAYS_USED = ['description', 'algo', 'seed', 'hidden', 'activation', 'family', 'loss', 'innerLr', 'valTasks', 'valSamples', 'valUpdates'] as const satisfies readonly UsedKey[];
/** Shared options of every algorithm that trains: the loop and the meta-optimizer. */
export const TRAINING = ['iterations', 'metaBatch', 'metaOptimizer', 'metaLr', 'metaLrFinal', 'metaLrSchedule', 'clipGrad', 'logEvery', 'evalEvery', 'checkpointEvery'] as const satisfies readonly UsedKey[];
/** A config as every algorithm sees it: the shared options (and its name); an algorithm's own options come on top (algorithms/learner.ts). */
export type SharedConfig = Values<typeof SHARED_OPTIONS> & { algo: string; family: string };
