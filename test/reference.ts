// An independent float64 reference of the MAML, Meta-SGD, DAML, MAML++ and CAVIA meta-losses for an
// MLP, written out by hand (forward pass and backpropagation in plain loops, as in the
// numpy post), so that finite differences can be taken at h = 1e-6 without float32
// noise and without crossing ReLU kinks.
import { Rng } from '../src/core/rng.js';

export type Mat = { rows: number; cols: number; v: Float64Array };
export type RefParams = Mat[]; // [W1 [in,out], b1 [1,out], W2, b2, ...]

export function fromArrays(values: ArrayLike<number>[], shapes: number[][]): RefParams {
  return values.map((v, i) => ({ rows: shapes[i].length === 2 ? shapes[i][0] : 1, cols: shapes[i].at(-1)!, v: Float64Array.from(v) }));
}

type Act = 'relu' | 'tanh';
const act = (z: number, a: Act) => (a === 'relu' ? Math.max(0, z) : Math.tanh(z));
const dact = (z: number, a: Act) => (a === 'relu' ? (z > 0 ? 1 : 0) : 1 - Math.tanh(z) ** 2);

type Forward = { out: number; pre: Float64Array[]; post: Float64Array[] };

/** Output, pre-activations and layer outputs (post[0] = the input) for one input. */
function forwardOne(p: RefParams, x: number | Float64Array, a: Act): Forward {
  let h = typeof x === 'number' ? Float64Array.of(x) : x;
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

const zerosLike = (p: RefParams): RefParams => p.map((m) => ({ ...m, v: new Float64Array(m.v.length) }));

/**
 * Backpropagation of one input's forward pass: adds to g the gradient of a loss whose
 * derivative is dOut at the output and dPost[l] at hidden output post[l] (DAML's learned
 * loss reads them); returns the derivative at the input.
 */
function backwardOne(p: RefParams, f: Forward, a: Act, dOut: number, g: RefParams, dPost: Float64Array[] = []): Float64Array {
  let delta = Float64Array.of(dOut);
  for (let l = p.length / 2 - 1; l >= 0; l--) {
    if (l < p.length / 2 - 1) delta = delta.map((v, j) => v * dact(f.pre[l][j], a));
    const w = p[2 * l];
    for (let i = 0; i < w.rows; i++) for (let j = 0; j < w.cols; j++) g[2 * l].v[i * w.cols + j] += f.post[l][i] * delta[j];
    for (let j = 0; j < w.cols; j++) g[2 * l + 1].v[j] += delta[j];
    const back = new Float64Array(w.rows);
    for (let i = 0; i < w.rows; i++) for (let j = 0; j < w.cols; j++) back[i] += w.v[i * w.cols + j] * delta[j];
    if (dPost[l]) for (let i = 0; i < w.rows; i++) back[i] += dPost[l][i];
    delta = back;
  }
  return delta;
}

/** Gradient of the mean loss over (xs, ys) by backpropagation. */
export function gradOf(p: RefParams, xs: number[], ys: number[], a: Act, kind: 'mse' | 'l1'): RefParams {
  const g = zerosLike(p);
  xs.forEach((x, n) => {
    const f = forwardOne(p, x, a);
    const d = f.out - ys[n];
    backwardOne(p, f, a, (kind === 'l1' ? Math.sign(d) : 2 * d) / xs.length, g);
  });
  return g;
}

export interface RefTask {
  sx: number[];
  sy: number[];
  qx: number[];
  qy: number[];
}

/** p - lr g, with lr one number (SGD) or one per parameter (Meta-SGD's rates). */
const descend = (p: RefParams, g: RefParams, lr: number | RefParams): RefParams =>
  p.map((m, i) => ({ ...m, v: m.v.map((v, k) => v - (typeof lr === 'number' ? lr : lr[i].v[k]) * g[i].v[k]) }));

/** Mean over tasks of the query loss after `steps` SGD steps of size lr (or rates lr) on the support loss. */
export function refMetaLoss(p: RefParams, tasks: RefTask[], steps: number, lr: number | RefParams, a: Act, kind: 'mse' | 'l1'): number {
  let total = 0;
  for (const t of tasks) {
    let fast = p;
    for (let s = 0; s < steps; s++) fast = descend(fast, gradOf(fast, t.sx, t.sy, a, kind), lr);
    total += lossOf(fast, t.qx, t.qy, a, kind);
  }
  return total / tasks.length;
}

export interface RefDamlTask {
  /** the unlabeled inputs of each inner step */
  sources: number[][];
  qx: number[];
  qy: number[];
}

/**
 * Gradient of DAML's learned loss mean_u |N(f(u), h_{L-1}(u), ..., h_1(u))| with respect to
 * the MLP p: backpropagation through the ReLU network N to its input, then through the MLP
 * from its output and from each hidden layer N reads.
 */
function adaptationGrad(p: RefParams, net: RefParams, us: number[], a: Act): RefParams {
  const g = zerosLike(p);
  const layers = p.length / 2;
  for (const u of us) {
    const f = forwardOne(p, u, a);
    const hidden = f.post.slice(1, layers).reverse(); // h_{L-1}, ..., h_1
    const features = Float64Array.from([f.out, ...hidden.flatMap((h) => [...h])]);
    const n = forwardOne(net, features, 'relu');
    const dFeatures = backwardOne(net, n, 'relu', Math.sign(n.out) / us.length, zerosLike(net));
    const dPost: Float64Array[] = [];
    let offset = 1;
    for (let l = layers - 1; l >= 1; l--) {
      dPost[l] = dFeatures.slice(offset, offset + f.post[l].length);
      offset += f.post[l].length;
    }
    backwardOne(p, f, a, dFeatures[0], g, dPost);
  }
  return g;
}

/** DAML's meta-loss: mean over tasks of the query loss after a step of size lr down the learned loss per set of sources. */
export function refDamlMetaLoss(p: RefParams, net: RefParams, tasks: RefDamlTask[], lr: number, a: Act, kind: 'mse' | 'l1'): number {
  let total = 0;
  for (const t of tasks) {
    const fast = t.sources.reduce((q, us) => descend(q, adaptationGrad(q, net, us, a), lr), p);
    total += lossOf(fast, t.qx, t.qy, a, kind);
  }
  return total / tasks.length;
}

/**
 * Directional derivatives along random directions: those of the analytic gradient
 * (values per tensor, flattened) against central differences of the reference loss.
 */
export function directionalDerivatives(grads: number[][], base: number[][], loss: (values: number[][]) => number, directions = 6, h = 1e-6): { analytic: number[]; numeric: number[] } {
  const rng = new Rng('directions');
  const analytic: number[] = [];
  const numeric: number[] = [];
  for (let d = 0; d < directions; d++) {
    const dirs = base.map((v) => v.map(() => rng.uniform(-1, 1)));
    analytic.push(grads.reduce((s, g, i) => s + g.reduce((acc, v, k) => acc + v * dirs[i][k], 0), 0));
    const at = (step: number) => loss(base.map((v, i) => v.map((x, k) => x + step * dirs[i][k])));
    numeric.push((at(h) - at(-h)) / (2 * h));
  }
  return { analytic, numeric };
}

/**
 * MAML++'s meta-loss: sum over steps s of weights[s] times the mean over tasks of the query loss after step s + 1,
 * each step at its own rate per parameter tensor, rates[s][i].
 */
export function refMultiStepMetaLoss(p: RefParams, tasks: RefTask[], rates: number[][], weights: number[], a: Act, kind: 'mse' | 'l1'): number {
  let total = 0;
  for (const t of tasks) {
    let fast = p;
    rates.forEach((r, s) => {
      fast = descend(fast, gradOf(fast, t.sx, t.sy, a, kind), fast.map((m, i) => ({ ...m, v: m.v.map(() => r[i]) })));
      total += weights[s] * lossOf(fast, t.qx, t.qy, a, kind);
    });
  }
  return total / tasks.length;
}

/** The loss of a network over [x, context] inputs on (xs, ys), and its gradient with respect to the context. */
function contextLoss(p: RefParams, c: Float64Array, xs: number[], ys: number[], a: Act, kind: 'mse' | 'l1'): { loss: number; grad: Float64Array } {
  const grad = new Float64Array(c.length);
  let loss = 0;
  xs.forEach((x, n) => {
    const f = forwardOne(p, Float64Array.from([x, ...c]), a);
    const d = f.out - ys[n];
    loss += (kind === 'l1' ? Math.abs(d) : d * d) / xs.length;
    const dInput = backwardOne(p, f, a, (kind === 'l1' ? Math.sign(d) : 2 * d) / xs.length, zerosLike(p));
    for (let j = 0; j < c.length; j++) grad[j] += dInput[1 + j];
  });
  return { loss, grad };
}

/** CAVIA's meta-loss: mean over tasks of the query loss after `steps` steps of size lr on the context (from zero) alone. */
export function refCaviaMetaLoss(p: RefParams, tasks: RefTask[], context: number, steps: number, lr: number, a: Act, kind: 'mse' | 'l1'): number {
  let total = 0;
  for (const t of tasks) {
    let c = new Float64Array(context);
    for (let s = 0; s < steps; s++) {
      const { grad } = contextLoss(p, c, t.sx, t.sy, a, kind);
      c = c.map((v, j) => v - lr * grad[j]);
    }
    total += contextLoss(p, c, t.qx, t.qy, a, kind).loss;
  }
  return total / tasks.length;
}
