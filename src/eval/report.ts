// `metalearn eval`'s report: what eval-checkpoints.ts computes (the fine-tuning of every checkpoint
// on the same tasks, and eval's options), what computed it, and the spread over seeds.
import { basename } from 'node:path';
import { runtime } from '../kernels/backend.js';
import type { LoadedModel } from '../run/checkpoint.js';
import { savedConfig, type TrainConfig } from '../config/config.js';
import { fineTuneCheckpoints, type CheckpointEvaluation, type CheckpointResult, type EvalConfig } from './checkpoints.js';
import type { KernelSet } from '../kernels/index.js';
import { VERSION } from '../base/version.js';

export * from './checkpoints.js';

/** Runs of one config under several seeds, and the spread of their means over seeds. */
export interface SeedGroup {
  /** The runs' common name, e.g. maml-paper-k5 for maml-paper-k5-0, -1, -2. */
  name: string;
  /** Indices into results. */
  members: number[];
  seeds: number[];
  /** Per update: the mean over seeds of each run's mean, their standard deviation, and the half-width of the 95% t-interval over seeds (the uncertainty of the method); runs whose tasks all diverged are left out and counted. */
  byUpdate: { update: number; mean: number; std: number; ci95: number; runs: number; divergedRuns: number }[];
  queryByUpdate?: SeedGroup['byUpdate'];
}

export interface EvalReport extends CheckpointEvaluation {
  metalearnVersion: string;
  backend: string;
  kernels: KernelSet;
  /** Runs of one config under two or more seeds. */
  seedGroups: SeedGroup[];
}

/** Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom (beyond: 1.96). */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** Mean, sd and 95% t-interval of a few numbers (each seed's mean). */
function overSeeds(means: number[]): { mean: number; std: number; ci95: number; runs: number; divergedRuns: number } {
  const kept = means.filter(Number.isFinite);
  const n = kept.length;
  const mean = kept.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(kept.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, ci95: n > 1 ? ((T95[n - 2] ?? 1.96) * std) / Math.sqrt(n) : 0, runs: n, divergedRuns: means.length - n };
}

/**
 * Groups the results that are runs of one config: metalearn runs whose saved configs are equal but
 * for the seed, and plain layers models (which carry no config, e.g. the PyTorch peer's) named
 * <name>-<seed> with the same <name>.
 */
function seedGroups(results: CheckpointResult[], models: { dir: string; model: LoadedModel }[]): SeedGroup[] {
  const byConfig = new Map<string, number[]>();
  const seedOf: number[] = [];
  models.forEach(({ dir, model }, i) => {
    let key: string;
    if (model.info) {
      const { seed: _seed, description: _description, ...rest } = savedConfig(model.info.config);
      key = JSON.stringify([rest, model.info.iteration]);
      seedOf[i] = model.info.config.seed;
    } else {
      const named = /^(.*)-(\d+)$/.exec(basename(dir));
      if (!named) return;
      key = JSON.stringify(['layers model', named[1]]);
      seedOf[i] = Number(named[2]);
    }
    byConfig.set(key, [...(byConfig.get(key) ?? []), i]);
  });
  return [...byConfig.values()]
    .filter((members) => members.length > 1)
    .map((members) => {
      const seeds = members.map((i) => seedOf[i]);
      // the name of the runs without their -<seed>, where they are named so (train --seeds names them so)
      const names = members.map((i) => basename(results[i].checkpoint));
      const stems = names.map((n, k) => (n.endsWith(`-${seeds[k]}`) ? n.slice(0, -`-${seeds[k]}`.length) : n));
      const stats = (pick: (r: CheckpointResult) => CheckpointResult['byUpdate'] | undefined) =>
        pick(results[members[0]])?.map((_, u) => ({ update: u, ...overSeeds(members.map((i) => pick(results[i])![u].mean)) }));
      return {
        name: stems.every((s) => s === stems[0]) ? stems[0] : names.join(', '),
        members,
        seeds,
        byUpdate: stats((r) => r.byUpdate)!,
        ...(results[members[0]].queryByUpdate ? { queryByUpdate: stats((r) => r.queryByUpdate) } : {}),
      };
    });
}

/** eval's report: fineTuneCheckpoints' results, what computed them, and the spread over seeds of runs of one config. */
export function evaluateCheckpoints(models: { dir: string; model: LoadedModel }[], settings: EvalConfig, base: TrainConfig): EvalReport {
  const { backend, kernels } = runtime();
  const evaluation = fineTuneCheckpoints(models, settings, base);
  return { metalearnVersion: VERSION, backend, kernels, ...evaluation, seedGroups: seedGroups(evaluation.results, models) };
}
