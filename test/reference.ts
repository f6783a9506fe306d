// An independent float64 reference of the MAML meta-loss for an MLP, written out
// by hand (forward pass and backpropagation in plain loops, as in the numpy post),
// so that finite differences can be taken at h = 1e-6 without float32 noise and
// without crossing ReLU kinks.

export type Mat = { rows: number; cols: number; v: Float64Array };
export type RefParams = Mat[]; // [W1 [in,out], b1 [1,out], W2, b2, ...]

export function fromArrays(values: ArrayLike<number>[], shapes: number[][]): RefParams {
  return values.map((v, i) => ({ rows: shapes[i].length === 2 ? shapes[i][0] : 1, cols: shapes[i].at(-1)!, v: Float64Array.from(v) }));
}

type Act = 'relu' | 'tanh';
const act = (z: number, a: Act) => (a === 'relu' ? Math.max(0, z) : Math.tanh(z));
const dact = (z: number, a: Act) => (a === 'relu' ? (z > 0 ? 1 : 0) : 1 - Math.tanh(z) ** 2);

/** Output and pre-activations for one scalar input. */
function forwardOne(p: RefParams, x: number, a: Act): { out: number; pre: Float64Array[]; post: Float64Array[] } {
  let h = Float64Array.of(x);
  const pre: Float64Array[] = [];
  const post: Float64Array[] = [h];
  const layers = p.length / 2;
  for (let l = 0; l < layers; l++) {
    const w = p[2 * l];
    const b = p[2 * l + 1];
    const z = new Float64Array(w.cols);
    for (let j = 0; j < w.cols; j++) {
      let s = b.v[j];
      for (let i = 0; i < w.rows; i++) s += h[i] * w.v[i * w.cols + j];
      z[j] = s;
    }
    pre.push(z);
    h = l < layers - 1 ? z.map((v) => act(v, a)) : z;
    post.push(h);
  }
  return { out: h[0], pre, post };
}

export function lossOf(p: RefParams, xs: number[], ys: number[], a: Act, kind: 'mse' | 'l1'): number {
  let s = 0;
  xs.forEach((x, i) => {
    const d = forwardOne(p, x, a).out - ys[i];
    s += kind === 'l1' ? Math.abs(d) : d * d;
  });
  return s / xs.length;
}

/** Gradient of the mean loss over (xs, ys) by backpropagation. */
export function gradOf(p: RefParams, xs: number[], ys: number[], a: Act, kind: 'mse' | 'l1'): RefParams {
  const g = p.map((m) => ({ ...m, v: new Float64Array(m.v.length) }));
  const layers = p.length / 2;
  xs.forEach((x, n) => {
    const { out, pre, post } = forwardOne(p, x, a);
    const d = out - ys[n];
    let delta = Float64Array.of((kind === 'l1' ? Math.sign(d) : 2 * d) / xs.length);
    for (let l = layers - 1; l >= 0; l--) {
      if (l < layers - 1) delta = delta.map((v, j) => v * dact(pre[l][j], a));
      const w = p[2 * l];
      for (let i = 0; i < w.rows; i++) for (let j = 0; j < w.cols; j++) g[2 * l].v[i * w.cols + j] += post[l][i] * delta[j];
      for (let j = 0; j < w.cols; j++) g[2 * l + 1].v[j] += delta[j];
      const back = new Float64Array(w.rows);
      for (let i = 0; i < w.rows; i++) for (let j = 0; j < w.cols; j++) back[i] += w.v[i * w.cols + j] * delta[j];
      delta = back;
    }
  });
  return g;
}

export interface RefTask {
  sx: number[];
  sy: number[];
  qx: number[];
  qy: number[];
}

/** Mean over tasks of the query loss after `steps` SGD steps of size lr on the support loss. */
export function refMetaLoss(p: RefParams, tasks: RefTask[], steps: number, lr: number, a: Act, kind: 'mse' | 'l1'): number {
  let total = 0;
  for (const t of tasks) {
    let fast = p;
    for (let s = 0; s < steps; s++) {
      const g = gradOf(fast, t.sx, t.sy, a, kind);
      fast = fast.map((m, i) => ({ ...m, v: m.v.map((v, k) => v - lr * g[i].v[k]) }));
    }
    total += lossOf(fast, t.qx, t.qy, a, kind);
  }
  return total / tasks.length;
}
