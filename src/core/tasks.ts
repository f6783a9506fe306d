// Sine-wave regression tasks y = A sin(w x + phase) (MAML paper 5.1 and the Flux post's SineWave
// with w = 1; later papers also draw the frequency w).
// Tasks and points are drawn in JavaScript from a seeded Rng, so that the same seed
// gives the same tasks on every backend; tensors are built once per batch.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from './rng.js';

export interface TaskFamily {
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

/** Points of a batch of tasks as tensors: x and y are [tasks, points, 1]; values: the same numbers in JS, when they were made there. */
export interface PointSet {
  x: tf.Tensor3D;
  y: tf.Tensor3D;
  values?: { x: Float32Array; y: Float32Array };
}

/** Tasks of a family; a fixed frequency draws nothing, so a family of w = 1 gives the tasks it gave before frequencies existed. */
export function sampleTasks(rng: Rng, family: TaskFamily, count: number): SineTask[] {
  const [wLo, wHi] = family.frequency;
  return Array.from({ length: count }, () => ({
    amplitude: rng.uniform(family.amplitude[0], family.amplitude[1]),
    phase: family.phases ? family.phases[rng.int(family.phases.length)] : rng.uniform(family.phase[0], family.phase[1]),
    frequency: wLo < wHi ? rng.uniform(wLo, wHi) : wLo,
  }));
}

export function sineValue(task: SineTask, x: number): number {
  return task.amplitude * Math.sin(task.frequency * x + task.phase);
}

/** n evenly spaced points from lo to hi inclusive (n = 1 gives the midpoint). */
export function linspace(lo: number, hi: number, n: number): number[] {
  if (n === 1) return [(lo + hi) / 2];
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

/** The default divergence bound of a family: 100 times the largest mean square of its waves over the grid, A_max^2 / 2. */
export function divergenceBound(family: TaskFamily): number {
  return (100 * family.amplitude[1] ** 2) / 2;
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
export function sourceRange(family: TaskFamily, phase: number): [number, number] {
  const { phases, sourceRanges } = family;
  if (!phases || !sourceRanges || sourceRanges.length !== phases.length) throw new Error('the task family has no source range for each of its phases');
  const gap = (p: number) => Math.abs(Math.atan2(Math.sin(p - phase), Math.cos(p - phase)));
  return sourceRanges[phases.reduce((best, p, i) => (gap(p) < gap(phases[best]) ? i : best), 0)];
}

/** DAML's unlabeled inputs: n per task, uniform in the task's source domain, [tasks * n]. */
export function sourceInputValues(rng: Rng, family: TaskFamily, tasks: SineTask[], n: number): Float32Array {
  return Float32Array.from({ length: tasks.length * n }, (_, i) => rng.uniform(...sourceRange(family, tasks[Math.floor(i / n)].phase)));
}

/** Builds x and y tensors [tasks, points, 1] from the inputs of every task, [tasks * points] task by task. */
export function pointSet(tasks: SineTask[], xs: Float32Array): PointSet {
  const n = tasks.length ? xs.length / tasks.length : 0;
  const ys = new Float32Array(xs.length);
  for (let t = 0; t < tasks.length; t++) for (let i = t * n; i < (t + 1) * n; i++) ys[i] = sineValue(tasks[t], xs[i]);
  return { x: tf.tensor3d(xs, [tasks.length, n, 1]), y: tf.tensor3d(ys, [tasks.length, n, 1]), values: { x: xs, y: ys } };
}

export function disposePoints(points: PointSet): void {
  tf.dispose([points.x, points.y]);
}
