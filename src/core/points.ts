// Points of a batch of tasks as tensors, whatever family they come from: x [tasks, points, d] and
// y [tasks, points, 1]; and, for tasks of different sizes padded to one, a mask of the real points.
import * as tf from '@tensorflow/tfjs';

/** Points of a batch of tasks: x [tasks, points, d], y [tasks, points, 1]; values: the same numbers in JS, when they were made there. */
export interface PointSet {
  x: tf.Tensor3D;
  y: tf.Tensor3D;
  values?: { x: Float32Array; y: Float32Array };
  /** For tasks padded to one size: 1 at a real point, 0 at padding, [tasks, points, 1] (absent: every point is real). */
  mask?: tf.Tensor3D;
}

/** A PointSet from every task's points, task by task: xs [tasks * n * d], ys [tasks * n]. */
export function pointsOf(xs: Float32Array, ys: Float32Array, tasks: number, inputs = 1): PointSet {
  const n = tasks ? ys.length / tasks : 0;
  return { x: tf.tensor3d(xs, [tasks, n, inputs]), y: tf.tensor3d(ys, [tasks, n, 1]), values: { x: xs, y: ys } };
}

export function disposePoints(points: PointSet): void {
  tf.dispose([points.x, points.y, ...(points.mask ? [points.mask] : [])]);
}

/** n evenly spaced points from lo to hi inclusive (n = 1 gives the midpoint). */
export function linspace(lo: number, hi: number, n: number): number[] {
  if (n === 1) return [(lo + hi) / 2];
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}
