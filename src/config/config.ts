// A run's config: its algorithm and task family, the options every algorithm shares (options/shared.ts),
// each family's own (tasks/) and each algorithm's own (declared in its file, registered in
// algorithms/index.ts); resolving a config from
// the defaults, an algorithm's defaults, a config file and flags; and what --resume may change.
import { z } from 'zod';
import { ALGORITHM_OPTIONS, ALGORITHMS, learnerOf, type Algorithm } from '../algorithms/index.js';
import { UsageError } from '../base/errors.js';
import { MAX_PARAMS, MAX_POINTS, MAX_TASK_WEIGHTS } from '../options/limits.js';
import { checkSome, defaultsOf, describeIssues, objectOf, option, optionName, showValue, valueNamer, type ValueNamer, type Values } from '../options/option.js';
import { ALWAYS_USED, SHARED_OPTIONS } from '../options/shared.js';
import { FAMILIES, FAMILY, FAMILY_NAMES, FAMILY_OPTIONS, familyPluginOf, type FamilyName } from '../tasks/index.js';

/** The algorithm of a run: one of the registry's (algorithms/index.ts). */
const ALGO = option({ flag: '--algo <name>', kind: 'enum', help: `meta-learning algorithm: ${ALGORITHMS.join('|')}`, schema: z.enum(ALGORITHMS), default: 'maml' as Algorithm });

const { description, ...sharedAfterDescription } = SHARED_OPTIONS;
/** Every training option: the algorithm and the task family (after the description, as --help lists them), the shared options, the families' own and the algorithms' own. The key is the config-file key; the flag is its command-line form. */
export const TRAIN_OPTIONS = { description, algo: ALGO, family: FAMILY, ...sharedAfterDescription, ...FAMILY_OPTIONS, ...ALGORITHM_OPTIONS };
export type TrainConfig = Values<typeof TRAIN_OPTIONS>;
export type OptionKey = keyof TrainConfig;

/** The options an algorithm reads on a task family: ALWAYS_USED, the family's own, its `uses` and its own. Only these are accepted for it and saved with its runs. */
export function usedOptions(algo: Algorithm, family: FamilyName = FAMILY.default): OptionKey[] {
  const learner = learnerOf(algo);
  const own = [...Object.keys(familyPluginOf(family).options), ...Object.keys(learner.options ?? {})] as OptionKey[];
  return [...new Set([...ALWAYS_USED, ...learner.uses, ...own])];
}

/** The algorithms that read an option (on some family). */
export function usersOf(key: OptionKey): Algorithm[] {
  return ALGORITHMS.filter((a) => FAMILY_NAMES.some((f) => usedOptions(a, f).includes(key)));
}

/** The families whose own option this is (none: a shared or an algorithm's option). */
export function familiesOf(key: OptionKey): FamilyName[] {
  return FAMILY_NAMES.filter((f) => key in FAMILIES[f].options);
}

/** Every option at its default, with an algorithm's own defaults over the shared ones. */
export function defaultsFor(algo: Algorithm, family: FamilyName = FAMILY.default): TrainConfig {
  return { ...defaultsOf(TRAIN_OPTIONS), ...learnerOf(algo).defaults, ...familyPluginOf(family).defaults, algo, family } as TrainConfig;
}

/** The config every option at its default (that of the default algorithm): what a model that carries no config (a plain layers model) is taken to have. */
export function defaultConfig(): TrainConfig {
  return defaultsFor(ALGO.default);
}

/** "help (default: x; reptile: y; for maml, meta-sgd)" for --help, from the declarations. */
export function helpFor(key: OptionKey): string {
  const parts = [`default: ${showValue(TRAIN_OPTIONS[key].default)}`];
  for (const algo of ALGORITHMS) {
    const own = (learnerOf(algo).defaults as Record<string, unknown> | undefined)?.[key];
    if (own !== undefined) parts.push(`${algo}: ${showValue(own)}`);
  }
  const users = usersOf(key);
  if (users.length < ALGORITHMS.length) parts.push(`for ${users.join(', ')}`);
  return `${TRAIN_OPTIONS[key].help} (${parts.join('; ')})`;
}

/** A size in a check's message: its value, and its text there (shown, for an option's). */
type Size = [value: number, text: string];

/** Refuses a product of sizes (tasks x points, tasks x parameters) too large to allocate. */
function checkSize(ctx: z.RefinementCtx, key: string, what: string, [a, aText]: Size, [b, bText]: Size, max: number): void {
  if (a * b > max) ctx.addIssue({ code: 'custom', path: [key], message: `${what} is ${aText} x ${bText}, more than ${max}` });
}

/** How a config's checks name its values: as given, or as the algorithm's default or the shared one (given: the keys the user gave; null: a saved config). */
function namerOf(config: TrainConfig, given: ReadonlySet<string> | null): ValueNamer {
  const learner = learnerOf(config.algo);
  return valueNamer(config, given, (key) => (key in (learner.defaults ?? {}) || key in (learner.options ?? {}) ? `${config.algo}'s` : 'the'));
}

/** The checks of a whole config: sizes against the limits, and the algorithm's own; a refusal says which of the values it names are defaults. */
const trainConfigSchema = (given: ReadonlySet<string> | null) =>
  objectOf(TRAIN_OPTIONS).superRefine((c, ctx) => {
    const shown = namerOf(c as TrainConfig, given);
    const size = (key: 'metaBatch' | 'support' | 'query' | 'valTasks' | 'valSamples'): Size => [c[key], shown(key)];
    checkSize(ctx, 'support', 'meta-batch x support', size('metaBatch'), size('support'), MAX_POINTS);
    checkSize(ctx, 'query', 'meta-batch x query', size('metaBatch'), size('query'), MAX_POINTS);
    checkSize(ctx, 'valSamples', 'val-tasks x val-samples', size('valTasks'), size('valSamples'), MAX_POINTS);
    const sizes = [1, ...c.hidden, 1];
    const params = sizes.slice(1).reduce((n, units, i) => n + (sizes[i] + 1) * units, 0); // kernels and biases
    if (params > MAX_PARAMS) ctx.addIssue({ code: 'custom', path: ['hidden'], message: `gives ${params} parameters, more than ${MAX_PARAMS}` });
    else checkSize(ctx, 'hidden', 'tasks (meta-batch or val-tasks) x parameters', size(c.metaBatch >= c.valTasks ? 'metaBatch' : 'valTasks'), [params, String(params)], MAX_TASK_WEIGHTS);
    if (c.metaLrSchedule !== 'linear' && c.metaLrFinal === null && usedOptions(c.algo, c.family).includes('metaLrSchedule')) ctx.addIssue({ code: 'custom', path: ['metaLrFinal'], message: `the ${c.metaLrSchedule} schedule anneals to --meta-lr-final: give it (e.g. 1e-5)` });
    const refuse = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    familyPluginOf(c.family).check?.(c as TrainConfig, refuse, shown);
    learnerOf(c.algo).check?.(c as TrainConfig, refuse, shown);
  });

/** Checks a whole config; given: the keys the user gave (a refusal names the others' values as defaults), null for a saved config. */
function checkWhole(config: Record<string, unknown>, where: string, given: ReadonlySet<string> | null = null): TrainConfig {
  const parsed = trainConfigSchema(given).safeParse(config);
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error.issues, where, TRAIN_OPTIONS));
  return parsed.data as TrainConfig;
}

/** Refuses options given for an algorithm that does not read them, whatever their value. */
function refuseUnused(algo: Algorithm, family: FamilyName, given: Record<string, unknown>, where: string): void {
  const used = usedOptions(algo, family);
  const unused = Object.keys(given).filter((k) => k in TRAIN_OPTIONS && !used.includes(k as OptionKey));
  if (unused.length === 0) return;
  const whose = (k: OptionKey) => (familiesOf(k).length && !familiesOf(k).includes(family) ? `the ${familiesOf(k).join(' and ')} famil${familiesOf(k).length > 1 ? 'ies' : 'y'}, not ${family}` : `${usersOf(k).join(', ') || 'no algorithm'}, not ${algo}`);
  const issues = unused.map((k) => `${optionName(TRAIN_OPTIONS, k)} is for ${whose(k as OptionKey)}`);
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
  const algo = flags.algo ?? fromFile.algo ?? ALGO.default;
  // --data FILE is a data family's: it names the family unless another is given
  const family = flags.family ?? fromFile.family ?? ((flags as { data?: unknown }).data ?? (fromFile as { data?: unknown }).data ? 'data' : FAMILY.default);
  refuseUnused(algo, family, { ...fromFile, ...flags }, where);
  return checkWhole({ ...defaultsFor(algo, family), ...fromFile, ...flags }, where, new Set(Object.keys({ ...fromFile, ...flags })));
}

/** The config as a run saves it: the options its algorithm reads, and only those. */
export function savedConfig(config: TrainConfig): Partial<TrainConfig> {
  return Object.fromEntries(usedOptions(config.algo, config.family).map((k) => [k, config[k]]));
}

/** Checks a config read back from a run; options it does not hold (added since, or not read by its algorithm) take their defaults. */
export function validateConfig(json: unknown, where: string): TrainConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UsageError(`${where}: the config is not an object`);
  const saved = json as Record<string, unknown>;
  const algo = (ALGORITHMS as readonly unknown[]).includes(saved.algo) ? (saved.algo as Algorithm) : ALGO.default;
  // a run saved before families existed holds none: its tasks were sine waves
  const family = (FAMILY_NAMES as readonly unknown[]).includes(saved.family) ? (saved.family as FamilyName) : FAMILY.default;
  return checkWhole({ ...defaultsFor(algo, family), ...saved }, where);
}

/** Options a resumed run may change: it is extended, or logged and saved at other intervals. */
export const RESUMABLE_CHANGES = ['iterations', 'logEvery', 'evalEvery', 'checkpointEvery', 'description'] as const satisfies readonly OptionKey[];

/**
 * The config of a resumed run: the saved one, with the changes asked for where a resume may make
 * them. Anything else that differs from the saved run is refused, and so is --iterations for a
 * run whose outer step size is annealed (its schedule is spread over the iterations it was started with).
 */
export function resumeConfig(saved: TrainConfig, requested: Partial<TrainConfig>, where: string): TrainConfig {
  refuseUnused(saved.algo, saved.family, requested, where);
  const fixed = (k: string) => !(RESUMABLE_CHANGES as readonly string[]).includes(k) || (k === 'iterations' && saved.metaLrFinal !== null);
  const conflicts = Object.entries(requested).filter(([k, v]) => fixed(k) && JSON.stringify(v) !== JSON.stringify(saved[k as OptionKey]));
  if (conflicts.length > 0) {
    const why = (k: string) => (k === 'iterations' ? ' (its outer step size is annealed to --meta-lr-final over those iterations)' : '');
    const differences = conflicts.map(([k, v]) => `${k} = ${JSON.stringify(saved[k as OptionKey])}, not ${JSON.stringify(v)}${why(k)}`);
    throw new UsageError(`${where}: the run was trained with ${differences.join('; ')}: start a new run (--name) to change ${conflicts.length > 1 ? 'them' : 'it'}`);
  }
  return checkWhole({ ...saved, ...requested }, where);
}
