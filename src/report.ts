// The evaluation report behind `metalearn eval --out`: every checkpoint fine-tuned
// on the same held-out tasks and support points (a paired comparison).
import type { LoadedModel } from './checkpoint.js';
import type { EvalConfig, TrainConfig } from './config.js';
import { disposeEvalSet, fineTune, GRID_POINTS, makeEvalSet, summarize, type EvalSet, type Summary } from './evaluate.js';
import { linspace, pointSet, sampleInputs, type TaskFamily } from './tasks.js';
import { Rng } from './rng.js';
import { VERSION } from './version.js';

export interface CheckpointResult {
  checkpoint: string;
  algo: string | null;
  iteration: number | null;
  trainedOn: string | null;
  lr: number;
  byUpdate: (Summary & { update: number })[];
  /** With --wave: the grid predictions before and after fine-tuning. */
  predictions?: { before: number[]; after: number[] };
}

export interface EvalReport {
  metalearnVersion: string;
  backend: string;
  settings: EvalConfig & { tasks: number; sampleRange: [number, number]; gridPoints: number };
  family: TaskFamily;
  /** With --wave: the wave, its sampled points and the grid with the ground truth. */
  wave?: { amplitude: number; phase: number; x: number[]; y: number[]; gridX: number[]; gridY: number[] };
  results: CheckpointResult[];
}

function waveSet(family: TaskFamily, settings: EvalConfig, range: [number, number]): EvalSet {
  const [amplitude, phase] = settings.wave!;
  const tasks = [{ amplitude, phase }];
  const support = pointSet(tasks, sampleInputs(new Rng(settings.seed), 1, settings.samples, range, false));
  const grid = pointSet(tasks, [Float32Array.from(linspace(family.xRange[0], family.xRange[1], GRID_POINTS))]);
  return { tasks, support, grid };
}

export function evaluateCheckpoints(models: { dir: string; model: LoadedModel }[], settings: EvalConfig, base: TrainConfig, backend: string): EvalReport {
  const family: TaskFamily = {
    amplitude: settings.amplitude ?? base.amplitude,
    phase: settings.phase ?? base.phase,
    phases: settings.phases ?? (settings.phase ? null : base.phases),
    xRange: settings.xRange ?? base.xRange,
  };
  const sampleRange = settings.sampleRange ?? family.xRange;
  const set = settings.wave ? waveSet(family, settings, sampleRange) : makeEvalSet(family, { tasks: settings.tasks, samples: settings.samples, seed: settings.seed, sampleRange });
  try {
    const results = models.map(({ dir, model }): CheckpointResult => {
      const lr = settings.lr ?? model.info?.config.innerLr ?? 0.01;
      const r = fineTune(model.params, set, { updates: settings.updates, lr, loss: model.info?.config.loss ?? 'mse', activation: model.activation, keepPredictions: Boolean(settings.wave) });
      return {
        checkpoint: dir,
        algo: model.info?.algo ?? null,
        iteration: model.info?.iteration ?? null,
        trainedOn: model.info?.backend ?? null,
        lr,
        byUpdate: r.losses.map((l, update) => ({ update, ...summarize(l) })),
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
      backend,
      settings: { ...settings, tasks: set.tasks.length, sampleRange, gridPoints: GRID_POINTS },
      family,
      ...(wave ? { wave } : {}),
      results,
    };
  } finally {
    disposeEvalSet(set);
  }
}
