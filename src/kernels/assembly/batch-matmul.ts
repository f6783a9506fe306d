// BatchMatMul and _FusedMatMul, the products of TF.js: for every batch index t < max(batchA, batchB),
//   out[t] = op(A[t % batchA]) op(B[t % batchB])  (+ bias)  (relu)
// with op a transpose where asked; A: [batchA, m, k] (transposed: [batchA, k, m]), B: [batchB, k, n]
// (transposed: [batchB, n, k]), out: [batch, m, n], bias: [n] or none (0), float32 row-major.
// Summed in the built-in's order (gemm.ts): sequentially when both batches are 1 and nothing is
// transposed (XNNPACK's case), else in blocks of 48. A transposed B is repacked into scratch
// (k * n floats) once per batch index it changes at.
import { BLOCKED, gemm, SEQUENTIAL, transpose } from './gemm';

export function batchMatMul(a: usize, b: usize, out: usize, batchA: i32, batchB: i32, m: i32, k: i32, n: i32, transposeA: bool, transposeB: bool, bias: usize, relu: bool, scratch: usize): void {
  const order = !transposeA && !transposeB && batchA == 1 && batchB == 1 ? SEQUENTIAL : BLOCKED;
  const mm = <usize>m, kk = <usize>k, nn = <usize>n;
  const batch = batchA > batchB ? batchA : batchB;
  const ars: usize = transposeA ? 1 : kk;
  const acs: usize = transposeA ? mm : 1;
  for (let t = 0; t < batch; t++) {
    const at = a + ((<usize>(t % batchA) * mm * kk) << 2);
    let bt = b + ((<usize>(t % batchB) * kk * nn) << 2);
    if (transposeB) {
      if (t < batchB) transpose(bt, scratch, nn, kk); // B[t] is [n, k]; the same one again when B broadcasts
      bt = scratch;
    }
    gemm(at, ars, acs, bt, nn, out + ((<usize>t * mm * nn) << 2), nn, mm, kk, nn, bias, relu, order);
  }
}
