// The MLP as a plain list of tensors [W1, b1, W2, b2, ...], W: [in, out], b: [out].
// The same functions take per-task copies (W: [tasks, in, out], b: [tasks, out]),
// which is what adaptation produces: one set of fast weights per task.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from './rng.js';

export const ACTIVATIONS = ['relu', 'tanh'] as const;
export const LOSSES = ['mse', 'l1'] as const;
export type Activation = (typeof ACTIVATIONS)[number];
export type LossKind = (typeof LOSSES)[number];
export type Params = tf.Tensor[];

/** Layer widths from input to output: inputs (1 for the sine MLP), ...hidden, 1. */
export function layerSizes(hidden: number[], inputs = 1): number[] {
  return [inputs, ...hidden, 1];
}

export function paramShapes(hidden: number[], inputs = 1): number[][] {
  const sizes = layerSizes(hidden, inputs);
  return sizes.slice(1).flatMap((out, i) => [[sizes[i], out], [out]]);
}

/**
 * The Flux post's `Linear` initialisation: weights and biases uniform in
 * +-sqrt(1/fan_in). Drawn in JavaScript from the Rng so every backend starts equal.
 */
export function initParams(hidden: number[], rng: Rng, inputs = 1): Params {
  const shapes = paramShapes(hidden, inputs);
  return shapes.map((shape, i) => {
    const fanIn = shapes[i - (i % 2)][0]; // a bias takes its weight's fan-in
    const bound = Math.sqrt(1 / fanIn);
    const size = shape.reduce((a, b) => a * b, 1);
    return tf.tensor(Float32Array.from({ length: size }, () => rng.uniform(-bound, bound)), shape);
  });
}

/**
 * tanh whose gradient is recomputed from its input. tf.tanh saves its output for the
 * backward pass, and TF.js then drops it from an outer tape: its second-order gradient is
 * silently wrong (tfjs issue 3252, shared/TFJS-NOTES.md). This one is exact to any order.
 */
const tanhTwiceDifferentiable = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.tanh(x),
    gradFunc: (dy, saved) => {
      const t = tf.tanh(saved[0]);
      return tf.mul(dy, tf.sub(1, tf.square(t)));
    },
  };
});

export function activate(h: tf.Tensor, activation: Activation): tf.Tensor {
  return activation === 'relu' ? tf.relu(h) : (tanhTwiceDifferentiable(h) as tf.Tensor);
}

/** Whether params hold one copy per task ([tasks, in, out]) rather than one shared copy. */
export function isPerTask(params: Params): boolean {
  return params[0].rank === 3;
}

/**
 * Forward pass of a batch of tasks, keeping every layer's output:
 * h[0] = x [tasks, points, in], h[l + 1] = act(h[l] W_l + b_l) (no activation on the last), each [tasks, points, width].
 * Each layer in its own layout: a shared layer runs all tasks' points as the rows of one 2-D matMul, a
 * per-task one ([tasks, in, out], as adaptation makes it) one batched matMul (ANIL adapts the head alone:
 * a shared body, a per-task head).
 */
export function forwardLayers(params: Params, x: tf.Tensor3D, activation: Activation): tf.Tensor3D[] {
  const [tasks, points] = x.shape;
  const layers = params.length / 2;
  const outputs: tf.Tensor3D[] = [x];
  let rows: tf.Tensor2D | null = null; // the last output as [tasks * points, width], while the layers are shared
  for (let i = 0; i < layers; i++) {
    const [w, b] = [params[2 * i], params[2 * i + 1]];
    const hiddenLayer = i < layers - 1;
    const h = outputs[i];
    if (w.rank === 3) {
      const z = tf.add(tf.matMul(h, w as tf.Tensor3D), tf.expandDims(b, 1)); // [tasks, points, out]
      outputs.push((hiddenLayer ? activate(z, activation) : z) as tf.Tensor3D);
      rows = null;
    } else {
      const input: tf.Tensor2D = rows ?? (tf.reshape(h, [tasks * points, h.shape[2]]) as tf.Tensor2D);
      // the last shared layer before per-task ones (ANIL's body before its head) takes its activation apart, on
      // [tasks, points, width]: the features as ANIL's adaptation computes them for the support points
      const beforePerTask = hiddenLayer && params[2 * i + 2].rank === 3;
      const fusedActivation = hiddenLayer && !beforePerTask;
      // [tasks * points, out], computed as a Keras Dense layer does (tfjs-layers' Dense.call):
      // relu and linear fused with the bias into one kernel, tanh as matMul, add, tanh. So
      // tf.loadLayersModel on a checkpoint predicts these very values, bit for bit.
      const out: tf.Tensor = fusedActivation && activation === 'tanh' ? activate(tf.add(tf.matMul(input, w as tf.Tensor2D), b), activation) : tf.fused.matMul({ a: input, b: w as tf.Tensor2D, bias: b, activation: fusedActivation ? 'relu' : 'linear' });
      const next = tf.reshape(out, [tasks, points, w.shape[1]!]) as tf.Tensor3D;
      outputs.push(beforePerTask ? (activate(next, activation) as tf.Tensor3D) : next);
      rows = beforePerTask ? null : (out as tf.Tensor2D);
    }
  }
  return outputs;
}

/** Forward pass of a batch of tasks, x: [tasks, points, in] -> [tasks, points, 1]. */
export function forward(params: Params, x: tf.Tensor3D, activation: Activation): tf.Tensor3D {
  return forwardLayers(params, x, activation)[params.length / 2];
}

/**
 * d act(z) / dz written with the layer's output h = act(z), so the backward pass needs no
 * pre-activation: relu' = step(h), tanh' = 1 - h^2. Both are differentiable again (step's
 * gradient is zero, h comes from the twice-differentiable tanh), as MAML needs.
 */
export function activationDerivative(h: tf.Tensor, activation: Activation): tf.Tensor {
  return activation === 'relu' ? tf.step(h) : tf.sub(1, tf.square(h));
}

/** Per-task loss [tasks]: the mean over each task's points of (pred - y)^2 or |pred - y|. */
export function taskLosses(pred: tf.Tensor3D, y: tf.Tensor3D, kind: LossKind): tf.Tensor1D {
  return residualLosses(tf.sub(pred, y), kind);
}

/** Per-task loss [tasks] from the residual pred - y [tasks, points, 1]. */
export function residualLosses(residual: tf.Tensor, kind: LossKind): tf.Tensor1D {
  return tf.mean(kind === 'l1' ? tf.abs(residual) : tf.square(residual), [1, 2]) as tf.Tensor1D;
}

/**
 * The MLP as a function of its d inputs x alone, with its other inputs (CAVIA's context, after x) at zero: the first
 * layer keeps its rows for x, W1 [d + c, out] -> [d, out]. An MLP of x alone is returned as it is.
 */
export function atZeroContext(params: Params, inputs: number): Params {
  return params[0].shape[0] === inputs ? params : [tf.slice(params[0], [0, 0], [inputs, -1]), ...params.slice(1)];
}

/** One copy of each parameter per task: [tasks, ...shape]. Its gradient reduces with one Sum. */
export function perTaskCopies(params: Params, tasks: number): Params {
  return params.map((p) => tf.add(p, tf.zeros([tasks, ...p.shape])));
}
