// A run's config: the options every algorithm shares (declared here) and each algorithm's own
// (declared in its file, registered in algorithms/index.ts); resolving a config from the
// defaults, an algorithm's defaults, a config file and flags; and what --resume may change.
import { z } from 'zod';
import { ALGORITHM_OPTIONS, ALGORITHMS, ALWAYS_USED, LEARNERS, type Algorithm } from '../algorithms/index.js';
import { UsageError } from '../base/errors.js';
import { MAX_PARAMS, MAX_POINTS, MAX_TASK_WEIGHTS, MAX_TASKS, MAX_UNITS } from '../options/limits.js';
import { ACTIVATIONS, LOSSES } from '../core/model.js';
import { atMost, checkSome, count, countOrZero, defaultsOf, describeIssues, finite, nonNegative, objectOf, option, optionName, positive, range, showValue, strictRange, widths, type Values } from '../options/option.js';

export const META_OPTIMIZERS = ['sgd', 'adam'] as const;
export const META_LR_SCHEDULES = ['linear', 'cosine'] as const;
const taskCount = atMost(count, MAX_TASKS);

/** The options every algorithm shares (the ones an algorithm reads are listed in its `uses`, beside ALWAYS_USED). The defaults: the MAML paper's sinusoid protocol (section 5.1), shortened to 10 000 iterations. */
export const SHARED_OPTIONS = {
  description: option({ flag: '--description <text>', kind: 'string', help: 'free text kept with the run', schema: z.string(), default: '' }),
  algo: option({ flag: '--algo <name>', kind: 'enum', help: `meta-learning algorithm: ${ALGORITHMS.join('|')}`, schema: z.enum(ALGORITHMS), default: 'maml' as Algorithm }),
  iterations: option({ flag: '--iterations <n>', kind: 'int', help: 'meta-iterations to train', schema: countOrZero, default: 10000 }),
  metaBatch: option({ flag: '--meta-batch <n>', kind: 'int', help: 'tasks per meta-iteration', schema: taskCount, default: 25 }),
  innerSteps: option({ flag: '--inner-steps <n>', kind: 'int', help: 'SGD steps of task adaptation inside each meta-iteration', schema: count, default: 1 }),
  innerLr: option({ flag: '--inner-lr <lr>', kind: 'number', help: 'step size of the inner (adaptation) SGD, and of fine-tuning in validation and eval', schema: positive, default: 0.01 }),
  metaOptimizer: option({ flag: '--meta-optimizer <name>', kind: 'enum', help: `outer optimizer: ${META_OPTIMIZERS.join('|')}`, schema: z.enum(META_OPTIMIZERS), default: 'adam' as (typeof META_OPTIMIZERS)[number] }),
  metaLr: option({ flag: '--meta-lr <lr>', kind: 'number', help: 'outer step size (reptile: epsilon in theta += epsilon (phi - theta))', schema: positive, default: 0.001 }),
  metaLrFinal: option({ flag: '--meta-lr-final <lr>', kind: 'number', help: 'anneal the outer step size to this value by the last iteration (along --meta-lr-schedule)', schema: nonNegative.nullable(), default: null as number | null }),
  metaLrSchedule: option({ flag: '--meta-lr-schedule <shape>', kind: 'enum', help: `how the outer step size goes from --meta-lr to --meta-lr-final: ${META_LR_SCHEDULES.join('|')} (cosine: metaLrFinal + (metaLr - metaLrFinal) (1 + cos(pi i / (iterations - 1))) / 2, SGDR without restarts)`, schema: z.enum(META_LR_SCHEDULES), default: 'linear' as (typeof META_LR_SCHEDULES)[number] }),
  clipGrad: option({ flag: '--clip-grad <norm>', kind: 'number', help: 'clip each inner and outer gradient to this global L2 norm (maml then differentiates by autodiff)', schema: positive.nullable(), default: null as number | null }),
  hidden: option({ flag: '--hidden <sizes>', kind: 'ints', help: 'hidden layer widths, comma separated (e.g. 40,40)', schema: widths(MAX_UNITS), default: [40, 40] }),
  activation: option({ flag: '--activation <name>', kind: 'enum', help: `hidden activation: ${ACTIVATIONS.join('|')}`, schema: z.enum(ACTIVATIONS), default: 'relu' as (typeof ACTIVATIONS)[number] }),
  seed: option({ flag: '--seed <n>', kind: 'int', help: 'seed of the task stream and the initialisation', schema: countOrZero, default: 0 }),
  amplitude: option({ flag: '--amplitude <lo,hi>', kind: 'range', help: 'task amplitude A, uniform in [lo, hi] (one number: fixed)', schema: range, default: [0.1, 5] as [number, number] }),
  phase: option({ flag: '--phase <lo,hi>', kind: 'range', help: 'task phase, uniform in [lo, hi]; numbers may use pi (e.g. 0,2pi)', schema: range, default: [0, Math.PI] as [number, number] }),
  phases: option({ flag: '--phases <list>', kind: 'numbers', help: 'a discrete set of phases drawn with equal probability; replaces --phase (e.g. 0,pi)', schema: z.array(finite).min(1).nullable(), default: null as number[] | null }),
  frequency: option({ flag: '--frequency <lo,hi>', kind: 'range', help: 'task angular frequency w, uniform in [lo, hi] (one number: fixed), in y = A sin(w x + phase)', schema: range.refine(([lo]) => lo > 0, 'must be greater than 0'), default: [1, 1] as [number, number] }),
  xRange: option({ flag: '--x-range <lo,hi>', kind: 'range', help: 'inputs x are drawn from [lo, hi]', schema: strictRange, default: [-5, 5] as [number, number] }),
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

/** Every training option: the shared ones and the algorithms' own. The key is the config-file key; the flag is its command-line form. */
export const TRAIN_OPTIONS = { ...SHARED_OPTIONS, ...ALGORITHM_OPTIONS };
export type TrainConfig = Values<typeof TRAIN_OPTIONS>;
export type OptionKey = keyof TrainConfig;

/** The options an algorithm reads: ALWAYS_USED, its `uses` and its own. Only these are accepted for it and saved with its runs. */
export function usedOptions(algo: Algorithm): OptionKey[] {
  const learner = LEARNERS[algo];
  return [...ALWAYS_USED, ...learner.uses, ...(Object.keys(learner.options ?? {}) as OptionKey[])];
}

/** The algorithms that read an option. */
export function usersOf(key: OptionKey): Algorithm[] {
  return ALGORITHMS.filter((a) => usedOptions(a).includes(key));
}

/** Every option at its default, with an algorithm's own defaults over the shared ones. */
export function defaultsFor(algo: Algorithm): TrainConfig {
  return { ...defaultsOf(TRAIN_OPTIONS), ...LEARNERS[algo].defaults, algo } as TrainConfig;
}

/** "help (default: x; reptile: y; for maml, meta-sgd)" for --help, from the declarations. */
export function helpFor(key: OptionKey): string {
  const parts = [`default: ${showValue(TRAIN_OPTIONS[key].default)}`];
  for (const algo of ALGORITHMS) {
    const own = (LEARNERS[algo].defaults as Record<string, unknown> | undefined)?.[key];
    if (own !== undefined) parts.push(`${algo}: ${showValue(own)}`);
  }
  const users = usersOf(key);
  if (users.length < ALGORITHMS.length) parts.push(`for ${users.join(', ')}`);
  return `${TRAIN_OPTIONS[key].help} (${parts.join('; ')})`;
}

/** Refuses a product of sizes (tasks x points, tasks x parameters) too large to allocate. */
function checkSize(ctx: z.RefinementCtx, key: string, what: string, a: number, b: number, max: number): void {
  if (a * b > max) ctx.addIssue({ code: 'custom', path: [key], message: `${what} is ${a} x ${b}, more than ${max}` });
}

/** The checks of a whole config: sizes against the limits, and the algorithm's own. */
const trainConfigSchema = objectOf(TRAIN_OPTIONS).superRefine((c, ctx) => {
  checkSize(ctx, 'support', 'meta-batch x support', c.metaBatch, c.support, MAX_POINTS);
  checkSize(ctx, 'query', 'meta-batch x query', c.metaBatch, c.query, MAX_POINTS);
  checkSize(ctx, 'valSamples', 'val-tasks x val-samples', c.valTasks, c.valSamples, MAX_POINTS);
  const sizes = [1, ...c.hidden, 1];
  const params = sizes.slice(1).reduce((n, units, i) => n + (sizes[i] + 1) * units, 0); // kernels and biases
  if (params > MAX_PARAMS) ctx.addIssue({ code: 'custom', path: ['hidden'], message: `gives ${params} parameters, more than ${MAX_PARAMS}` });
  else checkSize(ctx, 'hidden', 'tasks (meta-batch or val-tasks) x parameters', Math.max(c.metaBatch, c.valTasks), params, MAX_TASK_WEIGHTS);
  if (c.metaLrSchedule !== 'linear' && c.metaLrFinal === null && usedOptions(c.algo).includes('metaLrSchedule')) ctx.addIssue({ code: 'custom', path: ['metaLrFinal'], message: `the ${c.metaLrSchedule} schedule anneals to --meta-lr-final: give it (e.g. 1e-5)` });
  LEARNERS[c.algo].check?.(c as TrainConfig, (key, message) => ctx.addIssue({ code: 'custom', path: [key], message }));
});

function checkWhole(config: Record<string, unknown>, where: string): TrainConfig {
  const parsed = trainConfigSchema.safeParse(config);
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error.issues, where, TRAIN_OPTIONS));
  return parsed.data as TrainConfig;
}

/** Refuses options given for an algorithm that does not read them, whatever their value. */
function refuseUnused(algo: Algorithm, given: Record<string, unknown>, where: string): void {
  const used = usedOptions(algo);
  const unused = Object.keys(given).filter((k) => k in TRAIN_OPTIONS && !used.includes(k as OptionKey));
  if (unused.length === 0) return;
  const issues = unused.map((k) => `${optionName(TRAIN_OPTIONS, k)} is for ${usersOf(k as OptionKey).join(', ') || 'no algorithm'}, not ${algo}`);
  throw new UsageError(`${where}: ${issues.join('; ')}`);
}

/** Checks some options (a config file's keys, or flags) on their own: known keys, right types and ranges. */
export function parseOptions(values: Record<string, unknown>, where: string): Partial<TrainConfig> {
  return checkSome(TRAIN_OPTIONS, values, where);
}

/**
 * Resolves the options of a run: the defaults, then the algorithm's defaults, then the config
 * file, then flags; an option the algorithm does not read is refused; the result is checked as a whole.
 */
export function resolveConfig(fromFile: Partial<TrainConfig>, fromFlags: Record<string, unknown>, where = 'options'): TrainConfig {
  const flags = parseOptions(fromFlags, where);
  const algo = flags.algo ?? fromFile.algo ?? SHARED_OPTIONS.algo.default;
  refuseUnused(algo, { ...fromFile, ...flags }, where);
  return checkWhole({ ...defaultsFor(algo), ...fromFile, ...flags }, where);
}

/** The config as a run saves it: the options its algorithm reads, and only those. */
export function savedConfig(config: TrainConfig): Partial<TrainConfig> {
  return Object.fromEntries(usedOptions(config.algo).map((k) => [k, config[k]]));
}

/** Checks a config read back from a run; options it does not hold (added since, or not read by its algorithm) take their defaults. */
export function validateConfig(json: unknown, where: string): TrainConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UsageError(`${where}: the config is not an object`);
  const saved = json as Record<string, unknown>;
  const algo = (ALGORITHMS as readonly unknown[]).includes(saved.algo) ? (saved.algo as Algorithm) : SHARED_OPTIONS.algo.default;
  return checkWhole({ ...defaultsFor(algo), ...saved }, where);
}

/** Options a resumed run may change: it is extended, or logged and saved at other intervals. */
export const RESUMABLE_CHANGES = ['iterations', 'logEvery', 'evalEvery', 'checkpointEvery', 'description'] as const satisfies readonly OptionKey[];

/**
 * The config of a resumed run: the saved one, with the changes asked for where a resume may make
 * them. Anything else that differs from the saved run is refused, and so is --iterations for a
 * run whose outer step size is annealed (its schedule is spread over the iterations it was started with).
 */
export function resumeConfig(saved: TrainConfig, requested: Partial<TrainConfig>, where: string): TrainConfig {
  refuseUnused(saved.algo, requested, where);
  const fixed = (k: string) => !(RESUMABLE_CHANGES as readonly string[]).includes(k) || (k === 'iterations' && saved.metaLrFinal !== null);
  const conflicts = Object.entries(requested).filter(([k, v]) => fixed(k) && JSON.stringify(v) !== JSON.stringify(saved[k as OptionKey]));
  if (conflicts.length > 0) {
    const why = (k: string) => (k === 'iterations' ? ' (its outer step size is annealed to --meta-lr-final over those iterations)' : '');
    const differences = conflicts.map(([k, v]) => `${k} = ${JSON.stringify(saved[k as OptionKey])}, not ${JSON.stringify(v)}${why(k)}`);
    throw new UsageError(`${where}: the run was trained with ${differences.join('; ')}: start a new run (--name) to change ${conflicts.length > 1 ? 'them' : 'it'}`);
  }
  return checkWhole({ ...saved, ...requested }, where);
}
