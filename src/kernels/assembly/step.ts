// A gradient step on a list of tensors at once: out_i = p_i - r_i (.) g_i, as tf.sub(p, tf.mul(g, r))
// does for each (the same two float32 operations per element). r_i is a scalar (an SGD step size, or
// 1 for a step already scaled) or a tensor of one copy's shape (Meta-SGD's learned rates); g_i may hold
// one copy per task ([tasks, ...shape]) while p_i is shared (one result per task) or per task too.
// args: per tensor 7 u32: p, g, r (0: the scalar), out (byte offsets), floats per copy, copies of g_i,
// and 1 when p_i has a copy per task.
import { word } from './args';

export function step(args: usize, count: usize, scalar: f32): void {
  const s = f32x4.splat(scalar);
  for (let i: usize = 0; i < count; i++) {
    const base: usize = 7 * i;
    const p = word(args, base), g = word(args, base + 1), r = word(args, base + 2), out = word(args, base + 3);
    const size = word(args, base + 4), copies = word(args, base + 5), pPerCopy = word(args, base + 6);
    for (let t: usize = 0; t < copies; t++) {
      const pt = p + ((pPerCopy * t * size) << 2);
      const gt = g + ((t * size) << 2);
      const ot = out + ((t * size) << 2);
      let j: usize = 0;
      for (; j + 4 <= size; j += 4) {
        const at = j << 2;
        const rate = r ? v128.load(r + at) : s;
        v128.store(ot + at, f32x4.sub(v128.load(pt + at), f32x4.mul(v128.load(gt + at), rate)));
      }
      for (; j < size; j++) {
        const at = j << 2;
        store<f32>(ot + at, load<f32>(pt + at) - load<f32>(gt + at) * (r ? load<f32>(r + at) : scalar));
      }
    }
  }
}
