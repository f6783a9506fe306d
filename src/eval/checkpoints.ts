// What `metalearn eval` computes, without the report around it (report.ts): its options (declared
// once, on options.ts's mechanism), and every checkpoint fine-tuned on the same held-out tasks and
// support points (a paired comparison), each the way its algorithm's fineTuning says. Browser-safe:
// the page (src/page/) runs this very function on the points a user clicks.
import { z } from 'zod';
import { LEARNERS, type Adaptation, type FineTuning } from '../algorithms/index.js';
import { SHARED_OPTIONS, type TrainConfig } from '../config/config.js';
import { UsageError } from '../base/errors.js';
import { disposeEvalSet, divergenceBound, fineTune, GRID_POINTS, makeEvalSet, summarize, type Summary } from '../core/fine-tune.js';
import { MAX_POINTS, MAX_TASKS } from '../options/limits.js';
import { atMost, count, countOrZero, describeIssues, finite, objectOf, option, positive, range, strictRange, type Values } from '../options/option.js';
import type { LoadedModel } from '../run/format.js';
import type { TaskFamily } from '../core/tasks.js';

/**
 * The options of `metalearn eval` (and of plot-data's evaluating kinds). 20 000 held-out tasks by
 * default, not the 600 of the MAML code: at 600 the 95% interval of a 5-shot mean is about +-10% of it,
 * wider than most differences between methods; at 20 000 it is about +-2%.
 */
export const EVAL_OPTIONS = {
  samples: option({ flag: '--samples <k>', kind: 'int', help: 'support points K per task for fine-tuning', schema: count, default: 5 }),
  updates: option({ flag: '--updates <n>', kind: 'int', help: 'fine-tuning updates; the loss is reported after each', schema: countOrZero, default: 10 }),
  lr: option({ flag: '--lr <lr>', kind: 'number', help: "fine-tuning SGD step size (default: each checkpoint's inner-lr; 0.01 for a plain layers model); meta-sgd and maml++ step by their learned rates instead (maml++ past its learned steps at this lr)", schema: positive.optional(), default: undefined as number | undefined }),
  plainSgd: option({ flag: '--plain-sgd', kind: 'bool', help: 'fine-tune every checkpoint by plain SGD at --lr on its support points, ignoring the learned rates of meta-sgd and maml++ and the learned loss of daml, and every weight rather than anil\'s head or cavia\'s context (at zero context)', schema: z.boolean(), default: false }),
  tasks: option({ flag: '--tasks <n>', kind: 'int', help: 'held-out tasks, the same for every checkpoint (20 000: a 95% interval of about +-2% on a MAML paper model\'s mean, in about 8 s per checkpoint on wasm)', schema: atMost(count, MAX_TASKS), default: 20000 }),
  seed: option({ flag: '--seed <n>', kind: 'int', help: 'seed of the held-out tasks', schema: countOrZero, default: 1000 }),
  sampleRange: option({ flag: '--sample-range <lo,hi>', kind: 'range', help: "where support x are drawn (default: the family's x range; e.g. 0,5 for the Flux robustness test)", schema: strictRange.optional(), default: undefined as [number, number] | undefined }),
  wave: option({ flag: '--wave <A,phase[,w]>', kind: 'numbers', help: 'evaluate one wave A sin(w x + phase) (w: 1 unless given) instead of random tasks, and record its points and predictions in --out', schema: z.union([z.tuple([finite, finite]), z.tuple([finite, finite, positive])]).optional(), default: undefined as [number, number] | [number, number, number] | undefined }),
  points: option({ flag: '--points <x,...>', kind: 'numbers', help: "with --wave: fine-tune on the wave's values at these x (e.g. the page's clicked points) instead of --samples random ones; --samples is then their count", schema: z.array(finite).min(1).max(MAX_POINTS).optional(), default: undefined as number[] | undefined }),
  query: option({ flag: '--query <points>', kind: 'enum', help: "the loss measured after each update: grid (the MSE on 100 evenly spaced x over the family's range), or random (the grid's, and the MSE on K fresh random query points per task, as cbfinn/maml's evaluation)", schema: z.enum(['grid', 'random']), default: 'grid' as 'grid' | 'random' }),
  divergedAbove: option({ flag: '--diverged-above <mse>', kind: 'number', help: "a task whose loss after an update is above this, or not finite, counts as diverged at that update: counted, and left out of the mean (default: 100 x the largest mean square of a wave of the family, 100 A_max^2 / 2: 1250 for A up to 5)", schema: positive.optional(), default: undefined as number | undefined }),
  amplitude: option({ ...SHARED_OPTIONS.amplitude, help: "task amplitude range (default: the first checkpoint's)", schema: range.optional(), default: undefined as [number, number] | undefined }),
  phase: option({ ...SHARED_OPTIONS.phase, help: "task phase range (default: the first checkpoint's)", schema: range.optional(), default: undefined as [number, number] | undefined }),
  phases: option({ ...SHARED_OPTIONS.phases, help: "discrete phases (default: the first checkpoint's)", schema: z.array(finite).min(1).optional(), default: undefined as number[] | undefined }),
  frequency: option({ ...SHARED_OPTIONS.frequency, help: "task angular frequency range (default: the first checkpoint's)", schema: SHARED_OPTIONS.frequency.schema.optional(), default: undefined as [number, number] | undefined }),
  xRange: option({ ...SHARED_OPTIONS.xRange, help: "x range of the tasks and of the 100-point loss grid (default: the first checkpoint's)", schema: strictRange.optional(), default: undefined as [number, number] | undefined }),
};
export type EvalConfig = Values<typeof EVAL_OPTIONS>;

const evalConfigSchema = objectOf(EVAL_OPTIONS).superRefine((c, ctx) => {
  if (c.points && !c.wave) ctx.addIssue({ code: 'custom', path: ['points'], message: 'needs --wave (they are points of one wave)' });
  const tasks = c.wave ? 1 : c.tasks;
  if (tasks * c.samples > MAX_POINTS) ctx.addIssue({ code: 'custom', path: ['samples'], message: `tasks x samples is ${tasks} x ${c.samples}, more than ${MAX_POINTS}` });
});

/** The evaluation settings from flag values, defaults filled in, checked. */
export function resolveEvalConfig(fromFlags: Record<string, unknown>): EvalConfig {
  const defaults = Object.fromEntries(Object.entries(EVAL_OPTIONS).map(([k, spec]) => [k, spec.default]).filter(([, v]) => v !== undefined));
  const parsed = evalConfigSchema.safeParse({ ...defaults, ...fromFlags });
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error.issues, 'eval', EVAL_OPTIONS));
  const settings = parsed.data as EvalConfig;
  if (!settings.points) return settings;
  if (fromFlags.samples !== undefined && settings.samples !== settings.points.length) throw new UsageError(`eval: 'samples' (--samples) is ${settings.samples}, and --points gives ${settings.points.length} points: give one or the other`);
  return { ...settings, samples: settings.points.length };
}

export interface CheckpointResult {
  checkpoint: string;
  algo: string | null;
  iteration: number | null;
  trainedOn: string | null;
  adaptation: Adaptation;
  /** The fine-tuning step size; 'learned' for meta-sgd's learned rates. */
  lr: number | 'learned';
  /** The grid MSE after 0, 1, ... updates over the tasks (diverged ones counted apart). */
  byUpdate: (Summary & { update: number })[];
  /** With --query random: the MSE on K fresh random query points, the same way. */
  queryByUpdate?: (Summary & { update: number })[];
  /** With discrete phases: after 0, 1, ... updates, the share of tasks whose fit is nearer its own wave than the other phases' (grid MSE). */
  phaseAccuracy?: number[];
  /** With --wave: the grid predictions before and after fine-tuning. */
  predictions?: { before: number[]; after: number[] };
  /** With --wave and `everyUpdate` (the page's slider over steps): the grid predictions after 0, 1, ..., updates updates. */
  predictionsByUpdate?: number[][];
  /** With `everyUpdate`, for a learner whose steps read inputs of their own (daml's unlabeled source inputs): those of each update, [tasks * n] each. */
  inputsByUpdate?: number[][];
}

/** What eval computes, before report.ts adds what computed it and the spread over seeds. */
export interface CheckpointEvaluation {
  settings: EvalConfig & { tasks: number; sampleRange: [number, number]; gridPoints: number; divergedAbove: number };
  family: TaskFamily;
  /** With --wave: the wave, its support points and the grid with the ground truth. */
  wave?: { amplitude: number; phase: number; frequency: number; x: number[]; y: number[]; gridX: number[]; gridY: number[] };
  results: CheckpointResult[];
}

export interface EvaluationOptions {
  /** Also keep what every update did (CheckpointResult's predictionsByUpdate and inputsByUpdate), for the page. */
  everyUpdate?: boolean;
}

/**
 * Fine-tunes every checkpoint on the same tasks and support points, each by its algorithm's own
 * fineTuning (or plain SGD), and measures the grid MSE after every update. The task family is the
 * settings' where given, else base's (the first checkpoint's config).
 */
export function fineTuneCheckpoints(models: { dir: string; model: LoadedModel }[], settings: EvalConfig, base: TrainConfig, o: EvaluationOptions = {}): CheckpointEvaluation {
  const family: TaskFamily = {
    amplitude: settings.amplitude ?? base.amplitude,
    phase: settings.phase ?? base.phase,
    phases: settings.phases ?? (settings.phase ? null : base.phases),
    frequency: settings.frequency ?? base.frequency,
    xRange: settings.xRange ?? base.xRange,
    // daml's source domains belong to the phases it was trained on
    sourceRanges: settings.phases || settings.phase ? null : (models.map((m) => m.model.info?.config.sourceRanges).find((r) => r) ?? null),
  };
  const sampleRange = settings.sampleRange ?? family.xRange;
  const tuning = models.map(({ dir, model }): FineTuning | undefined => {
    const t = settings.plainSgd || !model.info ? undefined : LEARNERS[model.info.config.algo].fineTuning?.(model);
    if (t?.adaptation === 'learned loss' && (!family.sourceRanges || family.sourceRanges.length !== family.phases?.length)) {
      throw new UsageError(`${dir}: daml adapts from the source domains of its training phases: evaluate it on its own task family (first, and without --phase/--phases), or with --plain-sgd`);
    }
    return t;
  });
  const tasks = settings.wave ? [{ amplitude: settings.wave[0], phase: settings.wave[1], frequency: settings.wave[2] ?? 1 }] : settings.tasks;
  const divergedAbove = settings.divergedAbove ?? divergenceBound(family);
  const set = makeEvalSet(family, { tasks, samples: settings.samples, seed: settings.seed, sampleRange, randomQuery: settings.query === 'random', supportX: settings.points });
  try {
    const results = models.map(({ dir, model }, i): CheckpointResult => {
      const lr = settings.lr ?? model.info?.config.innerLr ?? 0.01;
      const step = tuning[i]?.step;
      const r = fineTune(model.params, set, { updates: settings.updates, lr, loss: model.info?.config.loss ?? 'mse', activation: model.activation, keepPredictions: Boolean(settings.wave), step });
      const adaptation = tuning[i]?.adaptation ?? 'sgd';
      const inputs = tuning[i]?.inputs;
      const predictions = r.predictions ?? [];
      return {
        checkpoint: dir,
        algo: model.info?.config.algo ?? null,
        iteration: model.info?.iteration ?? null,
        trainedOn: model.info?.backend ?? null,
        adaptation,
        lr: adaptation === 'learned rates' ? 'learned' : lr,
        byUpdate: r.losses.map((l, update) => ({ update, ...summarize(l, divergedAbove) })),
        ...(r.queryLosses ? { queryByUpdate: r.queryLosses.map((l, update) => ({ update, ...summarize(l, divergedAbove) })) } : {}),
        ...(r.phaseHits ? { phaseAccuracy: r.phaseHits.map((hits) => summarize(hits).mean) } : {}),
        ...(predictions.length ? { predictions: { before: [...predictions[0]], after: [...predictions[settings.updates]] } } : {}),
        ...(predictions.length && o.everyUpdate ? { predictionsByUpdate: predictions.map((p) => [...p]) } : {}),
        ...(inputs && o.everyUpdate ? { inputsByUpdate: Array.from({ length: settings.updates }, (_, u) => [...inputs(set, u)]) } : {}),
      };
    });
    const wave = settings.wave
      ? {
          amplitude: settings.wave[0],
          phase: settings.wave[1],
          frequency: settings.wave[2] ?? 1,
          x: [...set.support.x.dataSync()],
          y: [...set.support.y.dataSync()],
          gridX: [...set.grid.x.dataSync()],
          gridY: [...set.grid.y.dataSync()],
        }
      : undefined;
    return { settings: { ...settings, tasks: set.tasks.length, sampleRange, gridPoints: GRID_POINTS, divergedAbove }, family, ...(wave ? { wave } : {}), results };
  } finally {
    disposeEvalSet(set);
  }
}
