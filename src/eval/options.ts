// The options of `metalearn eval` (and of plot-data's evaluating kinds), declared once on
// options/option.ts's mechanism, and their checks. Browser-safe: the page checks its settings with them.
import { z } from 'zod';
import { UsageError } from '../base/errors.js';
import { MAX_POINTS, MAX_TASKS } from '../options/limits.js';
import { atMost, count, countOrZero, describeIssues, finite, objectOf, option, positive, range, strictRange, valueNamer, type Values } from '../options/option.js';
import { SHARED_OPTIONS } from '../options/shared.js';
import { sineOptions } from '../tasks/sine.js';

/**
 * The options of `metalearn eval` (and of plot-data's evaluating kinds). 20 000 held-out tasks by
 * default, not the 600 of the MAML code: at 600 the 95% interval of a 5-shot mean is about +-10% of it,
 * wider than most differences between methods; at 20 000 it is about +-2%.
 */
export const EVAL_OPTIONS = {
  samples: option({ flag: '--samples <k>', kind: 'int', help: 'support points K per task for fine-tuning', schema: count, default: 5 }),
  updates: option({ flag: '--updates <n>', kind: 'int', help: 'fine-tuning updates; the loss is reported after each', schema: countOrZero, default: 10 }),
  lr: option({ flag: '--lr <lr>', kind: 'number', help: `fine-tuning SGD step size (default: each checkpoint's inner-lr; ${SHARED_OPTIONS.innerLr.default} for a plain layers model); meta-sgd and maml++ step by their learned rates instead (maml++ past its learned steps at this lr)`, schema: positive.optional(), default: undefined as number | undefined }),
  plainSgd: option({ flag: '--plain-sgd', kind: 'bool', help: 'fine-tune every checkpoint by plain SGD at --lr on its support points, ignoring the learned rates of meta-sgd and maml++ and the learned loss of daml, and every weight rather than anil\'s head or cavia\'s context (at zero context)', schema: z.boolean(), default: false }),
  tasks: option({ flag: '--tasks <n>', kind: 'int', help: 'held-out tasks, the same for every checkpoint (20 000: a 95% interval of about +-2% on a MAML paper model\'s mean, in about 8 s per checkpoint on wasm)', schema: atMost(count, MAX_TASKS), default: 20000 }),
  seed: option({ flag: '--seed <n>', kind: 'int', help: 'seed of the held-out tasks', schema: countOrZero, default: 1000 }),
  sampleRange: option({ flag: '--sample-range <lo,hi>', kind: 'range', help: "where support x are drawn (default: the family's x range; e.g. 0,5 for the Flux robustness test)", schema: strictRange.optional(), default: undefined as [number, number] | undefined }),
  wave: option({ flag: '--wave <A,phase[,w]>', kind: 'numbers', help: 'evaluate one wave A sin(w x + phase) (w: 1 unless given) instead of random tasks, and record its points and predictions in --out', schema: z.union([z.tuple([finite, finite]), z.tuple([finite, finite, positive])]).optional(), default: undefined as [number, number] | [number, number, number] | undefined }),
  points: option({ flag: '--points <x,...>', kind: 'numbers', help: "with --wave: fine-tune on the wave's values at these x (e.g. the page's clicked points) instead of --samples random ones; --samples is then their count", schema: z.array(finite).min(1).max(MAX_POINTS).optional(), default: undefined as number[] | undefined }),
  query: option({ flag: '--query <points>', kind: 'enum', help: "the loss measured after each update: grid (the MSE on 100 evenly spaced x over the family's range), or random (the grid's, and the MSE on K fresh random query points per task, as cbfinn/maml's evaluation)", schema: z.enum(['grid', 'random']), default: 'grid' as 'grid' | 'random' }),
  draws: option({ flag: '--draws <n>', kind: 'int', help: "support sets drawn per held-out task, each scored on the task's other points (a data family's tasks are few; sine's are endless: draw more --tasks)", schema: atMost(count, 1000), default: 1 }),
  otherData: option({ flag: '--other-data', kind: 'bool', help: "evaluate a data family's run on its file even if the file changed since training (its scales are the run's)", schema: z.boolean(), default: false }),
  divergedAbove: option({ flag: '--diverged-above <mse>', kind: 'number', help: "a task whose loss after an update is above this, or not finite, counts as diverged at that update: counted, and left out of the mean (default: 100 x the largest mean square of a wave of the family, 100 A_max^2 / 2: 1250 for A up to 5)", schema: positive.optional(), default: undefined as number | undefined }),
  amplitude: option({ ...sineOptions.amplitude, help: "task amplitude range (default: the first checkpoint's)", schema: range.optional(), default: undefined as [number, number] | undefined }),
  phase: option({ ...sineOptions.phase, help: "task phase range (default: the first checkpoint's)", schema: range.optional(), default: undefined as [number, number] | undefined }),
  phases: option({ ...sineOptions.phases, help: "discrete phases (default: the first checkpoint's)", schema: z.array(finite).min(1).optional(), default: undefined as number[] | undefined }),
  frequency: option({ ...sineOptions.frequency, help: "task angular frequency range (default: the first checkpoint's)", schema: sineOptions.frequency.schema.optional(), default: undefined as [number, number] | undefined }),
  xRange: option({ ...sineOptions.xRange, help: "x range of the tasks and of the 100-point loss grid (default: the first checkpoint's)", schema: strictRange.optional(), default: undefined as [number, number] | undefined }),
};
export type EvalConfig = Values<typeof EVAL_OPTIONS>;
type EvalKey = keyof typeof EVAL_OPTIONS;

/** Options that only make sense with another, and why: refused without it, and not offered where it is not (plot-data losses has no --wave). */
export const NEEDS: Partial<Record<EvalKey, { option: EvalKey; why: string }>> = { points: { option: 'wave', why: 'they are points of one wave' } };

/** The options offered beside all but `without`: those that need one of them go too. */
export function evalOptionsWithout(without: EvalKey): EvalKey[] {
  return (Object.keys(EVAL_OPTIONS) as EvalKey[]).filter((key) => key !== without && NEEDS[key]?.option !== without);
}

/** The checks of the settings as a whole; given: the options the user gave (a refusal names the others' values as defaults). */
const evalConfigSchema = (given: ReadonlySet<string>) =>
  objectOf(EVAL_OPTIONS).superRefine((c, ctx) => {
    for (const [key, need] of Object.entries(NEEDS)) {
      if (c[key as EvalKey] !== undefined && c[need.option] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `needs ${EVAL_OPTIONS[need.option].flag.split(' ')[0]} (${need.why})` });
    }
    const shown = valueNamer(c, given);
    const tasks = c.wave ? 1 : c.tasks;
    if (tasks * c.samples > MAX_POINTS) ctx.addIssue({ code: 'custom', path: ['samples'], message: `tasks x samples is ${c.wave ? '1 (--wave)' : shown('tasks')} x ${shown('samples')}, more than ${MAX_POINTS}` });
  });

/** The evaluation settings from flag values, defaults filled in, checked. */
export function resolveEvalConfig(fromFlags: Record<string, unknown>): EvalConfig {
  const defaults = Object.fromEntries(Object.entries(EVAL_OPTIONS).map(([k, spec]) => [k, spec.default]).filter(([, v]) => v !== undefined));
  const parsed = evalConfigSchema(new Set(Object.keys(fromFlags))).safeParse({ ...defaults, ...fromFlags });
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error.issues, 'eval', EVAL_OPTIONS));
  const settings = parsed.data as EvalConfig;
  if (!settings.points) return settings;
  if (fromFlags.samples !== undefined && settings.samples !== settings.points.length) throw new UsageError(`eval: 'samples' (--samples) is ${settings.samples}, and --points gives ${settings.points.length} points: give one or the other`);
  return { ...settings, samples: settings.points.length };
}

