// Gradients of the task loss of the MLP, for a batch of tasks at once.
//
// The analytic route writes backpropagation and the Hessian-vector product (Pearlmutter's
// R-operator, 1994) out as batched kernels, with no gradient tape: TF.js's tape costs
// more per op than the op itself on these small networks (shared/TFJS-NOTES.md), so this
// is what makes meta-training fast. The autodiff route is tf.grads, the generic reference:
// test/gradients.test.ts checks one against the other and both against finite differences.
//
// Notation, layer l = 0..L-1: a_0 = x, z_l = a_l W_l + b_l, a_{l+1} = act(z_l) (l < L-1),
// prediction z_{L-1}; task loss = mean over the k points of f(prediction - y), f = square | abs;
// e_l = d(loss)/d(z_l). Shapes: a_l, e_l [tasks, k, width]; per-task W [tasks, in, out].
import * as tf from '@tensorflow/tfjs';
import type { NamedAttrMap } from '@tensorflow/tfjs';
import { simdKernels } from '../kernels/index.js';
import { putInputs } from '../kernels/inputs.js';
import { fusable, MLP_BACKPROP, MLP_HVP, type MlpAttrs } from '../kernels/mlp.js';
import { activationDerivative, forward, forwardLayers, isPerTask, perTaskCopies, residualLosses, taskLosses, type Activation, type LossKind, type Params } from './model.js';
import type { PointSet } from './points.js';

export interface LossOptions {
  loss: LossKind;
  activation: Activation;
}

/** What backpropagation leaves behind; the Hessian-vector product at the same point reuses it. */
export interface Backprop {
  /** scale * gradient of each task's mean loss: [tasks, ...shape] (or summed over tasks). */
  grads: Params;
  /** a_0 .. a_L (a_0 = x, a_L is the prediction), [tasks, k, width] */
  outputs: tf.Tensor3D[];
  /** scale * e_l, l = 0..L-1, [tasks, k, width] */
  errors: tf.Tensor[];
  /** each task's mean loss on its points (unscaled), [tasks] */
  losses: tf.Tensor1D;
}

// TF.js wasm runs a 2-D matMul with XNNPACK only when neither side is transposed; with a
// transpose flag it falls back to a plain loop, 3 to 8 times slower here. So 2-D products
// transpose explicitly (one cheap kernel); batched ones take the loop anyway.

/** x [tasks, k, in] times W (or W^T): shared [in, out] as one 2-D matMul over all rows, per-task [tasks, in, out] batched. */
function timesWeight(x: tf.Tensor, w: tf.Tensor, transposeW: boolean): tf.Tensor {
  if (w.rank === 3) return tf.matMul(x as tf.Tensor3D, w as tf.Tensor3D, false, transposeW);
  const [tasks, k] = x.shape;
  const rows = tf.matMul(tf.reshape(x, [tasks * k, -1]), transposeW ? tf.transpose(w) : (w as tf.Tensor2D));
  return tf.reshape(rows, [tasks, k, rows.shape[1] as number]);
}

/** a^T e for each task [tasks, in, out], or summed over tasks [in, out]. */
function outerProduct(a: tf.Tensor, e: tf.Tensor, sumOverTasks: boolean): tf.Tensor {
  if (!sumOverTasks) return tf.matMul(a as tf.Tensor3D, e as tf.Tensor3D, true, false);
  const [tasks, k] = a.shape;
  return tf.matMul(tf.transpose(tf.reshape(a, [tasks * k, -1])), tf.reshape(e, [tasks * k, -1]));
}

/**
 * scale * the gradient of each task's mean loss on its points, by backpropagation.
 * With sumOverTasks the gradients are summed over tasks (shapes of the shared params).
 * With the simd kernels, one fused kernel computes the same float32 operations (kernels/mlp.ts);
 * it has no gradient of its own: nothing differentiates through this function.
 */
export function backprop(taskParams: Params, points: PointSet, opts: LossOptions, scale = 1, sumOverTasks = false): Backprop {
  if (simdKernels() && fusable(taskParams, points.x, points.y)) return fusedBackprop(taskParams, points, opts, scale, sumOverTasks);
  const single = points.x.shape[0] === 1;
  const params = single ? asShared(taskParams) : taskParams;
  const layers = params.length / 2;
  const k = points.x.shape[1];
  const outputs = forwardLayers(params, points.x, opts.activation);
  const residual = tf.sub(outputs[layers], points.y);
  const errors: tf.Tensor[] = new Array(layers);
  const grads: Params = new Array(params.length);
  errors[layers - 1] = opts.loss === 'l1' ? tf.mul(tf.sign(residual), scale / k) : tf.mul(residual, (2 * scale) / k);
  for (let l = layers - 1; l >= 0; l--) {
    grads[2 * l] = outerProduct(outputs[l], errors[l], sumOverTasks || single);
    grads[2 * l + 1] = tf.sum(errors[l], sumOverTasks || single ? [0, 1] : 1);
    if (l > 0) errors[l - 1] = tf.mul(timesWeight(errors[l], params[2 * l], true), activationDerivative(outputs[l], opts.activation)); // [tasks, k, in]
  }
  return { grads: single && !sumOverTasks ? layoutOf(grads, taskParams) : grads, outputs, errors, losses: residualLosses(residual, opts.loss) };
}

// One task: per-task params [1, ...] computed as shared ones, so that every product is a
// 2-D matMul (TF.js wasm runs those with XNNPACK, batched ones with a plain loop), and
// results come back in the layout they were given in: with one task, a loop that starts
// from shared params stays in that layout and never converts. Biases are summed over their
// unit axis rather than reshaped: the wasm fused matMul reads the shape its data was
// allocated with, and refuses a [1, out] bias reshaped to [out].
const asShared = (params: Params): Params =>
  isPerTask(params) ? params.map((p, i) => (i % 2 ? tf.sum(p, 0) : tf.reshape(p, p.shape.slice(1)))) : params;
const layoutOf = (shared: Params, like: Params): Params => (isPerTask(like) ? shared.map((p) => tf.expandDims(p, 0)) : shared);

/** Sums per-task values [tasks, ...shape] over tasks to the shape of the shared params (one task may come shared already). */
export function sumOverTasks(values: Params, params: Params): Params {
  return values.map((g, i) => (g.rank > params[i].rank ? tf.sum(g, 0) : g));
}

/** The same gradients by tf.grads (per-task copies, so each task's gradient is its own row). */
export function autodiffGradients(params: Params, points: PointSet, opts: LossOptions, scale = 1): Params {
  const fast = isPerTask(params) ? params : perTaskCopies(params, points.x.shape[0]);
  const grads = tf.grads((...ps: tf.Tensor[]) => tf.mul(tf.sum(taskLosses(forward(ps, points.x, opts.activation), points.y, opts.loss)), scale))(fast);
  return grads;
}

/**
 * scale * H v for each task, H the Hessian of the task's mean loss at the point where `bp`
 * was computed (with the same scale), v per-task [tasks, ...shape]. Pearlmutter's R-operator:
 * R{.} is the directional derivative along v of each quantity of the forward and backward pass.
 * With sumOverTasks the products are summed over tasks (shapes of the shared params).
 */
export function hessianVectorProduct(taskParams: Params, bp: Backprop, direction: Params, opts: LossOptions, scale: number, sumOverTasks = false): Params {
  if (simdKernels() && fusable(taskParams, bp.outputs[0], undefined, direction)) return fusedHessianVectorProduct(taskParams, bp, direction, opts, scale, sumOverTasks);
  const single = bp.losses.shape[0] === 1;
  const summed = single || sumOverTasks; // products over all tasks' rows at once: 2-D matMuls
  const [params, v] = single ? [asShared(taskParams), asShared(direction)] : [taskParams, direction];
  const layers = params.length / 2;
  const k = bp.outputs[0].shape[1];
  const derivatives = bp.outputs.slice(1, layers).map((a) => activationDerivative(a, opts.activation)); // act'(z_l), l < L-1
  const bias = (b: tf.Tensor) => (single ? b : tf.expandDims(b, 1)); // per-task [tasks, out] -> [tasks, 1, out]
  // forward: R{z_l} = R{a_l} W_l + a_l V_l + v_b;  R{a_{l+1}} = act'(z_l) R{z_l}
  const rz: tf.Tensor[] = [];
  const ra: (tf.Tensor | null)[] = [null]; // R{a_0} = 0
  for (let l = 0; l < layers; l++) {
    let z = tf.add(timesWeight(bp.outputs[l], v[2 * l], false), bias(v[2 * l + 1]));
    if (ra[l]) z = tf.add(z, timesWeight(ra[l]!, params[2 * l], false));
    rz.push(z);
    if (l < layers - 1) ra.push(tf.mul(derivatives[l], z));
  }
  // backward: R{e_{L-1}} = scale f''(residual) R{z_{L-1}} / k  (f'' = 2 for mse, 0 for l1)
  let re: tf.Tensor | null = opts.loss === 'mse' ? tf.mul(rz[layers - 1], (2 * scale) / k) : null;
  const hv: Params = new Array(params.length);
  for (let l = layers - 1; l >= 0; l--) {
    // R{grad W_l} = R{a_l}^T e_l + a_l^T R{e_l};  R{grad b_l} = sum_k R{e_l}
    const terms: tf.Tensor[] = [];
    if (ra[l]) terms.push(outerProduct(ra[l]!, bp.errors[l], summed));
    if (re) terms.push(outerProduct(bp.outputs[l], re, summed));
    hv[2 * l] = terms.length === 1 ? terms[0] : tf.add(terms[0], terms[1]);
    hv[2 * l + 1] = re ? tf.sum(re, summed ? [0, 1] : 1) : tf.zeros(summed ? [params[2 * l].shape.at(-1)!] : v[2 * l + 1].shape);
    if (l > 0) {
      // e_{l-1} = p act'(z_{l-1}) with p = e_l W_l^T:
      // R{e_{l-1}} = (R{e_l} W_l^T + e_l V_l^T) act'(z_{l-1}) + p act''(z_{l-1}) R{z_{l-1}}
      let rp = timesWeight(bp.errors[l], v[2 * l], true);
      if (re) rp = tf.add(rp, timesWeight(re, params[2 * l], true));
      let next = tf.mul(rp, derivatives[l - 1]);
      // tanh'' = -2 a tanh' with a = tanh(z), and p tanh'(z_{l-1}) = e_{l-1}: the term is e_{l-1} (-2 a_l) R{z_{l-1}}; relu'' = 0
      if (opts.activation === 'tanh') next = tf.add(next, tf.mul(tf.mul(bp.errors[l - 1], tf.mul(bp.outputs[l], -2)), rz[l - 1]));
      re = next;
    }
  }
  return single && !sumOverTasks ? layoutOf(hv, direction) : hv;
}

/** The attributes of the MLP kernels. */
const mlpAttrs = (layers: number, opts: LossOptions, scale: number, summed: boolean) => ({ layers, activation: opts.activation, loss: opts.loss, scale, summed }) satisfies MlpAttrs as unknown as NamedAttrMap;

/** backprop() in one kernel (kernels/mlp.ts). */
function fusedBackprop(params: Params, points: PointSet, opts: LossOptions, scale: number, sumOverTasks: boolean): Backprop {
  const layers = params.length / 2;
  const attrs = mlpAttrs(layers, opts, scale, sumOverTasks);
  const out = tf.engine().runKernel(MLP_BACKPROP, putInputs({ x: points.x, y: points.y }, 'p', params), attrs) as tf.Tensor[];
  return {
    grads: out.slice(0, 2 * layers),
    outputs: [points.x, ...(out.slice(2 * layers, 3 * layers) as tf.Tensor3D[])],
    errors: out.slice(3 * layers, 4 * layers),
    losses: out[4 * layers] as tf.Tensor1D,
  };
}

/** hessianVectorProduct() in one kernel (kernels/mlp.ts). */
function fusedHessianVectorProduct(params: Params, bp: Backprop, direction: Params, opts: LossOptions, scale: number, sumOverTasks: boolean): Params {
  const attrs = mlpAttrs(params.length / 2, opts, scale, sumOverTasks);
  const inputs: Record<string, tf.Tensor> = { x: bp.outputs[0] };
  putInputs(inputs, 'p', params);
  putInputs(inputs, 'v', direction);
  putInputs(inputs, 'a', bp.outputs.slice(1));
  putInputs(inputs, 'e', bp.errors);
  return tf.engine().runKernel(MLP_HVP, inputs, attrs) as tf.Tensor[];
}
