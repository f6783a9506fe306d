// What `metalearn eval` computes, without the report around it (report.ts): every checkpoint
// fine-tuned on the same held-out tasks and support points (a paired comparison), each by its
// learner's adaptation. Browser-safe: the page (src/page/) runs this very function on the points a
// user clicks.
import { learnerOf } from '../algorithms/index.js';
import { adaptationOf } from '../algorithms/learner.js';
import { UsageError } from '../base/errors.js';
import type { TrainConfig } from '../config/config.js';
import { fineTuningSgd, sgdAdaptation, type Adaptation, type AdaptationKind } from '../core/adapt.js';
import { disposeEvalSet, fineTune, GRID_POINTS, makeEvalSet, type EvalSet } from '../core/fine-tune.js';
import { summarize, type Summary } from '../core/stats.js';
import { divergenceBound, type TaskFamily } from '../core/tasks.js';
import { showValue } from '../options/option.js';
import { configOf, type LoadedModel } from '../run/format.js';
import type { EvalConfig } from './options.js';

export interface CheckpointResult {
  checkpoint: string;
  algo: string | null;
  iteration: number | null;
  trainedOn: string | null;
  adaptation: AdaptationKind;
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
  /** With `everyUpdate`, for an adaptation that reads unlabeled inputs (daml's source inputs): those of each update, [tasks * K] each. */
  unlabeledByUpdate?: number[][];
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
  /** Also keep what every update did (CheckpointResult's predictionsByUpdate and unlabeledByUpdate), for the page. */
  everyUpdate?: boolean;
}

/** The task family evaluated on: the settings' where given, else base's (the first checkpoint's config); daml's source domains belong to the phases it was trained on. */
function familyOf(settings: EvalConfig, base: TrainConfig, models: { model: LoadedModel }[]): TaskFamily {
  return {
    amplitude: settings.amplitude ?? base.amplitude,
    phase: settings.phase ?? base.phase,
    phases: settings.phases ?? (settings.phase ? null : base.phases),
    frequency: settings.frequency ?? base.frequency,
    xRange: settings.xRange ?? base.xRange,
    sourceRanges: settings.phases || settings.phase ? null : (models.map((m) => m.model.info?.config.sourceRanges).find((r) => r) ?? null),
  };
}

/** A family's options as a message names them ("frequency 0.5,2", "phases 0,3.1416"): the phase range only without discrete phases. */
function familyTerms(f: Omit<TaskFamily, 'sourceRanges'>): Record<string, string> {
  const range = (v: [number, number]) => showValue(v[0] === v[1] ? v[0] : v);
  return {
    amplitude: `amplitude ${range(f.amplitude)}`,
    phase: f.phases ? `phases ${showValue(f.phases)}` : `phase ${range(f.phase)}`,
    frequency: `frequency ${range(f.frequency)}`,
    xRange: `x-range ${range(f.xRange)}`,
  };
}

/** How the task family a run was trained on differs from the one evaluated on: "frequency 0.5,2 (the tasks: frequency 1)" per option; none for the same. */
export function familyDifferences(trainedOn: TrainConfig, family: TaskFamily): string[] {
  const [trained, tasks] = [familyTerms(trainedOn), familyTerms(family)];
  return Object.keys(trained)
    .filter((key) => trained[key] !== tasks[key])
    .map((key) => `${trained[key]} (the tasks: ${tasks[key]})`);
}

/** How a checkpoint is fine-tuned: its learner's adaptation, or plain SGD (--plain-sgd, or a plain layers model). */
function adaptationFor(dir: string, model: LoadedModel, settings: EvalConfig, family: TaskFamily): Adaptation {
  const adaptation = settings.plainSgd || !model.info ? sgdAdaptation : adaptationOf(learnerOf(model.info.config.algo), model);
  if (adaptation.unlabeledInputs && (!family.sourceRanges || family.sourceRanges.length !== family.phases?.length)) {
    throw new UsageError(`${dir}: daml adapts from the source domains of its training phases: evaluate it on its own task family (first, and without --phase/--phases), or with --plain-sgd`);
  }
  return adaptation;
}

/** One checkpoint fine-tuned on the set, and its losses summarized. */
function evaluateOne(dir: string, model: LoadedModel, adaptation: Adaptation, set: EvalSet, settings: CheckpointEvaluation['settings'], options: EvaluationOptions): CheckpointResult {
  const config = configOf(model);
  const lr = settings.lr ?? config.innerLr;
  const r = fineTune(model.params, set, { updates: settings.updates, adaptation, sgd: fineTuningSgd(lr, config.loss, model.activation), keepPredictions: Boolean(settings.wave) });
  const predictions = r.predictions ?? [];
  const bySummary = (losses: Float32Array[]) => losses.map((l, update) => ({ update, ...summarize(l, settings.divergedAbove) }));
  return {
    checkpoint: dir,
    algo: model.info?.config.algo ?? null,
    iteration: model.info?.iteration ?? null,
    trainedOn: model.info?.backend ?? null,
    adaptation: adaptation.kind,
    lr: adaptation.kind === 'learned rates' ? 'learned' : lr,
    byUpdate: bySummary(r.losses),
    ...(r.queryLosses ? { queryByUpdate: bySummary(r.queryLosses) } : {}),
    ...(r.phaseHits ? { phaseAccuracy: r.phaseHits.map((hits) => summarize(hits).mean) } : {}),
    ...(predictions.length ? { predictions: { before: [...predictions[0]], after: [...predictions[settings.updates]] } } : {}),
    ...(predictions.length && options.everyUpdate ? { predictionsByUpdate: predictions.map((p) => [...p]) } : {}),
    ...(r.unlabeledInputs && options.everyUpdate ? { unlabeledByUpdate: r.unlabeledInputs.map((x) => [...x]) } : {}),
  };
}

/**
 * Fine-tunes every checkpoint on the same tasks and support points, each by its learner's adaptation (or plain
 * SGD), and measures the grid MSE after every update. The task family is the settings' where given, else base's
 * (the first checkpoint's config).
 */
export function fineTuneCheckpoints(models: { dir: string; model: LoadedModel }[], settings: EvalConfig, base: TrainConfig, options: EvaluationOptions = {}): CheckpointEvaluation {
  const family = familyOf(settings, base, models);
  const sampleRange = settings.sampleRange ?? family.xRange;
  const adaptations = models.map(({ dir, model }) => adaptationFor(dir, model, settings, family));
  const tasks = settings.wave ? [{ amplitude: settings.wave[0], phase: settings.wave[1], frequency: settings.wave[2] ?? 1 }] : settings.tasks;
  const set = makeEvalSet(family, { tasks, samples: settings.samples, seed: settings.seed, sampleRange, randomQuery: settings.query === 'random', supportX: settings.points });
  try {
    const resolved = { ...settings, tasks: set.tasks.length, sampleRange, gridPoints: GRID_POINTS, divergedAbove: settings.divergedAbove ?? divergenceBound(family) };
    const results = models.map(({ dir, model }, i) => evaluateOne(dir, model, adaptations[i], set, resolved, options));
    const values = (t: { dataSync(): ArrayLike<number> }) => Array.from(t.dataSync());
    const wave = settings.wave && { amplitude: settings.wave[0], phase: settings.wave[1], frequency: settings.wave[2] ?? 1, x: values(set.support.x), y: values(set.support.y), gridX: values(set.grid.x), gridY: values(set.grid.y) };
    return { settings: resolved, family, ...(wave ? { wave } : {}), results };
  } finally {
    disposeEvalSet(set);
  }
}
