// The matrix product every kernel is built on (AssemblyScript, compiled to WebAssembly SIMD).
//
//   C(i, j) = sum_p A(i, p) B(p, j)  [+ bias_j]  [relu],   i < m, j < n, p < k, float32
//
// A(i, p) = A[i * ars + p * acs]   any strides, so a transposed A costs nothing (it is read a scalar at a time);
// B(p, j) = B[p * ldb + j]         rows contiguous, read four columns at a time (callers repack a transposed B);
// C(i, j) = C[i * ldc + j].
//
// It sums in one of the two orders of TF.js's wasm backend (tfjs-backend-wasm 4.22,
// batch_mat_mul_impl.cc), so that a kernel built on it reproduces the built-in's bits:
// - SEQUENTIAL, XNNPACK's fully-connected operator (2-D products, neither side transposed):
//   acc = bias_j (or 0), then acc += A(i, p) B(p, j) for p = 0, 1, ..., k - 1; relu as XNNPACK clamps
//   (pmax(0, acc): NaN and -0 become 0);
// - BLOCKED, the built-in's own loop (batched or transposed products): partial sums over 48
//   consecutive p, each from 0, added to the total in turn; relu as its std::max (pmax(acc, 0)).
//   The built-in adds the bias and clamps after every block of 48, and indexes a 1-D bias by
//   row * n + j clamped to its last element (so rows after the first get bias[n - 1]); here
//   the bias is added once, per column, after the last block.
// Each element is one chain of float32 additions (no fused multiply-add), whatever the tiling:
// tiles of 4 rows x 8 columns keep 8 accumulators in registers and only change which elements
// are computed together.

export const SEQUENTIAL: i32 = 0;
export const BLOCKED: i32 = 1;
const BLOCK: i32 = 48;

@inline function at(base: usize, index: usize): usize {
  return base + (index << 2);
}

@inline function initial(bias: usize, j: usize): v128 {
  return bias ? v128.load(at(bias, j)) : f32x4.splat(0);
}

@inline function initialScalar(bias: usize, j: usize): f32 {
  return bias ? load<f32>(at(bias, j)) : 0;
}

/** Stores a finished tile column: first block (or the only one) as it is, later blocks added to the total so far. */
@inline function put(c: usize, v: v128, accumulate: bool): void {
  v128.store(c, accumulate ? f32x4.add(v128.load(c), v) : v);
}

@inline function putScalar(c: usize, v: f32, accumulate: bool): void {
  store<f32>(c, accumulate ? load<f32>(c) + v : v);
}

// The tiles: rows i..i+R-1, columns j..j+W-1, terms p0 <= p < p1, started from init
// (bias or 0), stored or added into C. Pointers advance by one term per step: A by acs, B by a row.
function tile4x8(a: usize, ars: usize, acs: usize, b: usize, ldb: usize, c: usize, ldc: usize, i: usize, j: usize, p0: usize, p1: usize, bias: usize, accumulate: bool): void {
  const lo = initial(bias, j);
  const hi = initial(bias, j + 4);
  let c00 = lo, c01 = hi, c10 = lo, c11 = hi, c20 = lo, c21 = hi, c30 = lo, c31 = hi;
  const rowStep = ars << 2, termStep = acs << 2, bStep = ldb << 2;
  let ap = at(a, i * ars + p0 * acs);
  let bp = at(b, p0 * ldb + j);
  for (let p = p0; p < p1; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    const a0 = f32x4.splat(load<f32>(ap));
    c00 = f32x4.add(c00, f32x4.mul(a0, b0));
    c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    const a1 = f32x4.splat(load<f32>(ap + rowStep));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0));
    c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    const a2 = f32x4.splat(load<f32>(ap + 2 * rowStep));
    c20 = f32x4.add(c20, f32x4.mul(a2, b0));
    c21 = f32x4.add(c21, f32x4.mul(a2, b1));
    const a3 = f32x4.splat(load<f32>(ap + 3 * rowStep));
    c30 = f32x4.add(c30, f32x4.mul(a3, b0));
    c31 = f32x4.add(c31, f32x4.mul(a3, b1));
    ap += termStep;
    bp += bStep;
  }
  const out = at(c, i * ldc + j);
  const step = ldc << 2;
  put(out, c00, accumulate);
  put(out + 16, c01, accumulate);
  put(out + step, c10, accumulate);
  put(out + step + 16, c11, accumulate);
  put(out + 2 * step, c20, accumulate);
  put(out + 2 * step + 16, c21, accumulate);
  put(out + 3 * step, c30, accumulate);
  put(out + 3 * step + 16, c31, accumulate);
}

function tile4x4(a: usize, ars: usize, acs: usize, b: usize, ldb: usize, c: usize, ldc: usize, i: usize, j: usize, p0: usize, p1: usize, bias: usize, accumulate: bool): void {
  const init = initial(bias, j);
  let c0 = init, c1 = init, c2 = init, c3 = init;
  const rowStep = ars << 2, termStep = acs << 2, bStep = ldb << 2;
  let ap = at(a, i * ars + p0 * acs);
  let bp = at(b, p0 * ldb + j);
  for (let p = p0; p < p1; p++) {
    const b0 = v128.load(bp);
    c0 = f32x4.add(c0, f32x4.mul(f32x4.splat(load<f32>(ap)), b0));
    c1 = f32x4.add(c1, f32x4.mul(f32x4.splat(load<f32>(ap + rowStep)), b0));
    c2 = f32x4.add(c2, f32x4.mul(f32x4.splat(load<f32>(ap + 2 * rowStep)), b0));
    c3 = f32x4.add(c3, f32x4.mul(f32x4.splat(load<f32>(ap + 3 * rowStep)), b0));
    ap += termStep;
    bp += bStep;
  }
  const out = at(c, i * ldc + j);
  const step = ldc << 2;
  put(out, c0, accumulate);
  put(out + step, c1, accumulate);
  put(out + 2 * step, c2, accumulate);
  put(out + 3 * step, c3, accumulate);
}

function tile1x8(a: usize, ars: usize, acs: usize, b: usize, ldb: usize, c: usize, ldc: usize, i: usize, j: usize, p0: usize, p1: usize, bias: usize, accumulate: bool): void {
  let c0 = initial(bias, j), c1 = initial(bias, j + 4);
  const termStep = acs << 2, bStep = ldb << 2;
  let ap = at(a, i * ars + p0 * acs);
  let bp = at(b, p0 * ldb + j);
  for (let p = p0; p < p1; p++) {
    const a0 = f32x4.splat(load<f32>(ap));
    c0 = f32x4.add(c0, f32x4.mul(a0, v128.load(bp)));
    c1 = f32x4.add(c1, f32x4.mul(a0, v128.load(bp, 16)));
    ap += termStep;
    bp += bStep;
  }
  const out = at(c, i * ldc + j);
  put(out, c0, accumulate);
  put(out + 16, c1, accumulate);
}

/** One row and four columns, or (wide = false: the columns that do not fill 4 lanes) one column. */
function tile1(a: usize, ars: usize, acs: usize, b: usize, ldb: usize, c: usize, ldc: usize, i: usize, j: usize, p0: usize, p1: usize, bias: usize, accumulate: bool, wide: bool): void {
  const termStep = acs << 2, bStep = ldb << 2;
  let ap = at(a, i * ars + p0 * acs);
  let bp = at(b, p0 * ldb + j);
  const out = at(c, i * ldc + j);
  if (wide) {
    let c0 = initial(bias, j);
    for (let p = p0; p < p1; p++, ap += termStep, bp += bStep) c0 = f32x4.add(c0, f32x4.mul(f32x4.splat(load<f32>(ap)), v128.load(bp)));
    put(out, c0, accumulate);
  } else {
    let c0 = initialScalar(bias, j);
    for (let p = p0; p < p1; p++, ap += termStep, bp += bStep) c0 += load<f32>(ap) * load<f32>(bp);
    putScalar(out, c0, accumulate);
  }
}

/** Every tile of C for the terms p0 <= p < p1. */
function tiles(a: usize, ars: usize, acs: usize, b: usize, ldb: usize, c: usize, ldc: usize, m: usize, n: usize, p0: usize, p1: usize, bias: usize, accumulate: bool): void {
  let i: usize = 0;
  for (; i + 4 <= m; i += 4) {
    let j: usize = 0;
    for (; j + 8 <= n; j += 8) tile4x8(a, ars, acs, b, ldb, c, ldc, i, j, p0, p1, bias, accumulate);
    for (; j + 4 <= n; j += 4) tile4x4(a, ars, acs, b, ldb, c, ldc, i, j, p0, p1, bias, accumulate);
    for (; j < n; j++) for (let r: usize = 0; r < 4; r++) tile1(a, ars, acs, b, ldb, c, ldc, i + r, j, p0, p1, bias, accumulate, false);
  }
  for (; i < m; i++) {
    let j: usize = 0;
    for (; j + 8 <= n; j += 8) tile1x8(a, ars, acs, b, ldb, c, ldc, i, j, p0, p1, bias, accumulate);
    for (; j + 4 <= n; j += 4) tile1(a, ars, acs, b, ldb, c, ldc, i, j, p0, p1, bias, accumulate, true);
    for (; j < n; j++) tile1(a, ars, acs, b, ldb, c, ldc, i, j, p0, p1, bias, accumulate, false);
  }
}

/** Adds the bias of each column once, and clamps at 0 for a relu: pmax(0, v) as XNNPACK, pmax(v, 0) as the built-in loop. */
function finish(c: usize, ldc: usize, m: usize, n: usize, bias: usize, relu: bool, order: i32): void {
  const zero = f32x4.splat(0);
  for (let i: usize = 0; i < m; i++) {
    const row = at(c, i * ldc);
    let j: usize = 0;
    for (; j + 4 <= n; j += 4) {
      let v = v128.load(at(row, j));
      if (bias) v = f32x4.add(v, v128.load(at(bias, j)));
      if (relu) v = order == SEQUENTIAL ? f32x4.pmax(zero, v) : f32x4.pmax(v, zero);
      v128.store(at(row, j), v);
    }
    for (; j < n; j++) {
      let v = load<f32>(at(row, j));
      if (bias) v += load<f32>(at(bias, j));
      if (relu) v = order == SEQUENTIAL ? (0 < v ? v : 0) : (v < 0 ? 0 : v);
      store<f32>(at(row, j), v);
    }
  }
}

/** C = A B (+ bias) (relu) in the given order; see the top of this file. k = 0 gives the bias (or 0). */
export function gemm(a: usize, ars: usize, acs: usize, b: usize, ldb: usize, c: usize, ldc: usize, m: usize, k: usize, n: usize, bias: usize, relu: bool, order: i32): void {
  if (order == SEQUENTIAL) {
    tiles(a, ars, acs, b, ldb, c, ldc, m, n, 0, k, bias, false);
    if (relu) finish(c, ldc, m, n, 0, true, order);
    return;
  }
  const block = <usize>BLOCK;
  tiles(a, ars, acs, b, ldb, c, ldc, m, n, 0, k < block ? k : block, 0, false);
  for (let p0 = block; p0 < k; p0 += block) tiles(a, ars, acs, b, ldb, c, ldc, m, n, p0, p0 + block < k ? p0 + block : k, 0, true);
  if (bias || relu) finish(c, ldc, m, n, bias, relu, order);
}

/** dst[j, i] = src[i, j] for an [rows, cols] matrix: the contiguous B a transposed operand needs. */
export function transpose(src: usize, dst: usize, rows: usize, cols: usize): void {
  for (let i: usize = 0; i < rows; i++) {
    for (let j: usize = 0; j < cols; j++) store<f32>(at(dst, j * rows + i), load<f32>(at(src, i * cols + j)));
  }
}
