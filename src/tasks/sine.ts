// Sine-wave regression tasks y = A sin(w x + phase) (MAML paper 5.1 and the Flux post's SineWave
// with w = 1; later papers also draw the frequency w): the default family.
// Tasks and points are drawn in JavaScript from a seeded Rng, so that the same seed gives the same
// tasks on every backend; tensors are built once per batch.
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../base/errors.js';
import { z } from 'zod';
import { GRID_POINTS, type EvalSet } from '../core/fine-tune.js';
import { linspace, pointsOf, type PointSet } from '../core/points.js';
import { Rng } from '../core/rng.js';
import { finite, option, range, showNumber, showRange, showValue, strictRange } from '../options/option.js';
import { family, type FamilySketch, type HeldOutOptions, type TaskFamily } from './family.js';

export const sineOptions = {
  amplitude: option({ flag: '--amplitude <lo,hi>', kind: 'range', help: 'sine: task amplitude A, uniform in [lo, hi] (one number: fixed)', schema: range, default: [0.1, 5] as [number, number] }),
  phase: option({ flag: '--phase <lo,hi>', kind: 'range', help: 'sine: task phase, uniform in [lo, hi]; numbers may use pi (e.g. 0,2pi)', schema: range, default: [0, Math.PI] as [number, number] }),
  phases: option({ flag: '--phases <list>', kind: 'numbers', help: 'sine: a discrete set of phases drawn with equal probability; replaces --phase (e.g. 0,pi)', schema: z.array(finite).min(1).nullable(), default: null as number[] | null }),
  frequency: option({ flag: '--frequency <lo,hi>', kind: 'range', help: 'sine: task angular frequency w, uniform in [lo, hi] (one number: fixed), in y = A sin(w x + phase)', schema: range.refine(([lo]) => lo > 0, 'must be greater than 0'), default: [1, 1] as [number, number] }),
  xRange: option({ flag: '--x-range <lo,hi>', kind: 'range', help: 'sine, multimodal: inputs x are drawn from [lo, hi]', schema: strictRange, default: [-5, 5] as [number, number] }),
};

/** The sine family's settings: its options, and (for DAML) the source domain of each discrete phase. */
export interface SineSettings {
  amplitude: [number, number];
  phase: [number, number];
  /** When set, the phase is one of these values, equally likely (replaces `phase`). */
  phases: number[] | null;
  /** The angular frequency w, uniform in [lo, hi] ([1, 1]: the MAML paper's sine). */
  frequency: [number, number];
  xRange: [number, number];
  /** DAML's source domains: where the unlabeled inputs of a task with phases[i] are drawn. */
  sourceRanges?: [number, number][] | null;
}

export interface SineTask {
  amplitude: number;
  phase: number;
  frequency: number;
}

/** Tasks of a family; a fixed frequency draws nothing, so a family of w = 1 gives the tasks it gave before frequencies existed. */
export function sampleTasks(rng: Rng, settings: SineSettings, count: number): SineTask[] {
  const [wLo, wHi] = settings.frequency;
  return Array.from({ length: count }, () => ({
    amplitude: rng.uniform(settings.amplitude[0], settings.amplitude[1]),
    phase: settings.phases ? settings.phases[rng.int(settings.phases.length)] : rng.uniform(settings.phase[0], settings.phase[1]),
    frequency: wLo < wHi ? rng.uniform(wLo, wHi) : wLo,
  }));
}

export function sineValue(task: SineTask, x: number): number {
  return task.amplitude * Math.sin(task.frequency * x + task.phase);
}

/** The default divergence bound of a family: 100 times the largest mean square of its waves over the grid, A_max^2 / 2. */
export function divergenceBound(settings: Pick<SineSettings, 'amplitude'>): number {
  return (100 * settings.amplitude[1] ** 2) / 2;
}

/** Inputs of every task in one array [tasks * n], task by task: n uniform draws from [lo, hi) each, or the same n-point grid. */
export function sampleInputs(rng: Rng, tasks: number, n: number, range: [number, number], grid: boolean): Float32Array {
  const x = new Float32Array(tasks * n);
  if (grid) {
    const points = linspace(range[0], range[1], n);
    for (let t = 0; t < tasks; t++) x.set(points, t * n);
  } else for (let i = 0; i < x.length; i++) x[i] = rng.uniform(range[0], range[1]);
  return x;
}

/** The source domain of a task: the range of the family's phase nearest to its own (on the circle). */
export function sourceRange(settings: SineSettings, phase: number): [number, number] {
  const { phases, sourceRanges } = settings;
  if (!phases || !sourceRanges || sourceRanges.length !== phases.length) throw new Error('the task family has no source range for each of its phases');
  const gap = (p: number) => Math.abs(Math.atan2(Math.sin(p - phase), Math.cos(p - phase)));
  return sourceRanges[phases.reduce((best, p, i) => (gap(p) < gap(phases[best]) ? i : best), 0)];
}

/** DAML's unlabeled inputs: n per task, uniform in the task's source domain, [tasks * n]. */
export function sourceInputValues(rng: Rng, settings: SineSettings, tasks: readonly SineTask[], n: number): Float32Array {
  return Float32Array.from({ length: tasks.length * n }, (_, i) => rng.uniform(...sourceRange(settings, tasks[Math.floor(i / n)].phase)));
}

/** Builds x and y tensors [tasks, points, 1] from the inputs of every task, [tasks * points] task by task. */
export function pointSet(tasks: readonly SineTask[], xs: Float32Array): PointSet {
  const n = tasks.length ? xs.length / tasks.length : 0;
  const ys = new Float32Array(xs.length);
  for (let t = 0; t < tasks.length; t++) for (let i = t * n; i < (t + 1) * n; i++) ys[i] = sineValue(tasks[t], xs[i]);
  return pointsOf(xs, ys, tasks.length);
}

/** The held-out tasks and support sets: a function of the seed alone, so every model sees the same ones. Scored on GRID_POINTS evenly spaced x over the x range. */
export function sineHeldOut(settings: SineSettings, options: HeldOutOptions): EvalSet {
  const rng = new Rng(options.seed);
  if ((options.draws ?? 1) > 1) throw new UsageError('--draws is for a family of finitely many tasks: sine tasks are endless, so draw more --tasks');
  const tasks = options.task ? [options.task as SineTask] : sampleTasks(rng, settings, options.tasks);
  const chosen = options.supportX;
  const supportX = chosen ? Float32Array.from({ length: tasks.length * chosen.length }, (_, i) => chosen[i % chosen.length]) : sampleInputs(rng, tasks.length, options.samples, options.sampleRange ?? settings.xRange, false);
  const support = pointSet(tasks, supportX);
  // drawn after the support points, so that asking for them changes no other draw
  const query = options.randomQuery ? pointSet(tasks, sampleInputs(rng, tasks.length, options.samples, settings.xRange, false)) : null;
  const gridX = linspace(settings.xRange[0], settings.xRange[1], GRID_POINTS);
  const onGrid = (ts: SineTask[]) => pointSet(ts, Float32Array.from({ length: ts.length * GRID_POINTS }, (_, i) => gridX[i % GRID_POINTS]));
  const phaseGrids = (settings.phases?.length ?? 0) > 1 ? settings.phases!.map((phase) => tf.tidy(() => onGrid(tasks.map((t) => ({ ...t, phase }))).y)) : [];
  return { family: settings, seed: options.seed, tasks, support, scored: onGrid(tasks), query, phaseGrids };
}

/** A family's options as a message names them ("frequency 0.5,2", "phases 0,3.1416"): the phase range only without discrete phases. */
function sineTerms(s: Omit<SineSettings, 'sourceRanges'>): Record<string, string> {
  const shown = (v: [number, number]) => showValue(v[0] === v[1] ? v[0] : v);
  return {
    amplitude: `amplitude ${shown(s.amplitude)}`,
    phase: s.phases ? `phases ${showValue(s.phases)}` : `phase ${shown(s.phase)}`,
    frequency: `frequency ${shown(s.frequency)}`,
    xRange: `x-range ${shown(s.xRange)}`,
  };
}

/** `count` tasks drawn from seed, each as its wave over the x range. */
function sineSketch(s: SineSettings, count: number, seed: number): FamilySketch {
  const xs = linspace(s.xRange[0], s.xRange[1], GRID_POINTS);
  const values = sampleTasks(new Rng(seed), s, count).flatMap((task, i) => xs.map((x) => ({ task: i, x, y: sineValue(task, x) })));
  const phase = s.phases ? `∈ {${s.phases.map(showNumber).join(', ')}}` : showRange(s.phase);
  const w = s.frequency.every((v) => v === 1) ? '' : `, w ${showRange(s.frequency)}`;
  return { values, mark: 'line', title: `y = A sin(${w ? 'w ' : ''}x + φ)`, subtitle: `A ${showRange(s.amplitude)}, φ ${phase}${w}, x ${showRange(s.xRange)} (seed ${seed})`, xTitle: 'x', xDomain: s.xRange };
}

/** The sine family of settings. */
export function sineFamily(settings: SineSettings): TaskFamily {
  return {
    name: 'sine',
    inputs: 1,
    settings,
    sampleBatch(rng, sizes) {
      const tasks = sampleTasks(rng, settings, sizes.tasks);
      const support = pointSet(tasks, sampleInputs(rng, tasks.length, sizes.support, settings.xRange, sizes.supportGrid));
      const query = sizes.query === null ? null : pointSet(tasks, sampleInputs(rng, tasks.length, sizes.query, settings.xRange, sizes.queryGrid));
      return { tasks, support, query };
    },
    heldOut: (options) => sineHeldOut(settings, options),
    divergenceBound: divergenceBound(settings),
    lossScale: 1,
    lossName: 'grid MSE',
    scoredOn: `${GRID_POINTS} grid points over x in [${settings.xRange.map((v) => +v.toFixed(3))}]`,
    terms: sineTerms(settings),
    sketch: (count, seed) => sineSketch(settings, count, seed),
  };
}

export const sine = family({
  summary: 'y = A sin(w x + phase), A, phase and w drawn per task (the MAML paper\'s sinusoid)',
  options: sineOptions,
  inputs: () => 1,
  terms: sineTerms,
  // a phase range given replaces the discrete phases; other phases have no source domains (DAML's)
  override: (config, overrides) => ({ ...config, ...overrides, phases: overrides.phases ?? (overrides.phase ? null : config.phases), ...(overrides.phases || overrides.phase ? { sourceRanges: null } : {}) }),
  make: (config) => {
    const { amplitude, phase, phases, frequency, xRange } = config;
    return sineFamily({ amplitude, phase, phases, frequency, xRange, sourceRanges: (config as { sourceRanges?: [number, number][] | null }).sourceRanges ?? null });
  },
});
