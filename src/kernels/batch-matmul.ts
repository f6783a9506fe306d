// BatchMatMul (every tf.matMul, 2-D or batched) and _FusedMatMul (tf.fused.matMul: Dense layers
// with their bias and relu) on the wasm backend, replacing the built-ins.
//
//   out[..., m, n] = op(a)[..., m, k] op(b)[..., k, n]  (+ bias [n])  (relu),  op = transpose or not
//
// a: [...batchA, m, k] (transposeA: [..., k, m]); b: [...batchB, k, n] (transposeB: [..., n, k]);
// one of the batch sizes may be 1 (broadcast). Float32.
// The built-in runs XNNPACK only for 2-D products with neither side transposed, and a scalar
// triple loop for everything else (batched per-task weights, transposes): about 1-3 GFLOP/s.
// This one runs WebAssembly SIMD for every form (assembly/batch-matmul.ts), summing in the
// built-in's order, so BatchMatMul gives the built-in's bits. _FusedMatMul too, where the
// built-in is right: its own loop (batched or transposed products with a bias) adds the last
// bias element to every row after the first; this one adds bias[j] to column j.
// Other cases go to the built-in: other dtypes, other activations, prelu weights, a bias that
// is not [n], batch shapes that broadcast other than by a batch of 1.
import { backend_util, broadcast_util, util, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs';
import type { BoundKernels, WasmBackend } from './wasm.js';

interface ProductInputs {
  a: TensorInfo;
  b: TensorInfo;
  bias?: TensorInfo;
  preluActivationWeights?: TensorInfo;
}


/** The product as the SIMD kernel runs it, or null when it does not take this case. */
function simdProduct(kernels: BoundKernels, inputs: ProductInputs, attrs: NamedAttrMap): TensorInfo | null {
  const { a, b, bias, preluActivationWeights } = inputs;
  const transposeA = Boolean(attrs.transposeA);
  const transposeB = Boolean(attrs.transposeB);
  const activation = (attrs.activation as backend_util.Activation | undefined) ?? 'linear';
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || preluActivationWeights || (activation !== 'linear' && activation !== 'relu')) return null;
  const [m, k] = transposeA ? [a.shape.at(-1)!, a.shape.at(-2)!] : [a.shape.at(-2)!, a.shape.at(-1)!];
  const [kb, n] = transposeB ? [b.shape.at(-1)!, b.shape.at(-2)!] : [b.shape.at(-2)!, b.shape.at(-1)!];
  if (k !== kb) throw new Error(`Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== n)) return null;
  const batchA = util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = util.sizeFromShape(b.shape.slice(0, -2));
  const outerShape = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  const out = (kernels.backend as WasmBackend).makeOutput([...outerShape, m, n], 'float32');
  if (m * n * Math.max(batchA, batchB) === 0) return out;
  const scratch = transposeB ? kernels.scratchFor(k * n) : 0;
  kernels.exports.batchMatMul(kernels.offset(a), kernels.offset(b), kernels.offset(out), batchA, batchB, m, k, n, +transposeA, +transposeB, bias ? kernels.offset(bias) : 0, +(activation === 'relu'), scratch);
  return out;
}

/** The kernel configs that replace the built-ins `BatchMatMul` and `_FusedMatMul`. */
export function productKernels(kernels: BoundKernels, builtin: { BatchMatMul: KernelConfig; _FusedMatMul: KernelConfig }): KernelConfig[] {
  const config = (kernelName: 'BatchMatMul' | '_FusedMatMul'): KernelConfig => ({
    kernelName,
    backendName: 'wasm',
    // the built-in's setup, which TF.js runs when a backend instance starts: it binds the functions the fallback below calls
    setupFunc: builtin[kernelName].setupFunc,
    kernelFunc: ((args) => simdProduct(kernels, args.inputs as unknown as ProductInputs, args.attrs ?? {}) ?? builtin[kernelName].kernelFunc(args)) as KernelFunc,
  });
  return [config('BatchMatMul'), config('_FusedMatMul')];
}
