// MetalearnStep: out_i = p_i - r_i (.) g_i for a list of tensors in one kernel (assembly/step.ts),
// the update of every SGD-like step (the inner steps of adaptation, the SGD meta-optimizer, the
// reverse sweep of the analytic meta-gradient), which composed is one or two TF.js kernels per
// tensor. A new kernel (it replaces no built-in); core/ops.ts's subtractScaled runs it by name.
//
//   MetalearnStep(p_i [...shape] or [tasks, ...shape], g_i [tasks, ...shape] or [...shape], r_i) -> out_i
// r: a number (scalar step size; 1 for a step already scaled) or a tensor per p_i of one copy's shape.
import { util } from '@tensorflow/tfjs';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { getInputs } from './inputs.js';
import type { BoundKernels } from './wasm.js';

export const STEP = 'MetalearnStep';

export function stepKernel(kernels: BoundKernels): KernelConfig {
  return {
    kernelName: STEP,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) => {
      const { count, scalar } = attrs as unknown as { count: number; scalar: number };
      const words: number[] = [];
      const outputs: TensorInfo[] = [];
      const ps = getInputs(inputs, 'p', count), gs = getInputs(inputs, 'g', count), rs = getInputs(inputs, 'r', count);
      for (let i = 0; i < count; i++) {
        const p = ps[i], g = gs[i], r = rs[i] as TensorInfo | undefined;
        if (p.shape.length > g.shape.length) throw new Error(`${STEP}: a shared gradient for per-task parameters`);
        const copy = util.sizeFromShape((r ?? (g.shape.length > p.shape.length ? p : g)).shape); // floats of one copy
        const out = kernels.backend.makeOutput(g.shape, 'float32');
        outputs.push(out);
        words.push(kernels.offset(p), kernels.offset(g), r ? kernels.offset(r) : 0, kernels.offset(out), copy, util.sizeFromShape(g.shape) / copy, +(p.shape.length === g.shape.length));
      }
      kernels.exports.step(kernels.args(words), count, scalar);
      return outputs;
    },
  };
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** The layouts the kernel takes: g one copy or [tasks] copies of a shape that p (shared or per task, like g) and r (a tensor) have; other broadcasts go to the composed ops. */
export function steppable(p: number[], g: number[], r: number[] | null): boolean {
  const copy = r ?? (g.length > p.length ? p : g);
  return (same(g, copy) || same(g.slice(1), copy)) && (same(p, g) || same(p, copy));
}
