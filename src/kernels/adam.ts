// MetalearnAdam: one Adam step over every parameter in one kernel (assembly/adam.ts), where
// src/optim.ts's composed step runs 11 TF.js kernels per parameter (66 for a 2-hidden-layer MLP).
// A new kernel (it replaces no built-in); optim.ts calls it when the simd kernels are active.
//
//   MetalearnAdam(p_i, m_i, v_i, g_i for i < count) -> p'_i, m'_i, v'_i   (same shapes)
// Attrs: beta1, beta2 and the step's stepSize and epsilonHat (see assembly/adam.ts).
import * as tf from '@tensorflow/tfjs';
import { util } from '@tensorflow/tfjs';
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { getInputs, putInputs } from './inputs.js';
import type { BoundKernels } from './wasm.js';

export const ADAM = 'MetalearnAdam';

export interface AdamConstants {
  beta1: number;
  beta2: number;
  stepSize: number;
  epsilonHat: number;
}

export function adamKernel(kernels: BoundKernels): KernelConfig {
  return {
    kernelName: ADAM,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) => {
      const { beta1, beta2, stepSize, epsilonHat, count } = attrs as unknown as AdamConstants & { count: number };
      const words: number[] = [];
      const outputs: TensorInfo[] = [];
      const [ps, ms, vs, gs] = ['p', 'm', 'v', 'g'].map((name) => getInputs(inputs, name, count));
      for (let i = 0; i < count; i++) {
        const [p, m, v, g] = [ps[i], ms[i], vs[i], gs[i]];
        const outs = [0, 1, 2].map(() => kernels.backend.makeOutput(p.shape, 'float32'));
        outputs.push(...outs);
        words.push(...[p, m, v, g, ...outs].map((t) => kernels.offset(t)), util.sizeFromShape(p.shape));
      }
      // the constants as JS computes them for tf.mul(m, beta1), tf.mul(g, 1 - beta1), ...: doubles rounded to float32 on the call
      kernels.exports.adam(kernels.args(words), count, beta1, 1 - beta1, beta2, 1 - beta2, stepSize, epsilonHat);
      return outputs;
    },
  };
}

/** One Adam step of every parameter: [p', m', v'] per parameter, in one kernel. */
export function fusedAdam(params: tf.Tensor[], m: tf.Tensor[], v: tf.Tensor[], grads: tf.Tensor[], c: AdamConstants): tf.Tensor[][] {
  const inputs = putInputs(putInputs(putInputs(putInputs({}, 'p', params), 'm', m), 'v', v), 'g', grads);
  const out = tf.engine().runKernel(ADAM, inputs, { ...c, count: params.length } as unknown as NamedAttrMap) as tf.Tensor[];
  return params.map((_, i) => out.slice(3 * i, 3 * i + 3));
}
