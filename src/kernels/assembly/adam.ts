// One Adam step (Kingma & Ba 2015) over every parameter at once, as src/optim.ts's adam() runs it
// in 11 TF.js kernels per parameter, with the same float32 operations:
//   m' = m b1 + g (1 - b1);  v' = v b2 + g^2 (1 - b2);  p' = p - (m' stepSize) / (sqrt(v') + epsilonHat)
// stepSize = lr sqrt(1 - b2^t) / (1 - b1^t) and epsilonHat = epsilon sqrt(1 - b2^t), computed by
// the caller in double precision and rounded to float32, as TF.js rounds a JS number to a scalar.
// args: per parameter 8 u32: p, m, v, g, p', m', v' (byte offsets) and its size (floats).
import { word } from './args';

export function adam(args: usize, count: usize, beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, stepSize: f32, epsilonHat: f32): void {
  const b1 = f32x4.splat(beta1), c1 = f32x4.splat(oneMinusBeta1);
  const b2 = f32x4.splat(beta2), c2 = f32x4.splat(oneMinusBeta2);
  const lr = f32x4.splat(stepSize), eps = f32x4.splat(epsilonHat);
  for (let i: usize = 0; i < count; i++) {
    const base: usize = 8 * i;
    const p = word(args, base), m = word(args, base + 1), v = word(args, base + 2), g = word(args, base + 3);
    const pOut = word(args, base + 4), mOut = word(args, base + 5), vOut = word(args, base + 6), size = word(args, base + 7);
    let j: usize = 0;
    for (; j + 4 <= size; j += 4) {
      const at = j << 2;
      const gj = v128.load(g + at);
      const mj = f32x4.add(f32x4.mul(v128.load(m + at), b1), f32x4.mul(gj, c1));
      const vj = f32x4.add(f32x4.mul(v128.load(v + at), b2), f32x4.mul(f32x4.mul(gj, gj), c2));
      v128.store(mOut + at, mj);
      v128.store(vOut + at, vj);
      v128.store(pOut + at, f32x4.sub(v128.load(p + at), f32x4.div(f32x4.mul(mj, lr), f32x4.add(f32x4.sqrt(vj), eps))));
    }
    for (; j < size; j++) {
      const at = j << 2;
      const gj = load<f32>(g + at);
      const mj = load<f32>(m + at) * beta1 + gj * oneMinusBeta1;
      const vj = load<f32>(v + at) * beta2 + gj * gj * oneMinusBeta2;
      store<f32>(mOut + at, mj);
      store<f32>(vOut + at, vj);
      store<f32>(pOut + at, load<f32>(p + at) - (mj * stepSize) / (Mathf.sqrt(vj) + epsilonHat));
    }
  }
}
