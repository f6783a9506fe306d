// Ops on lists of tensors that run one of metalearn's fused kernels where it is registered (the simd
// kernels on wasm, outside a gradient tape) and the composed TF.js ops elsewhere, with the same results
// (test/kernels.test.ts). The kernels only register (src/kernels); the choice is made here, at the call.
import * as tf from '@tensorflow/tfjs';
import type { NamedAttrMap } from '@tensorflow/tfjs';
import { simdKernels } from '../kernels/index.js';
import { putInputs } from '../kernels/inputs.js';
import { STEP, steppable } from '../kernels/step.js';

/**
 * p_i - r (.) g_i for every i: g_i may hold one copy per task of a shared p_i ([tasks, ...shape]); r is a
 * scalar or one tensor per p_i (broadcast over tasks). One kernel with the simd kernels, else tf.sub and tf.mul.
 */
export function subtractScaled(params: tf.Tensor[], grads: tf.Tensor[], rate: number | tf.Tensor[]): tf.Tensor[] {
  if (!simdKernels() || !params.every((p, i) => steppable(p.shape, grads[i].shape, typeof rate === 'number' ? null : rate[i].shape))) return params.map((p, i) => tf.sub(p, typeof rate === 'number' ? (rate === 1 ? grads[i] : tf.mul(grads[i], rate)) : tf.mul(rate[i], grads[i])));
  const inputs = putInputs(putInputs({}, 'p', params), 'g', grads);
  if (typeof rate !== 'number') putInputs(inputs, 'r', rate);
  const attrs = { count: params.length, scalar: typeof rate === 'number' ? rate : 0 } as unknown as NamedAttrMap;
  return tf.engine().runKernel(STEP, inputs, attrs) as tf.Tensor[];
}
