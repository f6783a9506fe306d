// MetalearnMlpBackprop and MetalearnMlpHvp: the MLP's loss gradient and its Hessian-vector
// product for a batch of tasks, each one kernel (assembly/mlp.ts), where gradients.ts's
// backprop() and hessianVectorProduct() run 20 to 40 TF.js kernels. New kernels (they replace
// no built-in); core/gradients.ts runs them by name, where they are registered and `fusable` takes the
// shapes, with the same results.
//
//   MetalearnMlpBackprop(x, y [T, k, 1], W_l, b_l) -> grads (2L), a_1..a_L, e_0..e_{L-1} [T, k, width], losses [T]
//   MetalearnMlpHvp(x, W_l, b_l, V_l, v_bl, a_1..a_L, e_0..e_{L-1}) -> scale * H v (2L)
// W_l [in, out] shared or [T, in, out] per task; grads and H v per task, or summed over tasks
// (attr summed), or in the layout of the params for one task. Attrs: activation, loss, scale.
// No gradient is registered: nothing differentiates through them (MAML's autodiff route uses tf.grads).
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { getInputs } from './inputs.js';
import type { BoundKernels } from './wasm.js';

export const MLP_BACKPROP = 'MetalearnMlpBackprop';
export const MLP_HVP = 'MetalearnMlpHvp';

/** The attributes of both kernels. */
export interface MlpAttrs {
  layers: number;
  activation: 'relu' | 'tanh';
  loss: 'mse' | 'l1';
  scale: number;
  summed: boolean;
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Whether the kernels take these shapes (else core/gradients.ts runs the composed ops): x [T, k, in]
 * with y like it, weights W_l [in_l, out_l] chained from in and biases [out_l], all shared or all
 * per task ([T, ...]), and a direction for the Hessian-vector product per task (or, for one task, in either layout).
 */
export function fusable(params: { shape: number[] }[], x: { shape: number[] }, y?: { shape: number[] }, direction?: { shape: number[] }[]): boolean {
  const [tasks, , inputs] = x.shape;
  if (x.shape.length !== 3 || (y && !same(y.shape, x.shape)) || params.length < 2 || params.length % 2) return false;
  const perTask = params[0].shape.length === 3;
  const lead = perTask ? [tasks] : [];
  let width = inputs;
  for (let l = 0; l < params.length / 2; l++) {
    const [w, b] = [params[2 * l].shape, params[2 * l + 1].shape];
    const out = w.at(-1)!;
    if (!same(w, [...lead, width, out]) || !same(b, [...lead, out])) return false;
    width = out;
  }
  if (width !== 1) return false;
  const shared = (i: number) => params[i].shape.slice(perTask ? 1 : 0);
  return !direction || direction.every((v, i) => same(v.shape, [tasks, ...shared(i)]) || (tasks === 1 && same(v.shape, shared(i))));
}

/** The sizes of an MLP call: layers, widths, tasks, points, whether params are per task, and the output layout of gradients. */
function layout(params: TensorInfo[], x: TensorInfo, summed: boolean) {
  const layers = params.length / 2;
  const [tasks, k] = x.shape;
  const perTask = params[0].shape.length === 3;
  const widths = [x.shape[2], ...Array.from({ length: layers }, (_, l) => params[2 * l].shape.at(-1)!)];
  // gradients: summed (or one task in the shared layout) take the shared shapes; one task keeps its given layout
  const shapeOf = (l: number, bias: boolean) => {
    const shared = bias ? [widths[l + 1]] : [widths[l], widths[l + 1]];
    if (summed || (tasks === 1 && !perTask)) return shared;
    return [tasks, ...shared];
  };
  return { layers, tasks, k, perTask, widths, shapeOf };
}

function backpropKernel(kernels: BoundKernels): KernelFunc {
  return ({ inputs, attrs }) => {
    const { layers: l, activation, loss, scale, summed } = attrs as unknown as MlpAttrs;
    const params = getInputs(inputs, 'p', 2 * l);
    const { x, y } = inputs as { x: TensorInfo; y: TensorInfo };
    const { layers, tasks, k, perTask, widths, shapeOf } = layout(params, x, summed);
    const out = (shape: number[]) => kernels.backend.makeOutput(shape, 'float32');
    const grads = params.map((_, i) => out(shapeOf(Math.floor(i / 2), i % 2 === 1)));
    const acts = widths.slice(1).map((w) => out([tasks, k, w]));
    const errors = widths.slice(1).map((w) => out([tasks, k, w]));
    const losses = out([tasks]);
    const scratch = kernels.scratchFor(Math.max(...widths.slice(1).map((w, l) => w * widths[l])));
    const args = kernels.args([...params, ...grads, ...acts, ...errors, x, y, losses].map((t) => kernels.offset(t)));
    kernels.exports.mlpBackprop(layers, kernels.ints(widths), args, +perTask, tasks, k, +(activation === 'relu'), +(loss === 'l1'), scale, +summed, scratch);
    return [...grads, ...acts, ...errors, losses];
  };
}

function hvpKernel(kernels: BoundKernels): KernelFunc {
  return ({ inputs, attrs }) => {
    const { layers: l, activation, loss, scale, summed } = attrs as unknown as MlpAttrs;
    const params = getInputs(inputs, 'p', 2 * l);
    const direction = getInputs(inputs, 'v', 2 * l);
    const acts = getInputs(inputs, 'a', l);
    const errors = getInputs(inputs, 'e', l);
    const { x } = inputs as { x: TensorInfo };
    const { layers, tasks, k, perTask, widths, shapeOf } = layout(params, x, summed);
    if (tasks > 1 && direction[0].shape.length !== 3) throw new Error(`${MLP_HVP}: the direction must be per task for ${tasks} tasks`);
    // one task and not summed: the layout of the direction, as gradients.ts returns it
    const hv = direction.map((v, i) => kernels.backend.makeOutput(tasks === 1 && !summed ? v.shape : shapeOf(Math.floor(i / 2), i % 2 === 1), 'float32'));
    const widthList = kernels.ints(widths);
    const scratch = kernels.scratchFor(kernels.exports.mlpHvpScratch(layers, widthList, tasks, k));
    const args = kernels.args([...params, ...direction, ...acts, ...errors, x, ...hv].map((t) => kernels.offset(t)));
    kernels.exports.mlpHvp(layers, widthList, args, +perTask, tasks, k, +(activation === 'relu'), +(loss === 'l1'), scale, +summed, scratch);
    return hv;
  };
}

export function mlpKernels(kernels: BoundKernels): KernelConfig[] {
  return [
    { kernelName: MLP_BACKPROP, backendName: 'wasm', kernelFunc: backpropKernel(kernels) },
    { kernelName: MLP_HVP, backendName: 'wasm', kernelFunc: hvpKernel(kernels) },
  ];
}

