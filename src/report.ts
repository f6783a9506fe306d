// The evaluation report behind `metalearn eval --out`: every checkpoint fine-tuned
// on the same held-out tasks and support points (a paired comparison).
import { LEARNERS, type Adaptation } from './algorithms/index.js';
import { runtime } from './backend.js';
import type { LoadedModel } from './checkpoint.js';
import type { KernelSet } from './kernels/index.js';
import { UsageError, type EvalConfig, type TrainConfig } from './config.js';
import { disposeEvalSet, fineTune, GRID_POINTS, makeEvalSet, summarize, type Summary } from './evaluate.js';
import type { TaskFamily } from './tasks.js';
import { VERSION } from './version.js';

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
    const t = settings.plainSgd || !model.info ? undefined : LEARNERS[model.info.algo].fineTuning?.(model.extras);
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
        algo: model.info?.algo ?? null,
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
