// The MLP's loss gradient and Hessian-vector product for a batch of tasks, each in one call:
// what src/gradients.ts's backprop() and hessianVectorProduct() compute with about 20 to 40
// TF.js kernels each, with the same float32 operations in the same order (so the same bits).
//
// Notation as in gradients.ts, layer l = 0..L-1: a_0 = x, z_l = a_l W_l + b_l,
// a_{l+1} = act(z_l) (l < L-1), prediction a_L = z_{L-1}; e_l = d(scale * loss)/d(z_l).
// Shapes: x, y [T, k, 1]; a_l, e_l [T, k, width_l]; W_l [in, out] shared or [T, in, out] per task,
// b_l [out] or [T, out]. One task (T = 1) is computed as shared weights, as gradients.ts does.
//
// Which order each product sums in follows the TF.js op gradients.ts runs for it (gemm.ts):
// shared weights: all T*k rows as one 2-D product (SEQUENTIAL); per-task weights: a batched
// product per task (BLOCKED); outer products summed over tasks: one 2-D product over all rows
// (SEQUENTIAL), per task: batched (BLOCKED). Activations: relu as the Relu kernel (IEEE max
// with 0) or fused into a shared layer's product (XNNPACK's clamp); tanh as musl's tanhf,
// (tanh.ts), which is what the built-in Tanh kernel calls.
//
// Every pointer argument `args` is a list of u32 byte offsets (see each function).
import { word } from './args';
import { BLOCKED, gemm, SEQUENTIAL, transpose } from './gemm';
import { tanhf, tanhf4 } from './tanh';

@inline function f32At(base: usize, i: usize): f32 {
  return load<f32>(base + (i << 2));
}

@inline function setF32(base: usize, i: usize, v: f32): void {
  store<f32>(base + (i << 2), v);
}

/** out[T, rows, n] = x[T, rows, kk] times w (shared [kk, n] or per task [T, kk, n]; w^T with transposeW, w then [.., n, kk]). */
function timesWeight(x: usize, w: usize, perTask: bool, tasks: usize, rows: usize, kk: usize, n: usize, out: usize, transposeW: bool, scratch: usize): void {
  if (!perTask) {
    let b = w;
    if (transposeW) {
      transpose(w, scratch, n, kk); // w [n, kk] -> [kk, n]
      b = scratch;
    }
    gemm(x, kk, 1, b, n, out, n, tasks * rows, kk, n, 0, false, SEQUENTIAL);
    return;
  }
  for (let t: usize = 0; t < tasks; t++) {
    let b = w + ((t * kk * n) << 2);
    if (transposeW) {
      transpose(b, scratch, n, kk);
      b = scratch;
    }
    gemm(x + ((t * rows * kk) << 2), kk, 1, b, n, out + ((t * rows * n) << 2), n, rows, kk, n, 0, false, BLOCKED);
  }
}

/** a^T e into dst: [in, out] summed over all T*rows rows, or [T, in, out] per task. */
function outerProduct(a: usize, e: usize, tasks: usize, rows: usize, nIn: usize, nOut: usize, summed: bool, dst: usize): void {
  if (summed) {
    gemm(a, 1, nIn, e, nOut, dst, nOut, nIn, tasks * rows, nOut, 0, false, SEQUENTIAL);
    return;
  }
  for (let t: usize = 0; t < tasks; t++) {
    gemm(a + ((t * rows * nIn) << 2), 1, nIn, e + ((t * rows * nOut) << 2), nOut, dst + ((t * nIn * nOut) << 2), nOut, nIn, rows, nOut, 0, false, BLOCKED);
  }
}

/** sum over the rows of each task (or of all rows when summed) of e [T, rows, n]: [T, n] or [n]. */
function rowSums(e: usize, tasks: usize, rows: usize, n: usize, summed: bool, dst: usize): void {
  const groups: usize = summed ? 1 : tasks;
  const count = summed ? tasks * rows : rows;
  for (let g: usize = 0; g < groups; g++) {
    for (let j: usize = 0; j < n; j++) {
      let s: f32 = 0;
      for (let r: usize = 0; r < count; r++) s += f32At(e, (g * count + r) * n + j);
      setF32(dst, g * n + j, s);
    }
  }
}

/** The derivative of the activation written with its output h: relu' = step(h) (NaN stays NaN), tanh' = 1 - h^2. */
@inline function derivative(h: f32, relu: bool): f32 {
  if (relu) return isNaN(h) ? h : h > 0 ? 1 : 0;
  return 1 - h * h;
}

@inline function derivative4(h: v128, relu: bool): v128 {
  if (relu) return v128.bitselect(h, v128.and(f32x4.gt(h, f32x4.splat(0)), f32x4.splat(1)), f32x4.ne(h, h));
  return f32x4.sub(f32x4.splat(1), f32x4.mul(h, h));
}

// Elementwise loops over n floats, four at a time, each the float32 operation of one TF.js kernel.

/** dst = dst + src */
function addInto(dst: usize, src: usize, n: usize): void {
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (i << 2), f32x4.add(v128.load(dst + (i << 2)), v128.load(src + (i << 2))));
  for (; i < n; i++) setF32(dst, i, f32At(dst, i) + f32At(src, i));
}

/** dst = dst * act'(h) */
function timesDerivative(dst: usize, h: usize, n: usize, relu: bool): void {
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (i << 2), f32x4.mul(v128.load(dst + (i << 2)), derivative4(v128.load(h + (i << 2)), relu)));
  for (; i < n; i++) setF32(dst, i, f32At(dst, i) * derivative(f32At(h, i), relu));
}

/** dst = act'(h) * z */
function derivativeTimes(dst: usize, h: usize, z: usize, n: usize, relu: bool): void {
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (i << 2), f32x4.mul(derivative4(v128.load(h + (i << 2)), relu), v128.load(z + (i << 2))));
  for (; i < n; i++) setF32(dst, i, derivative(f32At(h, i), relu) * f32At(z, i));
}

/**
 * Each row r of out [rows, n] plus its bias (per task: bias + (r / rowsPerBias) * n), then the
 * activation: none, relu as the Relu kernel (IEEE max with 0: -0 becomes 0, NaN stays), or tanh.
 */
function addBiasActivate(out: usize, bias: usize, rows: usize, n: usize, rowsPerBias: usize, perTask: bool, activation: i32): void {
  for (let r: usize = 0; r < rows; r++) {
    const b = perTask ? bias + (((r / rowsPerBias) * n) << 2) : bias;
    const row = out + ((r * n) << 2);
    let j: usize = 0;
    for (; j + 4 <= n; j += 4) {
      let v = f32x4.add(v128.load(row + (j << 2)), v128.load(b + (j << 2)));
      if (activation == RELU) v = f32x4.max(v, f32x4.splat(0));
      else if (activation == TANH) v = tanhf4(v);
      v128.store(row + (j << 2), v);
    }
    for (; j < n; j++) {
      let v = f32At(row, j) + f32At(b, j);
      if (activation == RELU) v = v < 0 || v == 0 ? 0 : v;
      else if (activation == TANH) v = tanhf(v);
      setF32(row, j, v);
    }
  }
}

const NONE: i32 = 0;
const RELU: i32 = 1;
const TANH: i32 = 2;

/** width_l, l = 0..L (input 1, hidden widths, output 1), from an i32 list. */
@inline function width(widths: usize, l: usize): usize {
  return <usize>load<i32>(widths + (l << 2));
}

/**
 * Forward pass: a_1 .. a_L written to acts[0..L-1] (offsets), from x.
 * Shared weights: each layer one 2-D product over all rows with its bias (and relu) fused as
 * tf.fused.matMul does, except tanh layers (product, then + b, then tanh, as forwardLayers).
 * Per-task weights: batched product, + b, then the activation.
 */
function forward(layers: usize, widths: usize, params: usize, perTask: bool, tasks: usize, k: usize, x: usize, relu: bool, acts: usize): void {
  let h = x;
  for (let l: usize = 0; l < layers; l++) {
    const nIn = width(widths, l), nOut = width(widths, l + 1);
    const w = word(params, 2 * l), b = word(params, 2 * l + 1);
    const out = word(acts, l);
    const hidden = l < layers - 1;
    const rows = tasks * k;
    if (!perTask && (!hidden || relu)) {
      gemm(h, nIn, 1, w, nOut, out, nOut, rows, nIn, nOut, b, hidden, SEQUENTIAL);
    } else {
      timesWeight(h, w, perTask, tasks, k, nIn, nOut, out, false, 0);
      addBiasActivate(out, b, rows, nOut, k, perTask, !hidden ? NONE : relu ? RELU : TANH);
    }
    h = out;
  }
}

/**
 * scale * the gradient of each task's mean loss, as gradients.ts's backprop().
 * args (u32 offsets): W_0, b_0, ..., W_{L-1}, b_{L-1} | grads (2L) | a_1..a_L (L) | e_0..e_{L-1} (L) | x, y, losses
 * widths: i32 [L + 1]. perTask: the params are [T, ...]. summed: gradients summed over tasks.
 * losses [T]: each task's mean of (a_L - y)^2 or |a_L - y| (sum over its k points, then / k, as the Mean kernel).
 * scratch: max over layers of in * out floats (one task's transposed weights at a time).
 */
export function mlpBackprop(layers: usize, widths: usize, args: usize, perTask: bool, tasks: usize, k: usize, relu: bool, l1: bool, scale: f64, summed: bool, scratch: usize): void {
  const params = args;
  const grads = args + ((2 * layers) << 2);
  const acts = grads + ((2 * layers) << 2);
  const errors = acts + (layers << 2);
  const x = word(errors, layers), y = word(errors, layers + 1), losses = word(errors, layers + 2);
  if (tasks == 1) {
    perTask = false;
    summed = true;
  }
  forward(layers, widths, params, perTask, tasks, k, x, relu, acts);
  // e_{L-1} = scale f'(residual) / k, and each task's loss
  const prediction = word(acts, layers - 1);
  const last = word(errors, layers - 1);
  const errorScale = <f32>(l1 ? scale / <f64>k : (2 * scale) / <f64>k); // in double, as JS computes the scalar
  for (let t: usize = 0; t < tasks; t++) {
    let s: f32 = 0;
    for (let p: usize = 0; p < k; p++) {
      const i = t * k + p;
      const r = f32At(prediction, i) - f32At(y, i);
      s += l1 ? Mathf.abs(r) : r * r;
      setF32(last, i, l1 ? (r > 0 ? errorScale : r < 0 ? -errorScale : 0) : r * errorScale);
    }
    setF32(losses, t, s / <f32>k);
  }
  for (let l = <isize>layers - 1; l >= 0; l--) {
    const ll = <usize>l;
    const nIn = width(widths, ll), nOut = width(widths, ll + 1);
    const a = ll == 0 ? x : word(acts, ll - 1);
    const e = word(errors, ll);
    outerProduct(a, e, tasks, k, nIn, nOut, summed, word(grads, 2 * ll));
    rowSums(e, tasks, k, nOut, summed, word(grads, 2 * ll + 1));
    if (ll > 0) {
      // e_{l-1} = (e_l W_l^T) act'(a_l)
      const below = word(errors, ll - 1);
      timesWeight(e, word(params, 2 * ll), perTask, tasks, k, nOut, nIn, below, true, scratch);
      timesDerivative(below, a, tasks * k * nIn, relu);
    }
  }
}

/** The widest layer, input and output included. */
function widest(layers: usize, widths: usize): usize {
  let w: usize = 0;
  for (let l: usize = 0; l <= layers; l++) if (width(widths, l) > w) w = width(widths, l);
  return w;
}

/** a_l: x, or the output of layer l - 1. */
@inline function activation(x: usize, acts: usize, l: usize): usize {
  return l == 0 ? x : word(acts, l - 1);
}

// mlpHvp's scratch, in order: R{z_l} and R{a_{l+1}} of every layer ([T*k, width_{l+1}] each), then
// R{e}, the backward sum and a temporary ([T*k, widest] each), then weights ([T, in, out] at most).
function rzOffset(scratch: usize, widths: usize, rows: usize, l: usize): usize {
  let offset = scratch;
  for (let i: usize = 0; i < l; i++) offset += (2 * rows * width(widths, i + 1)) << 2;
  return offset;
}

@inline function raOffset(scratch: usize, widths: usize, rows: usize, l: usize): usize {
  return rzOffset(scratch, widths, rows, l - 1) + ((rows * width(widths, l)) << 2); // R{a_l}, l >= 1
}

/** Floats of scratch mlpHvp needs for these sizes. */
export function mlpHvpScratch(layers: usize, widths: usize, tasks: usize, k: usize): usize {
  let weights: usize = 0;
  for (let l: usize = 0; l < layers; l++) if (width(widths, l) * width(widths, l + 1) > weights) weights = width(widths, l) * width(widths, l + 1);
  const rows = tasks * k;
  return (rzOffset(0, widths, rows, layers) >> 2) + 3 * rows * widest(layers, widths) + tasks * weights;
}

/**
 * scale * H v per task, H the Hessian of each task's mean loss at the point mlpBackprop saw
 * (its a_1..a_L and e_0..e_{L-1}), as gradients.ts's hessianVectorProduct(): Pearlmutter's
 * R-operator through the forward and backward pass.
 * args (u32 offsets): W_0, b_0, ... (2L) | V_0, v_b0, ... (2L, per task unless T = 1) | a_1..a_L | e_0..e_{L-1} | x | hv (2L outputs)
 * summed: the products summed over tasks (shapes of shared params). scratch: mlpHvpScratch floats.
 */
export function mlpHvp(layers: usize, widths: usize, args: usize, perTask: bool, tasks: usize, k: usize, relu: bool, l1: bool, scale: f64, summed: bool, scratch: usize): void {
  const params = args;
  const dir = params + ((2 * layers) << 2);
  const acts = dir + ((2 * layers) << 2);
  const errors = acts + (layers << 2);
  const x = word(errors, layers);
  const hv = errors + ((layers + 1) << 2);
  const vPerTask = tasks > 1;
  if (tasks == 1) {
    perTask = false;
    summed = true;
  }
  const rows = tasks * k;
  const re = rzOffset(scratch, widths, rows, layers);
  const block = (rows * widest(layers, widths)) << 2;
  const rp = re + block;
  const tmp = rp + block;
  const weightScratch = tmp + block;
  // forward: R{z_l} = a_l V_l + v_b + R{a_l} W_l;  R{a_{l+1}} = act'(a_{l+1}) R{z_l}
  for (let l: usize = 0; l < layers; l++) {
    const nIn = width(widths, l), nOut = width(widths, l + 1);
    const z = rzOffset(scratch, widths, rows, l);
    timesWeight(activation(x, acts, l), word(dir, 2 * l), vPerTask, tasks, k, nIn, nOut, z, false, 0);
    addBiasActivate(z, word(dir, 2 * l + 1), rows, nOut, k, vPerTask, NONE);
    if (l > 0) {
      timesWeight(raOffset(scratch, widths, rows, l), word(params, 2 * l), perTask, tasks, k, nIn, nOut, tmp, false, 0);
      addInto(z, tmp, rows * nOut);
    }
    if (l < layers - 1) {
      const next = raOffset(scratch, widths, rows, l + 1), h = word(acts, l);
      derivativeTimes(next, h, z, rows * nOut, relu);
    }
  }
  // backward: R{e_{L-1}} = scale f''(residual) R{z_{L-1}} / k  (f'' = 2 for mse, 0 for l1)
  let hasRe = !l1;
  if (hasRe) {
    const c = <f32>((2 * scale) / <f64>k);
    const z = rzOffset(scratch, widths, rows, layers - 1);
    for (let i: usize = 0; i < rows; i++) setF32(re, i, f32At(z, i) * c);
  }
  for (let l = <isize>layers - 1; l >= 0; l--) {
    const ll = <usize>l;
    const nIn = width(widths, ll), nOut = width(widths, ll + 1);
    const hvW = word(hv, 2 * ll), hvB = word(hv, 2 * ll + 1);
    const e = word(errors, ll);
    const a = activation(x, acts, ll);
    // R{grad W_l} = R{a_l}^T e_l + a_l^T R{e_l};  R{grad b_l} = sum over rows of R{e_l}
    if (ll > 0) outerProduct(raOffset(scratch, widths, rows, ll), e, tasks, k, nIn, nOut, summed, hvW);
    if (hasRe) {
      if (ll > 0) {
        outerProduct(a, re, tasks, k, nIn, nOut, summed, weightScratch);
        const n = (summed ? <usize>1 : tasks) * nIn * nOut;
        addInto(hvW, weightScratch, n);
      } else outerProduct(a, re, tasks, k, nIn, nOut, summed, hvW);
      rowSums(re, tasks, k, nOut, summed, hvB);
    } else {
      const n = (summed ? <usize>1 : tasks) * nOut;
      for (let i: usize = 0; i < n; i++) setF32(hvB, i, 0);
    }
    if (ll > 0) {
      // R{e_{l-1}} = (e_l V_l^T + R{e_l} W_l^T) act'(a_l)  [+ e_{l-1} (-2 a_l) R{z_{l-1}} for tanh: tanh'' = -2 a tanh']
      timesWeight(e, word(dir, 2 * ll), vPerTask, tasks, k, nOut, nIn, rp, true, weightScratch);
      const n = rows * nIn;
      if (hasRe) {
        timesWeight(re, word(params, 2 * ll), perTask, tasks, k, nOut, nIn, tmp, true, weightScratch);
        addInto(rp, tmp, n);
      }
      const below = word(errors, ll - 1), z = rzOffset(scratch, widths, rows, ll - 1);
      let i: usize = 0;
      for (; i + 4 <= n; i += 4) {
        const ai = v128.load(a + (i << 2));
        let v = f32x4.mul(v128.load(rp + (i << 2)), derivative4(ai, relu));
        if (!relu) v = f32x4.add(v, f32x4.mul(f32x4.mul(v128.load(below + (i << 2)), f32x4.mul(ai, f32x4.splat(-2))), v128.load(z + (i << 2))));
        v128.store(re + (i << 2), v);
      }
      for (; i < n; i++) {
        let v = f32At(rp, i) * derivative(f32At(a, i), relu);
        if (!relu) v = v + f32At(below, i) * (f32At(a, i) * -2) * f32At(z, i);
        setF32(re, i, v);
      }
      hasRe = true;
    }
  }
}
