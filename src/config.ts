// Training options: declared once here (key, flag, type, help, default) and
// validated by one zod schema, whether they come from a config file or a flag.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describeFsError } from './fsutil.js';

export const ALGORITHMS = ['maml', 'fomaml', 'reptile', 'transfer', 'random', 'meta-sgd', 'daml'] as const;
export const ACTIVATIONS = ['relu', 'tanh'] as const;
export const LOSSES = ['mse', 'l1'] as const;
export const META_OPTIMIZERS = ['sgd', 'adam'] as const;
export const GRADIENT_ROUTES = ['analytic', 'autodiff'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];
export type Activation = (typeof ACTIVATIONS)[number];
export type LossKind = (typeof LOSSES)[number];

/** A usage error: bad flag, bad config, bad checkpoint argument. Exits 2. */
export class UsageError extends Error {}

/** A runtime failure whose message says all there is to say (divergence, a failed write). Exits 1, no stack-trace hint. */
export class RunError extends Error {}

/** Sizes beyond which an option or a checkpoint is refused before anything is allocated. */
export const MAX_UNITS = 1 << 16;
export const MAX_PARAMS = 1 << 26;
export const MAX_TASKS = 100_000;
/** Tasks times points per task in one batch of sampled points. */
export const MAX_POINTS = 1 << 24;
/** Tasks times parameters: the per-task copies of the weights that adaptation works on. */
export const MAX_TASK_WEIGHTS = 1 << 28;

/** Numbers in flags and configs may be written with pi: "pi", "2pi", "-pi/2", "0.5*pi". */
export function parseNumber(text: string): number {
  const s = text.trim().toLowerCase();
  const m = /^([-+]?(?:\d+\.?\d*|\.\d+)?)\s*\*?\s*pi(?:\s*\/\s*(\d+(?:\.\d+)?))?$/.exec(s);
  if (m) {
    const factor = m[1] === '' || m[1] === '+' ? 1 : m[1] === '-' ? -1 : Number(m[1]);
    return (factor * Math.PI) / (m[2] ? Number(m[2]) : 1);
  }
  const special = /^([-+]?)(inf|infinity|nan)$/.exec(s);
  if (special) return special[2] === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
  // Number('') is 0 and Number('0x10') is 16: accept plain decimal notation only.
  if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$/.test(s)) return NaN;
  return Number(s);
}

/** Text that is not a number stays text, so that zod says "expected a number" rather than "not NaN". */
const asNumber = (v: unknown) => (typeof v === 'string' && (!Number.isNaN(parseNumber(v)) || /^\s*[-+]?nan\s*$/i.test(v)) ? parseNumber(v) : v);
const numberish = z.preprocess(
  asNumber,
  z.number({ errorMap: (issue) => ({ message: issue.code === 'invalid_type' && issue.received === 'nan' ? 'must be a finite number, not NaN' : 'expected a number' }) }),
);
const finite = numberish.pipe(z.number().finite('must be a finite number'));
const positive = finite.pipe(z.number().positive('must be greater than 0'));
const count = finite.pipe(z.number().int('must be a whole number').positive('must be at least 1'));
const countOrZero = finite.pipe(z.number().int('must be a whole number').nonnegative('must be 0 or more'));
const taskCount = count.pipe(z.number().max(MAX_TASKS, `must be at most ${MAX_TASKS}`));
const width = count.pipe(z.number().max(MAX_UNITS, `must be at most ${MAX_UNITS}`));

/** Refuses a product of sizes (tasks x points, tasks x parameters) too large to allocate. */
function checkSize(ctx: z.RefinementCtx, key: string, what: string, a: number, b: number, max: number): void {
  if (a * b > max) ctx.addIssue({ code: 'custom', path: [key], message: `${what} is ${a} x ${b}, more than ${max}` });
}
const pair = z.tuple([finite, finite], {
  errorMap: (issue, ctx) => ({ message: ['invalid_type', 'too_big', 'too_small'].includes(issue.code) ? 'expected two numbers lo,hi' : ctx.defaultError }),
});
/** A range [lo, hi] with lo <= hi; a single number means a fixed value [v, v]. */
const range = z
  .union([finite.transform((v) => [v, v] as [number, number]), pair], {
    errorMap: (issue, ctx) => ({ message: issue.code === 'invalid_union' ? 'expected one finite number or two (lo,hi)' : ctx.defaultError }),
  })
  .refine(([lo, hi]) => lo <= hi, 'needs lo <= hi (write one number for a fixed value)');
const strictRange = pair.refine(([lo, hi]) => lo < hi, 'needs lo < hi');
/** Ranges [[lo, hi], ...]; a flag gives them flat (lo,hi,lo,hi,...), read in pairs. */
const rangeList = z.preprocess(
  (v) => (Array.isArray(v) && v.every((x) => !Array.isArray(x)) ? Array.from({ length: Math.ceil(v.length / 2) }, (_, i) => v.slice(2 * i, 2 * i + 2)) : v),
  z.array(strictRange).min(1),
);

type FlagKind = 'int' | 'number' | 'ints' | 'numbers' | 'range' | 'enum' | 'bool' | 'string';

export interface OptionSpec {
  /** commander flag, e.g. '--meta-batch <n>' */
  flag: string;
  kind: FlagKind;
  help: string;
  schema: z.ZodTypeAny;
}

/** Every training option. The key is the config-file key; the flag is its command-line form. */
export const TRAIN_OPTIONS = {
  description: { flag: '--description <text>', kind: 'string', help: 'free text kept with the run', schema: z.string() },
  algo: { flag: '--algo <name>', kind: 'enum', help: `meta-learning algorithm: ${ALGORITHMS.join('|')}`, schema: z.enum(ALGORITHMS) },
  iterations: { flag: '--iterations <n>', kind: 'int', help: 'meta-iterations to train', schema: countOrZero },
  metaBatch: { flag: '--meta-batch <n>', kind: 'int', help: 'tasks per meta-iteration', schema: taskCount },
  innerSteps: { flag: '--inner-steps <n>', kind: 'int', help: 'SGD steps of task adaptation inside each meta-iteration', schema: count },
  innerLr: { flag: '--inner-lr <lr>', kind: 'number', help: 'step size of the inner (adaptation) SGD', schema: positive },
  innerBatch: { flag: '--inner-batch <n>', kind: 'int', help: "reptile: points per inner minibatch (drawn without replacement from the task's support points)", schema: count },
  metaOptimizer: { flag: '--meta-optimizer <name>', kind: 'enum', help: `outer optimizer: ${META_OPTIMIZERS.join('|')}`, schema: z.enum(META_OPTIMIZERS) },
  metaLr: { flag: '--meta-lr <lr>', kind: 'number', help: 'outer step size (reptile: epsilon in theta += epsilon (phi - theta))', schema: positive },
  metaLrFinal: { flag: '--meta-lr-final <lr>', kind: 'number', help: 'anneal the outer step size linearly to this value by the last iteration', schema: finite.pipe(z.number().nonnegative('must be 0 or more')).nullable() },
  clipGrad: { flag: '--clip-grad <norm>', kind: 'number', help: 'clip each inner and outer gradient to this global L2 norm (maml then differentiates by autodiff)', schema: positive.nullable() },
  gradients: { flag: '--gradients <route>', kind: 'enum', help: `how maml and meta-sgd differentiate through adaptation: analytic (explicit backpropagation and Hessian-vector products, fast) or autodiff (nested tf.grads inside tf.variableGrads, the generic reference); same result`, schema: z.enum(GRADIENT_ROUTES) },
  hidden: { flag: '--hidden <sizes>', kind: 'ints', help: 'hidden layer widths, comma separated (e.g. 40,40)', schema: z.array(width).min(1, 'needs at least one hidden layer').max(16) },
  activation: { flag: '--activation <name>', kind: 'enum', help: `hidden activation: ${ACTIVATIONS.join('|')}`, schema: z.enum(ACTIVATIONS) },
  seed: { flag: '--seed <n>', kind: 'int', help: 'seed of the task stream and the initialisation', schema: countOrZero },
  amplitude: { flag: '--amplitude <lo,hi>', kind: 'range', help: 'task amplitude A, uniform in [lo, hi] (one number: fixed)', schema: range },
  phase: { flag: '--phase <lo,hi>', kind: 'range', help: 'task phase, uniform in [lo, hi]; numbers may use pi (e.g. 0,2pi)', schema: range },
  phases: { flag: '--phases <list>', kind: 'numbers', help: 'a discrete set of phases drawn with equal probability; replaces --phase (e.g. 0,pi)', schema: z.array(finite).min(1).nullable() },
  xRange: { flag: '--x-range <lo,hi>', kind: 'range', help: 'inputs x are drawn from [lo, hi]', schema: strictRange },
  support: { flag: '--support <k>', kind: 'int', help: 'support points per task (K, the inner-loop data; daml: unlabeled source inputs drawn anew for each inner step)', schema: count },
  supportGrid: { flag: '--support-grid', kind: 'bool', help: 'support points on an evenly spaced grid over x-range instead of uniform draws', schema: z.boolean() },
  query: { flag: '--query <n>', kind: 'int', help: 'query points per task (the outer-loop data of maml/fomaml/meta-sgd/daml)', schema: count },
  queryGrid: { flag: '--query-grid', kind: 'bool', help: 'query points on an evenly spaced grid over x-range', schema: z.boolean() },
  loss: { flag: '--loss <name>', kind: 'enum', help: `task loss: ${LOSSES.join('|')}`, schema: z.enum(LOSSES) },
  sourceRanges: { flag: '--source-ranges <list>', kind: 'numbers', help: "daml: the source domain of each of --phases, lo,hi per phase (e.g. pi/4,pi/2,-pi/2,-pi/4): a task's unlabeled inputs are drawn from its phase's range", schema: rangeList.nullable() },
  adaptHidden: { flag: '--adapt-hidden <sizes>', kind: 'ints', help: "daml: hidden widths of the adaptation-loss network (ReLU) over the MLP's output and hidden activations", schema: z.array(count).min(1, 'needs at least one hidden layer').max(16) },
  logEvery: { flag: '--log-every <n>', kind: 'int', help: 'iterations per point of the loss curve (mean meta-loss over the window)', schema: count },
  evalEvery: { flag: '--eval-every <n>', kind: 'int', help: 'iterations between validation evaluations (0: only at the end)', schema: countOrZero },
  checkpointEvery: { flag: '--checkpoint-every <n>', kind: 'int', help: 'iterations between checkpoints (0: only at the end)', schema: countOrZero },
  valTasks: { flag: '--val-tasks <n>', kind: 'int', help: 'fixed validation tasks (drawn from the seed, never trained on)', schema: taskCount },
  valSamples: { flag: '--val-samples <k>', kind: 'int', help: 'support points per validation task', schema: count },
  valUpdates: { flag: '--val-updates <n>', kind: 'int', help: 'fine-tuning steps before the validation loss is measured (SGD at inner-lr; meta-sgd: at its learned rates; daml: down its learned loss)', schema: countOrZero },
} satisfies Record<string, OptionSpec>;

export type OptionKey = keyof typeof TRAIN_OPTIONS;

const shape = Object.fromEntries(Object.entries(TRAIN_OPTIONS).map(([k, spec]) => [k, spec.schema])) as {
  [K in OptionKey]: (typeof TRAIN_OPTIONS)[K]['schema'];
};

export const trainConfigSchema = z
  .object(shape)
  .strict()
  .superRefine((c, ctx) => {
    checkSize(ctx, 'support', 'meta-batch x support', c.metaBatch, c.support, MAX_POINTS);
    checkSize(ctx, 'query', 'meta-batch x query', c.metaBatch, c.query, MAX_POINTS);
    checkSize(ctx, 'valSamples', 'val-tasks x val-samples', c.valTasks, c.valSamples, MAX_POINTS);
    const sizes = [1, ...c.hidden, 1];
    const params = sizes.slice(1).reduce((n, units, i) => n + (sizes[i] + 1) * units, 0); // kernels and biases
    if (params > MAX_PARAMS) ctx.addIssue({ code: 'custom', path: ['hidden'], message: `gives ${params} parameters, more than ${MAX_PARAMS}` });
    else checkSize(ctx, 'hidden', 'tasks (meta-batch or val-tasks) x parameters', Math.max(c.metaBatch, c.valTasks), params, MAX_TASK_WEIGHTS);
    if (c.algo === 'reptile' && c.innerBatch > c.support) {
      ctx.addIssue({ code: 'custom', path: ['innerBatch'], message: `inner-batch ${c.innerBatch} is larger than support ${c.support}` });
    }
    if (c.supportGrid && c.queryGrid && (c.algo === 'maml' || c.algo === 'fomaml' || c.algo === 'meta-sgd') && c.support === c.query) {
      ctx.addIssue({ code: 'custom', path: ['queryGrid'], message: 'support and query would be the same grid points' });
    }
    if (c.algo === 'daml' && (!c.phases || c.sourceRanges?.length !== c.phases.length)) {
      ctx.addIssue({ code: 'custom', path: ['sourceRanges'], message: `daml needs one source range per phase of --phases (${c.phases?.length ?? 'none'} phase(s), ${c.sourceRanges?.length ?? 'no'} range(s))` });
    }
    if (c.algo !== 'daml' && c.sourceRanges !== null) {
      ctx.addIssue({ code: 'custom', path: ['sourceRanges'], message: 'is for daml only' });
    }
    if (c.algo !== 'daml' && JSON.stringify(c.adaptHidden) !== JSON.stringify(BASE_DEFAULTS.adaptHidden)) {
      ctx.addIssue({ code: 'custom', path: ['adaptHidden'], message: 'is for daml only' });
    }
  });

export type TrainConfig = z.infer<typeof trainConfigSchema>;

/** Defaults of every option: the MAML paper's sinusoid protocol (section 5.1), shortened to 10 000 iterations. */
export const BASE_DEFAULTS: TrainConfig = {
  description: '',
  algo: 'maml',
  iterations: 10000,
  metaBatch: 25,
  innerSteps: 1,
  innerLr: 0.01,
  innerBatch: 10,
  metaOptimizer: 'adam',
  metaLr: 0.001,
  metaLrFinal: null,
  clipGrad: null,
  gradients: 'analytic',
  hidden: [40, 40],
  activation: 'relu',
  seed: 0,
  amplitude: [0.1, 5],
  phase: [0, Math.PI],
  phases: null,
  xRange: [-5, 5],
  support: 10,
  supportGrid: false,
  query: 10,
  queryGrid: false,
  loss: 'mse',
  sourceRanges: null,
  adaptHidden: [32, 32],
  logEvery: 10,
  evalEvery: 1000,
  checkpointEvery: 1000,
  valTasks: 100,
  valSamples: 10,
  valUpdates: 5,
};

/**
 * Defaults that differ by algorithm, because the option means something else there.
 * Reptile (Flux post, OpenAI's sine demo): several inner minibatch steps on 50 points and
 * a plain interpolation step epsilon = 0.1; with one inner step it would be joint training.
 * DAML needs a task family with source domains: the PyTorch post's (target sin(x) or
 * sin(x + pi) on [-2pi, 2pi], one unlabeled source input per inner step from [pi/4, pi/2]
 * for phase 0 or [-pi/2, -pi/4] for phase pi, 5 steps of 0.03 on an L1 outer loss).
 */
export const ALGORITHM_DEFAULTS: Record<Algorithm, Partial<TrainConfig>> = {
  maml: {},
  fomaml: {},
  reptile: { metaOptimizer: 'sgd', metaLr: 0.1, innerSteps: 5, innerLr: 0.02, innerBatch: 10, support: 50, metaBatch: 5 },
  transfer: {},
  random: { iterations: 0 },
  // its rates are learned for innerSteps steps (one): more steps at them overshoot
  'meta-sgd': { valUpdates: 1 },
  daml: {
    amplitude: [1, 1],
    phases: [0, Math.PI],
    xRange: [-2 * Math.PI, 2 * Math.PI],
    sourceRanges: [[Math.PI / 4, Math.PI / 2], [-Math.PI / 2, -Math.PI / 4]],
    support: 1,
    valSamples: 1,
    query: 4,
    innerSteps: 5,
    innerLr: 0.03,
    loss: 'l1',
    hidden: [32, 32],
  },
};

export function defaultsFor(algo: Algorithm): TrainConfig {
  return { ...BASE_DEFAULTS, ...ALGORITHM_DEFAULTS[algo], algo };
}

/** "help (default: x; reptile: y)" for --help, from the tables above. */
export function helpWithDefault(key: OptionKey): string {
  const show = (v: unknown) => (Array.isArray(v) ? v.flat().map((x) => +Number(x).toFixed(4)).join(',') : typeof v === 'number' ? String(+v.toFixed(6)) : String(v));
  const base = BASE_DEFAULTS[key];
  const parts = [base === null || base === '' ? 'default: none' : `default: ${show(base)}`];
  for (const algo of ALGORITHMS) {
    const v = ALGORITHM_DEFAULTS[algo][key];
    if (v !== undefined) parts.push(`${algo}: ${show(v)}`);
  }
  return `${TRAIN_OPTIONS[key].help} (${parts.join('; ')})`;
}

/** Every issue on one line: "config a.json: 'metaBatch' (--meta-batch) must be at least 1; unknown key 'x'". */
function describeIssues(error: z.ZodError, where: string, table: Record<string, OptionSpec> = TRAIN_OPTIONS): string {
  const issues = error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    const key = issue.path.length ? String(issue.path[0]) : '';
    const index = issue.path.length > 1 ? `[${issue.path.slice(1).join('][')}]` : '';
    const name = key in table ? `'${key}'${index} (${table[key].flag.split(' ')[0]})` : `'${key}'${index}`;
    return `${name} ${issue.message}`;
  });
  return `${where}: ${issues.join('; ')}`;
}

/** Parses one flag's text into the JSON value a config file would hold. */
export function parseFlagValue(spec: OptionSpec, text: string | boolean): unknown {
  const kind = spec.kind;
  if (typeof text === 'boolean') return text;
  const list = () => text.split(',').map((s) => asNumber(s.trim()));
  switch (kind) {
    case 'int':
    case 'number':
      return asNumber(text);
    case 'ints':
    case 'numbers':
      return list();
    case 'range': {
      const values = list();
      return values.length === 1 ? values[0] : values;
    }
    default:
      return text;
  }
}

/** Reads and checks a config file: JSON object, known keys, right types. */
export function readConfigFile(path: string): Partial<TrainConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`config ${path}: cannot read it: ${describeFsError(e)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`config ${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UsageError(`config ${path}: expected a JSON object of options`);
  return parseOptions(json as Record<string, unknown>, `config ${path}`);
}

/** Checks some options (a config file's keys, or flags) on their own: known keys, right types and ranges. */
export function parseOptions(values: Record<string, unknown>, where: string): Partial<TrainConfig> {
  const parsed = trainConfigSchema.innerType().partial().strict().safeParse(values);
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error, where));
  return parsed.data as Partial<TrainConfig>;
}

/**
 * Resolves the options of a run: built-in defaults, then the algorithm's defaults,
 * then the config file, then flags; the result is validated as a whole.
 */
export function resolveConfig(fromFile: Partial<TrainConfig>, fromFlags: Record<string, unknown>, where = 'options'): TrainConfig {
  const flags = parseOptions(fromFlags, where);
  const algo = (flags.algo ?? fromFile.algo ?? BASE_DEFAULTS.algo) as Algorithm;
  const merged = { ...defaultsFor(algo), ...fromFile, ...flags };
  const parsed = trainConfigSchema.safeParse(merged);
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error, where));
  return parsed.data;
}

/** Checks a config read back from a checkpoint; options added since it was written take their defaults. */
export function validateConfig(json: unknown, where: string): TrainConfig {
  const saved = typeof json === 'object' && json !== null ? (json as Partial<TrainConfig>) : {};
  const algo = ALGORITHMS.includes(saved.algo as Algorithm) ? (saved.algo as Algorithm) : BASE_DEFAULTS.algo;
  const parsed = trainConfigSchema.safeParse(typeof json === 'object' && json !== null ? { ...defaultsFor(algo), ...saved } : json);
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error, where));
  return parsed.data;
}

/** Flag values present in commander's parsed flags, as config values. */
export function flagValues(table: Record<string, OptionSpec>, flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    if (flags[key] !== undefined) out[key] = parseFlagValue(spec, flags[key] as string | boolean);
  }
  return out;
}

/** Options of `metalearn eval`; the task-family options are the training ones. */
/** Defaults of `metalearn eval`, the 600 held-out tasks of the MAML code. */
export const EVAL_DEFAULTS = { samples: 5, updates: 10, tasks: 600, seed: 1000 };

export const EVAL_OPTIONS = {
  samples: { flag: '--samples <k>', kind: 'int', help: `support points K per task for fine-tuning (default: ${EVAL_DEFAULTS.samples})`, schema: count.default(EVAL_DEFAULTS.samples) },
  updates: { flag: '--updates <n>', kind: 'int', help: `SGD updates; the loss is reported after each (default: ${EVAL_DEFAULTS.updates})`, schema: countOrZero.default(EVAL_DEFAULTS.updates) },
  lr: { flag: '--lr <lr>', kind: 'number', help: "fine-tuning SGD step size (default: each checkpoint's inner-lr; 0.01 for a plain layers model); meta-sgd steps by its learned rates instead", schema: positive.optional() },
  plainSgd: { flag: '--plain-sgd', kind: 'bool', help: 'fine-tune every checkpoint by plain SGD at --lr on its support points, ignoring the learned rates of meta-sgd and the learned loss of daml', schema: z.boolean().default(false) },
  tasks: { flag: '--tasks <n>', kind: 'int', help: `held-out tasks, the same for every checkpoint (default: ${EVAL_DEFAULTS.tasks})`, schema: taskCount.default(EVAL_DEFAULTS.tasks) },
  seed: { flag: '--seed <n>', kind: 'int', help: `seed of the held-out tasks (default: ${EVAL_DEFAULTS.seed})`, schema: TRAIN_OPTIONS.seed.schema.default(EVAL_DEFAULTS.seed) },
  sampleRange: { flag: '--sample-range <lo,hi>', kind: 'range', help: "where support x are drawn (default: the family's x range; e.g. 0,5 for the Flux robustness test)", schema: strictRange.optional() },
  wave: { flag: '--wave <A,phase>', kind: 'numbers', help: 'evaluate one wave A sin(x + phase) instead of random tasks, and record its points and predictions in --out', schema: z.tuple([finite, finite]).optional() },
  amplitude: { ...TRAIN_OPTIONS.amplitude, help: "task amplitude range (default: the first checkpoint's)", schema: range.optional() },
  phase: { ...TRAIN_OPTIONS.phase, help: "task phase range (default: the first checkpoint's)", schema: range.optional() },
  phases: { ...TRAIN_OPTIONS.phases, help: "discrete phases (default: the first checkpoint's)", schema: z.array(finite).min(1).optional() },
  xRange: { ...TRAIN_OPTIONS.xRange, help: "x range of the tasks and of the 100-point loss grid (default: the first checkpoint's)", schema: strictRange.optional() },
} satisfies Record<string, OptionSpec>;

const evalShape = Object.fromEntries(Object.entries(EVAL_OPTIONS).map(([k, spec]) => [k, spec.schema])) as {
  [K in keyof typeof EVAL_OPTIONS]: (typeof EVAL_OPTIONS)[K]['schema'];
};
export const evalConfigSchema = z
  .object(evalShape)
  .strict()
  .superRefine((c, ctx) => checkSize(ctx, 'samples', 'tasks x samples', c.wave ? 1 : c.tasks, c.samples, MAX_POINTS));
export type EvalConfig = z.infer<typeof evalConfigSchema>;

export function resolveEvalConfig(fromFlags: Record<string, unknown>): EvalConfig {
  const parsed = evalConfigSchema.safeParse(fromFlags);
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error, 'eval', EVAL_OPTIONS));
  return parsed.data;
}
