// How an option is declared, once: its flag, help text, default and checks (a zod schema that
// a config file's JSON value and a flag's parsed text both go through). The training options
// (config.ts and each algorithm's file), eval's (report.ts) and plot-data's are tables of these.
import { z } from 'zod';
import { UsageError } from '../base/errors.js';

/** How a flag's text becomes the value a config file would hold. */
export type FlagKind = 'int' | 'number' | 'ints' | 'numbers' | 'range' | 'enum' | 'bool' | 'string';

export interface OptionSpec<T = unknown> {
  /** commander's form, e.g. '--meta-batch <n>' */
  flag: string;
  kind: FlagKind;
  help: string;
  schema: z.ZodType<T, z.ZodTypeDef, unknown>;
  default: T;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OptionTable = Record<string, OptionSpec<any>>;
export type Values<T extends OptionTable> = { [K in keyof T]: T[K]['default'] };

export function option<T>(spec: OptionSpec<T>): OptionSpec<T> {
  return spec;
}

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

// Schema building blocks. Text that is not a number stays text, so that zod says "expected a number" rather than "not NaN".
const asNumber = (v: unknown) => (typeof v === 'string' && (!Number.isNaN(parseNumber(v)) || /^\s*[-+]?nan\s*$/i.test(v)) ? parseNumber(v) : v);
const numberish = z.preprocess(
  asNumber,
  z.number({ errorMap: (issue) => ({ message: issue.code === 'invalid_type' && issue.received === 'nan' ? 'must be a finite number, not NaN' : 'expected a number' }) }),
);
export const finite = numberish.pipe(z.number().finite('must be a finite number'));
export const positive = finite.pipe(z.number().positive('must be greater than 0'));
export const nonNegative = finite.pipe(z.number().nonnegative('must be 0 or more'));
export const count = finite.pipe(z.number().int('must be a whole number').positive('must be at least 1'));
export const countOrZero = finite.pipe(z.number().int('must be a whole number').nonnegative('must be 0 or more'));
export const atMost = (schema: z.ZodType<number, z.ZodTypeDef, unknown>, max: number) => schema.pipe(z.number().max(max, `must be at most ${max}`));
const pair = z.tuple([finite, finite], {
  errorMap: (issue, ctx) => ({ message: ['invalid_type', 'too_big', 'too_small'].includes(issue.code) ? 'expected two numbers lo,hi' : ctx.defaultError }),
});
/** A range [lo, hi] with lo <= hi; a single number means a fixed value [v, v]. */
export const range = z
  .union([finite.transform((v) => [v, v] as [number, number]), pair], {
    errorMap: (issue, ctx) => ({ message: issue.code === 'invalid_union' ? 'expected one finite number or two (lo,hi)' : ctx.defaultError }),
  })
  .refine(([lo, hi]) => lo <= hi, 'needs lo <= hi (write one number for a fixed value)');
export const strictRange = pair.refine(([lo, hi]) => lo < hi, 'needs lo < hi');
/** Ranges [[lo, hi], ...]; a flag gives them flat (lo,hi,lo,hi,...), read in pairs. */
export const rangeList = z.preprocess(
  (v) => (Array.isArray(v) && v.every((x) => !Array.isArray(x)) ? Array.from({ length: Math.ceil(v.length / 2) }, (_, i) => v.slice(2 * i, 2 * i + 2)) : v),
  z.array(strictRange).min(1),
);
export const widths = (max: number) => z.array(atMost(count, max)).min(1, 'needs at least one hidden layer').max(16);

/** Parses one flag's text into the JSON value a config file would hold. */
export function parseFlag(spec: OptionSpec, text: string | boolean): unknown {
  if (typeof text === 'boolean') return text;
  // "none" for a numeric option that may be unset (--meta-lr-final none: no annealing), as --help shows its default
  if (spec.kind !== 'string' && spec.kind !== 'enum' && /^\s*none\s*$/i.test(text)) return null;
  const list = () => text.split(',').map((s) => asNumber(s.trim()));
  switch (spec.kind) {
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

/** The values of the options of a table that commander parsed from flags (absent ones left out). */
export function flagValues(table: OptionTable, flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) if (flags[key] !== undefined) out[key] = parseFlag(spec, flags[key] as string | boolean);
  return out;
}

/** "'metaBatch' (--meta-batch)": an option as a message names it. */
export function optionName(table: OptionTable, key: string, index = ''): string {
  return key in table ? `'${key}'${index} (${table[key].flag.split(' ')[0]})` : `'${key}'${index}`;
}

/** Every issue on one line: "config a.json: 'metaBatch' (--meta-batch) must be at least 1; unknown key 'x'". */
export function describeIssues(issues: z.ZodIssue[], where: string, table: OptionTable): string {
  const described = issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    const key = issue.path.length ? String(issue.path[0]) : '';
    const index = issue.path.length > 1 ? `[${issue.path.slice(1).join('][')}]` : '';
    return `${optionName(table, key, index)} ${issue.message}`;
  });
  return `${where}: ${described.join('; ')}`;
}

/** The zod object of a table's options. */
export function objectOf<T extends OptionTable>(table: T) {
  return z.object(Object.fromEntries(Object.entries(table).map(([k, spec]) => [k, spec.schema])) as { [K in keyof T]: T[K]['schema'] }).strict();
}

/** Checks some of a table's options on their own (a config file's keys, or flags): known keys, right types and ranges. */
export function checkSome<T extends OptionTable>(table: T, values: Record<string, unknown>, where: string): Partial<Values<T>> {
  const parsed = objectOf(table).partial().safeParse(values);
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error.issues, where, table));
  return parsed.data as Partial<Values<T>>;
}

export function defaultsOf<T extends OptionTable>(table: T): Values<T> {
  return Object.fromEntries(Object.entries(table).map(([k, spec]) => [k, spec.default])) as Values<T>;
}

/** An option's help with its default, for --help ("help (default: 10)"); an option without one says in its help what it defaults to. */
export function helpWithDefault(spec: OptionSpec): string {
  return spec.default === undefined ? spec.help : `${spec.help} (default: ${showValue(spec.default)})`;
}

/** How a check names an option's value in a refusal: "10", and "10 (the default)" where the user did not give it. */
export type ValueNamer = (key: string) => string;

/**
 * The ValueNamer of some values, of which the user gave those in `given` (null: all of them, as for a saved config);
 * `whose` says whose default a value is ("the", "reptile's").
 */
export function valueNamer(values: Record<string, unknown>, given: ReadonlySet<string> | null, whose: (key: string) => string = () => 'the'): ValueNamer {
  return (key) => `${showValue(values[key])}${given && !given.has(key) ? ` (${whose(key)} default)` : ''}`;
}

/** A value as --help shows it: lists comma separated, numbers shortened. */
export function showValue(v: unknown): string {
  if (v === null || v === undefined || v === '') return 'none';
  if (Array.isArray(v)) return v.flat().map((x) => +Number(x).toFixed(4)).join(',');
  return typeof v === 'number' ? String(+v.toFixed(6)) : String(v);
}

/**
 * A number for a title, with the minus sign the axes use: a multiple of pi/4 is
 * written with pi ("π/2", "−2π"), anything else with at most 3 decimals.
 */
export function showNumber(v: number): string {
  const quarters = (v / Math.PI) * 4;
  const q = Math.round(quarters);
  const g = q % 4 === 0 ? 4 : q % 2 === 0 ? 2 : 1;
  const [num, den] = [q / g, 4 / g];
  const text = q === 0 || Math.abs(quarters - q) > 1e-9 ? String(+v.toFixed(3)) : `${num === 1 ? '' : num === -1 ? '-' : num}π${den > 1 ? `/${den}` : ''}`;
  return text.replace('-', '−');
}

/** A range for a title: "= 2" for a fixed value, "∈ [0.1, 5]" for a range. */
export const showRange = ([lo, hi]: [number, number]) => (lo === hi ? `= ${showNumber(lo)}` : `∈ [${showNumber(lo)}, ${showNumber(hi)}]`);
