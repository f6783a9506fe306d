// MetalearnAdam: one Adam step over every parameter in one kernel (assembly/adam.ts), where
// core/optim.ts's composed step runs 11 TF.js kernels per parameter (66 for a 2-hidden-layer MLP).
// A new kernel (it replaces no built-in); core/optim.ts runs it by name when the simd kernels are active.
//
//   MetalearnAdam(p_i, m_i, v_i, g_i for i < count) -> p'_i, m'_i, v'_i   (same shapes)
// Attrs: beta1, beta2 and the step's stepSize and epsilonHat (see assembly/adam.ts).
import { util } from '@tensorflow/tfjs';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { getInputs } from './inputs.js';
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
