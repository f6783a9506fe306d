// `metalearn eval`'s report: what checkpoints.ts computes (the fine-tuning of every checkpoint on
// the same tasks), what computed it, and the spread over seeds.
import { basename } from 'node:path';
import { VERSION } from '../base/version.js';
import { savedConfig, type TrainConfig } from '../config/config.js';
import { tInterval } from '../core/stats.js';
import { runtime } from '../kernels/backend.js';
import type { KernelSet } from '../kernels/index.js';
import type { LoadedModel } from '../run/format.js';
import { fineTuneCheckpoints, type CheckpointEvaluation, type CheckpointResult } from './checkpoints.js';
import type { EvalConfig } from './options.js';

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
        pick(results[members[0]])?.map((_, u) => ({ update: u, ...tInterval(members.map((i) => pick(results[i])![u].mean)) }));
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
export function evaluateCheckpoints(models: { dir: string; model: LoadedModel }[], settings: EvalConfig, base: TrainConfig, loaded?: unknown): EvalReport {
  const { backend, kernels } = runtime();
  const evaluation = fineTuneCheckpoints(models, settings, base, {}, loaded);
  return { metalearnVersion: VERSION, backend, kernels, ...evaluation, seedGroups: seedGroups(evaluation.results, models) };
}
