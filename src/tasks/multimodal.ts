// The multimodal family of Vuorio et al., "Multimodal Model-Agnostic Meta-Learning via Task-Aware
// Modulation" (NeurIPS 2019): each task is a sinusoid, line, quadratic, tanh or l1-norm function
// (2, 3 or 5 of these modes), observed with Gaussian noise (std 0.3) at x uniform in [-5, 5]; the
// functions and ranges are multimodal-functions.ts's, from the paper's code. Held-out tasks are scored
// on the noise-free function over a 100-point grid (eval --query random: also on K noisy points, as the
// paper's test MSE is).
import { z } from 'zod';
import { GRID_POINTS, type EvalSet } from '../core/fine-tune.js';
import { linspace, pointsOf, type PointSet } from '../core/points.js';
import { Rng } from '../core/rng.js';
import { nonNegative, option, showRange, showValue } from '../options/option.js';
import { family, type FamilySketch, type HeldOutOptions, type TaskFamily } from './family.js';
import { MULTIMODAL_MODE_SETS, MULTIMODAL_NOISE_STD, multimodalValue, sampleMultimodalTasks, type MultimodalKind, type MultimodalTask } from './multimodal-functions.js';
import { sineOptions, sampleInputs } from './sine.js';

export const multimodalOptions = {
  modes: option({ flag: '--modes <n>', kind: 'int', help: 'multimodal: 2 (sinusoid, linear), 3 (+ quadratic) or 5 (+ tanh, l1 norm) kinds of function', schema: z.union([z.literal(2), z.literal(3), z.literal(5)]), default: 5 as 2 | 3 | 5 }),
  noise: option({ flag: '--noise <std>', kind: 'number', help: "multimodal: the standard deviation of the Gaussian noise on every observed y (the paper's 0.3)", schema: nonNegative, default: MULTIMODAL_NOISE_STD }),
  xRange: sineOptions.xRange,
};

interface MultimodalSettings {
  modes: 2 | 3 | 5;
  noise: number;
  xRange: [number, number];
}

/** The largest |y| of each kind over x in [-5, 5]: its divergence scale. */
const LARGEST: Record<MultimodalKind, number> = { sinusoid: 5, linear: 3 * 5 + 3, quadratic: 0.15 * 8 ** 2 + 3, tanh: 3 + 3, l1norm: 3 * 8 + 3 };

/** Points at xs [tasks * n] of every task, their y with noise drawn from rng (noise-free with noise 0 or no rng). */
function observed(tasks: MultimodalTask[], xs: Float32Array, noise: number, rng: Rng | null): PointSet {
  const n = tasks.length ? xs.length / tasks.length : 0;
  const ys = Float32Array.from(xs, (x, i) => multimodalValue(tasks[Math.floor(i / n)], x) + (rng && noise > 0 ? noise * rng.normal() : 0));
  return pointsOf(xs, ys, tasks.length);
}

function heldOut(s: MultimodalSettings, options: HeldOutOptions): EvalSet {
  const rng = new Rng(options.seed);
  const modes = MULTIMODAL_MODE_SETS[s.modes];
  const tasks = sampleMultimodalTasks(rng, modes, options.tasks);
  const support = observed(tasks, sampleInputs(rng, tasks.length, options.samples, options.sampleRange ?? s.xRange, false), s.noise, rng);
  const query = options.randomQuery ? observed(tasks, sampleInputs(rng, tasks.length, options.samples, s.xRange, false), s.noise, rng) : null;
  const grid = linspace(s.xRange[0], s.xRange[1], GRID_POINTS);
  const scored = observed(tasks, Float32Array.from({ length: tasks.length * GRID_POINTS }, (_, i) => grid[i % GRID_POINTS]), 0, null);
  return { family: s, seed: options.seed, tasks, support, scored, query, phaseGrids: [] };
}

function sketch(s: MultimodalSettings, count: number, seed: number): FamilySketch {
  const xs = linspace(s.xRange[0], s.xRange[1], GRID_POINTS);
  const values = sampleMultimodalTasks(new Rng(seed), MULTIMODAL_MODE_SETS[s.modes], count).flatMap((task, i) => xs.map((x) => ({ task: i, x, y: multimodalValue(task, x) })));
  return { values, mark: 'line', title: `${s.modes} modes (${MULTIMODAL_MODE_SETS[s.modes].join(', ')})`, subtitle: `noise-free; observed with noise sd ${s.noise}, x ${showRange(s.xRange)} (seed ${seed})`, xTitle: 'x', xDomain: s.xRange };
}

const multimodalTerms = (s: MultimodalSettings) => ({ modes: `modes ${s.modes}`, noise: `noise ${showValue(s.noise)}`, xRange: `x-range ${showValue(s.xRange)}` });

export function multimodalFamily(s: MultimodalSettings): TaskFamily {
  const modes = MULTIMODAL_MODE_SETS[s.modes];
  return {
    name: 'multimodal',
    inputs: 1,
    settings: s,
    sampleBatch(rng, sizes) {
      const tasks = sampleMultimodalTasks(rng, modes, sizes.tasks);
      const support = observed(tasks, sampleInputs(rng, tasks.length, sizes.support, s.xRange, sizes.supportGrid), s.noise, rng);
      const query = sizes.query === null ? null : observed(tasks, sampleInputs(rng, tasks.length, sizes.query, s.xRange, sizes.queryGrid), s.noise, rng);
      return { tasks, support, query };
    },
    heldOut: (options) => heldOut(s, options),
    divergenceBound: 100 * Math.max(...modes.map((k) => LARGEST[k])) ** 2,
    lossScale: 1,
    lossName: 'grid MSE',
    scoredOn: `the noise-free function at ${GRID_POINTS} grid points over x in [${s.xRange}]`,
    terms: multimodalTerms(s),
    sketch: (count, seed) => sketch(s, count, seed),
  };
}

export const multimodal = family({
  summary: 'sinusoids, lines, quadratics, tanh and l1-norm functions with noise (Vuorio et al. 2019)',
  options: multimodalOptions,
  inputs: () => 1,
  terms: multimodalTerms,
  make: (config) => multimodalFamily({ modes: config.modes, noise: config.noise, xRange: config.xRange }),
});
