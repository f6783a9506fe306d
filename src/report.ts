// `metalearn eval`'s options (declared once, on options.ts's mechanism) and its report: every
// checkpoint fine-tuned on the same held-out tasks and support points (a paired comparison).
import { z } from 'zod';
import { LEARNERS, type Adaptation } from './algorithms/index.js';
import { runtime } from './backend.js';
import type { LoadedModel } from './checkpoint.js';
import { SHARED_OPTIONS, type TrainConfig } from './config.js';
import { UsageError } from './errors.js';
import { disposeEvalSet, fineTune, GRID_POINTS, makeEvalSet, summarize, type Summary } from './evaluate.js';
import type { KernelSet } from './kernels/index.js';
import { MAX_POINTS, MAX_TASKS } from './limits.js';
import { atMost, count, countOrZero, describeIssues, finite, objectOf, option, positive, range, strictRange, type Values } from './options.js';
import type { TaskFamily } from './tasks.js';
import { VERSION } from './version.js';

/** The options of `metalearn eval` (and of plot-data's evaluating kinds). Defaults: the 600 held-out tasks of the MAML code. */
export const EVAL_OPTIONS = {
  samples: option({ flag: '--samples <k>', kind: 'int', help: 'support points K per task for fine-tuning', schema: count, default: 5 }),
  updates: option({ flag: '--updates <n>', kind: 'int', help: 'fine-tuning updates; the loss is reported after each', schema: countOrZero, default: 10 }),
  lr: option({ flag: '--lr <lr>', kind: 'number', help: "fine-tuning SGD step size (default: each checkpoint's inner-lr; 0.01 for a plain layers model); meta-sgd steps by its learned rates instead", schema: positive.optional(), default: undefined as number | undefined }),
  plainSgd: option({ flag: '--plain-sgd', kind: 'bool', help: 'fine-tune every checkpoint by plain SGD at --lr on its support points, ignoring the learned rates of meta-sgd and the learned loss of daml', schema: z.boolean(), default: false }),
  tasks: option({ flag: '--tasks <n>', kind: 'int', help: 'held-out tasks, the same for every checkpoint', schema: atMost(count, MAX_TASKS), default: 600 }),
  seed: option({ flag: '--seed <n>', kind: 'int', help: 'seed of the held-out tasks', schema: countOrZero, default: 1000 }),
  sampleRange: option({ flag: '--sample-range <lo,hi>', kind: 'range', help: "where support x are drawn (default: the family's x range; e.g. 0,5 for the Flux robustness test)", schema: strictRange.optional(), default: undefined as [number, number] | undefined }),
  wave: option({ flag: '--wave <A,phase>', kind: 'numbers', help: 'evaluate one wave A sin(x + phase) instead of random tasks, and record its points and predictions in --out', schema: z.tuple([finite, finite]).optional(), default: undefined as [number, number] | undefined }),
  amplitude: option({ ...SHARED_OPTIONS.amplitude, help: "task amplitude range (default: the first checkpoint's)", schema: range.optional(), default: undefined as [number, number] | undefined }),
  phase: option({ ...SHARED_OPTIONS.phase, help: "task phase range (default: the first checkpoint's)", schema: range.optional(), default: undefined as [number, number] | undefined }),
  phases: option({ ...SHARED_OPTIONS.phases, help: "discrete phases (default: the first checkpoint's)", schema: z.array(finite).min(1).optional(), default: undefined as number[] | undefined }),
  xRange: option({ ...SHARED_OPTIONS.xRange, help: "x range of the tasks and of the 100-point loss grid (default: the first checkpoint's)", schema: strictRange.optional(), default: undefined as [number, number] | undefined }),
};
export type EvalConfig = Values<typeof EVAL_OPTIONS>;

const evalConfigSchema = objectOf(EVAL_OPTIONS).superRefine((c, ctx) => {
  const tasks = c.wave ? 1 : c.tasks;
  if (tasks * c.samples > MAX_POINTS) ctx.addIssue({ code: 'custom', path: ['samples'], message: `tasks x samples is ${tasks} x ${c.samples}, more than ${MAX_POINTS}` });
});

/** The evaluation settings from flag values, defaults filled in, checked. */
export function resolveEvalConfig(fromFlags: Record<string, unknown>): EvalConfig {
  const defaults = Object.fromEntries(Object.entries(EVAL_OPTIONS).map(([k, spec]) => [k, spec.default]).filter(([, v]) => v !== undefined));
  const parsed = evalConfigSchema.safeParse({ ...defaults, ...fromFlags });
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error.issues, 'eval', EVAL_OPTIONS));
  return parsed.data as EvalConfig;
}

export interface CheckpointResult {
  checkpoint: string;
  algo: string | null;
  iteration: number | null;
  trainedOn: string | null;
  adaptation: Adaptation;
  /** The fine-tuning step size; 'learned' for meta-sgd's learned rates. */
  lr: number | 'learned';
  byUpdate: (Summary & { update: number })[];
  /** With discrete phases: after 0, 1, ... updates, the share of tasks whose fit is nearer its own wave than the other phases' (grid MSE). */
  phaseAccuracy?: number[];
  /** With --wave: the grid predictions before and after fine-tuning. */
  predictions?: { before: number[]; after: number[] };
}

export interface EvalReport {
  metalearnVersion: string;
  backend: string;
  kernels: KernelSet;
  settings: EvalConfig & { tasks: number; sampleRange: [number, number]; gridPoints: number };
  family: TaskFamily;
  /** With --wave: the wave, its sampled points and the grid with the ground truth. */
  wave?: { amplitude: number; phase: number; x: number[]; y: number[]; gridX: number[]; gridY: number[] };
  results: CheckpointResult[];
}

export function evaluateCheckpoints(models: { dir: string; model: LoadedModel }[], settings: EvalConfig, base: TrainConfig): EvalReport {
  const family: TaskFamily = {
    amplitude: settings.amplitude ?? base.amplitude,
    phase: settings.phase ?? base.phase,
    phases: settings.phases ?? (settings.phase ? null : base.phases),
    xRange: settings.xRange ?? base.xRange,
    // daml's source domains belong to the phases it was trained on
    sourceRanges: settings.phases || settings.phase ? null : (models.map((m) => m.model.info?.config.sourceRanges).find((r) => r) ?? null),
  };
  const sampleRange = settings.sampleRange ?? family.xRange;
  const tuning = models.map(({ dir, model }) => {
    const t = settings.plainSgd || !model.info ? undefined : LEARNERS[model.info.config.algo].fineTuning?.(model.extras);
    if (t?.adaptation === 'learned loss' && (!family.sourceRanges || family.sourceRanges.length !== family.phases?.length)) {
      throw new UsageError(`${dir}: daml adapts from the source domains of its training phases: evaluate it on its own task family (first, and without --phase/--phases), or with --plain-sgd`);
    }
    return t;
  });
  const tasks = settings.wave ? [{ amplitude: settings.wave[0], phase: settings.wave[1] }] : settings.tasks;
  const set = makeEvalSet(family, { tasks, samples: settings.samples, seed: settings.seed, sampleRange });
  try {
    const results = models.map(({ dir, model }, i): CheckpointResult => {
      const lr = settings.lr ?? model.info?.config.innerLr ?? 0.01;
      const step = tuning[i]?.step;
      const r = fineTune(model.params, set, { updates: settings.updates, lr, loss: model.info?.config.loss ?? 'mse', activation: model.activation, keepPredictions: Boolean(settings.wave), step });
      const adaptation = tuning[i]?.adaptation ?? 'sgd';
      return {
        checkpoint: dir,
        algo: model.info?.config.algo ?? null,
        iteration: model.info?.iteration ?? null,
        trainedOn: model.info?.backend ?? null,
        adaptation,
        lr: adaptation === 'learned rates' ? 'learned' : lr,
        byUpdate: r.losses.map((l, update) => ({ update, ...summarize(l) })),
        ...(r.phaseHits ? { phaseAccuracy: r.phaseHits.map((hits) => summarize(hits).mean) } : {}),
        ...(r.predictionsBefore && r.predictionsAfter ? { predictions: { before: [...r.predictionsBefore], after: [...r.predictionsAfter] } } : {}),
      };
    });
    const wave = settings.wave
      ? {
          amplitude: settings.wave[0],
          phase: settings.wave[1],
          x: [...set.support.x.dataSync()],
          y: [...set.support.y.dataSync()],
          gridX: [...set.grid.x.dataSync()],
          gridY: [...set.grid.y.dataSync()],
        }
      : undefined;
    return {
      metalearnVersion: VERSION,
      ...(({ backend, kernels }) => ({ backend, kernels }))(runtime()),
      settings: { ...settings, tasks: set.tasks.length, sampleRange, gridPoints: GRID_POINTS },
      family,
      ...(wave ? { wave } : {}),
      results,
    };
  } finally {
    disposeEvalSet(set);
  }
}
