// What `metalearn eval` computes, without the report around it (report.ts): every checkpoint
// fine-tuned on the same held-out tasks and support points (a paired comparison), each by its
// learner's adaptation. Browser-safe: the page (src/page/) runs this very function on the points a
// user clicks.
import { learnerOf } from '../algorithms/index.js';
import { adaptationOf } from '../algorithms/learner.js';
import { UsageError } from '../base/errors.js';
import type { TrainConfig } from '../config/config.js';
import { fineTuningSgd, sgdAdaptation, type Adaptation, type AdaptationKind } from '../core/adapt.js';
import { disposeEvalSet, fineTune, GRID_POINTS, type EvalSet } from '../core/fine-tune.js';
import type { TaskFamily } from '../tasks/family.js';
import { familyOf, familyPluginOf } from '../tasks/index.js';
import { summarize, type Summary } from '../core/stats.js';
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
  settings: Omit<EvalConfig, "sampleRange"> & { tasks: number; sampleRange: [number, number] | null; gridPoints: number; divergedAbove: number };
  /** The task family's settings (the sine family's amplitude, phase, ...). */
  family: unknown;
  /** The family's name, what each task's loss is measured on, and its settings as a message names them. */
  taskFamily: Pick<TaskFamily, 'name' | 'scoredOn' | 'lossName' | 'terms'>;
  /** With --wave: the wave, its support points and the grid with the ground truth. */
  wave?: { amplitude: number; phase: number; frequency: number; x: number[]; y: number[]; gridX: number[]; gridY: number[] };
  results: CheckpointResult[];
}

export interface EvaluationOptions {
  /** Also keep what every update did (CheckpointResult's predictionsByUpdate and unlabeledByUpdate), for the page. */
  everyUpdate?: boolean;
}

/** The task family evaluated on: base's (the first checkpoint's config), with the settings' values of its options where given; daml's source domains belong to the phases it was trained on. */
function familyFor(settings: EvalConfig, base: TrainConfig, models: { model: LoadedModel }[], loaded: unknown): TaskFamily {
  const plugin = familyPluginOf(base.family);
  const overrides = Object.fromEntries(Object.keys(plugin.options).flatMap((key) => (settings[key as keyof EvalConfig] === undefined ? [] : [[key, settings[key as keyof EvalConfig]]])));
  const sourceRanges = models.map((m) => (m.model.info?.config as { sourceRanges?: unknown } | undefined)?.sourceRanges).find((r) => r) ?? null;
  const config = { ...base, sourceRanges };
  return familyOf(plugin.override ? plugin.override(config, overrides) : { ...config, ...overrides }, loaded);
}

/** How the task family a run was trained on differs from the one evaluated on: "frequency 0.5,2 (the tasks: frequency 1)" per option; none for the same. */
export function familyDifferences(trainedOn: TrainConfig, family: Pick<TaskFamily, 'name' | 'terms'>): string[] {
  const trained = familyPluginOf(trainedOn.family).terms(trainedOn);
  if (trainedOn.family !== family.name) return [`the ${trainedOn.family} family (the tasks: ${family.name})`];
  return Object.keys(trained)
    .filter((key) => trained[key] !== family.terms[key])
    .map((key) => `${trained[key]} (the tasks: ${family.terms[key]})`);
}

/** How a checkpoint is fine-tuned: its learner's adaptation, or plain SGD (--plain-sgd, or a plain layers model). */
function adaptationFor(dir: string, model: LoadedModel, settings: EvalConfig, family: TaskFamily): Adaptation {
  const adaptation = settings.plainSgd || !model.info ? sgdAdaptation : adaptationOf(learnerOf(model.info.config.algo), model);
  const settings_ = family.settings as { phases?: number[] | null; sourceRanges?: unknown[] | null };
  if (adaptation.unlabeledInputs && (!settings_.sourceRanges || settings_.sourceRanges.length !== settings_.phases?.length)) {
    throw new UsageError(`${dir}: daml adapts from the source domains of its training phases: evaluate it on its own task family (first, and without --phase/--phases), or with --plain-sgd`);
  }
  return adaptation;
}

/** One checkpoint fine-tuned on the set, and its losses summarized. */
function evaluateOne(dir: string, model: LoadedModel, adaptation: Adaptation, set: EvalSet, settings: CheckpointEvaluation['settings'], options: EvaluationOptions, lossScale: number): CheckpointResult {
  const config = configOf(model);
  const lr = settings.lr ?? config.innerLr;
  const r = fineTune(model.params, set, { updates: settings.updates, adaptation, sgd: fineTuningSgd(lr, config.loss, model.activation), keepPredictions: Boolean(settings.wave) });
  const predictions = r.predictions ?? [];
  // in the data's own units (a family trained on standardized outputs scales them back)
  const bySummary = (losses: Float32Array[]) => losses.map((l, update) => ({ update, ...summarize(lossScale === 1 ? l : l.map((v) => v * lossScale), settings.divergedAbove) }));
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
export function fineTuneCheckpoints(models: { dir: string; model: LoadedModel }[], settings: EvalConfig, base: TrainConfig, options: EvaluationOptions = {}, loaded?: unknown): CheckpointEvaluation {
  const family = familyFor(settings, base, models, loaded);
  const sampleRange = settings.sampleRange ?? (family.settings as { xRange?: [number, number] }).xRange ?? null;
  const adaptations = models.map(({ dir, model }) => adaptationFor(dir, model, settings, family));
  const task = settings.wave && { amplitude: settings.wave[0], phase: settings.wave[1], frequency: settings.wave[2] ?? 1 };
  const set = family.heldOut({ split: 'test', tasks: settings.tasks, task, samples: settings.samples, seed: settings.seed, draws: settings.draws, sampleRange: settings.sampleRange, randomQuery: settings.query === 'random', supportX: settings.points });
  try {
    const resolved = { ...settings, tasks: set.tasks.length, sampleRange, gridPoints: GRID_POINTS, divergedAbove: settings.divergedAbove ?? family.divergenceBound };
    const results = models.map(({ dir, model }, i) => evaluateOne(dir, model, adaptations[i], set, resolved, options, family.lossScale));
    const values = (t: { dataSync(): ArrayLike<number> }) => Array.from(t.dataSync());
    const wave = settings.wave && { amplitude: settings.wave[0], phase: settings.wave[1], frequency: settings.wave[2] ?? 1, x: values(set.support.x), y: values(set.support.y), gridX: values(set.scored.x), gridY: values(set.scored.y) };
    return { settings: resolved, family: family.settings, taskFamily: { name: family.name, scoredOn: family.scoredOn, lossName: family.lossName, terms: family.terms }, ...(wave ? { wave } : {}), results };
  } finally {
    disposeEvalSet(set);
  }
}
