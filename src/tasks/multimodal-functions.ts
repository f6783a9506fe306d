// The multimodal regression family of Vuorio, Sun, Hu and Lim, "Multimodal Model-Agnostic
// Meta-Learning via Task-Aware Modulation" (NeurIPS 2019), as their code draws it:
// vuoristo/MMAML-Regression @ 1a8bea4, maml/datasets/simple_functions.py (the formulas and ranges)
// and main.py + README.md (the ranges passed in, the noise, the shots). A pure sampler: no TF.js,
// safe in a browser; the draw of a task is a function of the Rng alone.
// One difference: there each meta-batch holds exactly meta_batch_size / modes tasks of each mode
// (e.g. FiveFunctionsMetaDataset._generate_batch, lines 491-546); here each task draws its mode
// uniformly, so the modes are equally likely but a batch is not exactly balanced.
import type { Rng } from '../core/rng.js';

/** The five kinds, in the order of the code's task_id (0 sinusoid ... 4 abs, i.e. the l1 norm). */
export const MULTIMODAL_KINDS = ['sinusoid', 'linear', 'quadratic', 'tanh', 'l1norm'] as const;
export type MultimodalKind = (typeof MULTIMODAL_KINDS)[number];

export interface MultimodalTask {
  kind: MultimodalKind;
  params: Record<string, number>;
}

/** The modes of the paper's 2-, 3- and 5-mode settings: the datasets `mixed`, `many` and `five` (main.py 75-131). */
export const MULTIMODAL_MODE_SETS: Readonly<Record<2 | 3 | 5, readonly MultimodalKind[]>> = {
  2: ['sinusoid', 'linear'], // MixedFunctionsMetaDataset, simple_functions.py 244-274
  3: ['sinusoid', 'linear', 'quadratic'], // ManyFunctionsMetaDataset, 308-353
  5: ['sinusoid', 'linear', 'quadratic', 'tanh', 'l1norm'], // FiveFunctionsMetaDataset, 491-547
};

/** Inputs are uniform in [-5, 5) for every kind (main.py 328, simple_functions.py 14, 34, 174, 426, 446). */
export const MULTIMODAL_X_RANGE: readonly [number, number] = [-5, 5];

/**
 * Gaussian observation noise, std 0.3 (every README.md command passes --noise-std 0.3; main.py 338
 * defaults to 0). It is added to the outputs of all points of a task (simple_functions.py 544-545,
 * 271-272, 350-351) before they are split into query (the first 5) and support (the rest) (75-81):
 * both the support and the query targets are noisy, and the reported MSE is against noisy targets.
 */
export const MULTIMODAL_NOISE_STD = 0.3;

/** The rest of the protocol of README.md's commands, for whoever trains on this family. */
export const MULTIMODAL_PROTOCOL = {
  support: 5, // --num-samples-per-class 10 points, of which --num-val-samples 5 are the query
  query: 5,
  innerSteps: 5, // --num-updates 5
  innerLr: 0.001, // --fast-lr 0.001 (plain SGD, metalearner.py 100)
  hidden: [100, 100, 100], // --hidden-sizes, ReLU (fully_connected.py 17), no batch norm
  metaBatch: { 2: 50, 3: 75, 5: 125 }, // 25 tasks of each mode
  iterations: 70_000, // --num-batches
  outerLr: 0.001, // Adam, main.py 300 default
} as const;

/** Each parameter's range, [lo, hi) (simple_functions.py and main.py 328-337); the quadratic's sign is -1 or 1. */
export const MULTIMODAL_PARAM_RANGES: Readonly<Record<MultimodalKind, Readonly<Record<string, readonly [number, number]>>>> = {
  sinusoid: { amplitude: [0.1, 5], phase: [0, Math.PI] }, // amp * sin(x - phase), line 16
  linear: { slope: [-3, 3], intercept: [-3, 3] }, // slope * x + intercept, line 36
  quadratic: { center: [-3, 3], bias: [-3, 3], alpha: [0.02, 0.15], sign: [-1, 1] }, // sign * alpha * (x - center)^2 + bias, 162-176
  tanh: { center: [-3, 3], bias: [-3, 3], slope: [-3, 3] }, // slope * tanh(x - center) + bias, 417-428
  l1norm: { slope: [-3, 3], bias: [-3, 3], center: [-3, 3] }, // slope * |x - center| + bias, 439-448
};

/** One task of the given kind; parameters drawn in the code's order. */
function sampleParams(rng: Rng, kind: MultimodalKind): Record<string, number> {
  const ranges = MULTIMODAL_PARAM_RANGES[kind];
  const params: Record<string, number> = {};
  for (const [name, [lo, hi]] of Object.entries(ranges)) params[name] = name === 'sign' ? (rng.int(2) === 0 ? -1 : 1) : rng.uniform(lo, hi);
  return params;
}

/** count tasks, each of a mode drawn uniformly from modes, then its parameters. */
export function sampleMultimodalTasks(rng: Rng, modes: readonly MultimodalKind[], count: number): MultimodalTask[] {
  if (modes.length === 0) throw new Error('sampleMultimodalTasks needs at least one mode');
  return Array.from({ length: count }, () => {
    const kind = modes[rng.int(modes.length)];
    return { kind, params: sampleParams(rng, kind) };
  });
}

/** The task's function at x, without noise. */
export function multimodalValue(task: MultimodalTask, x: number): number {
  const p = task.params;
  switch (task.kind) {
    case 'sinusoid':
      return p.amplitude * Math.sin(x - p.phase);
    case 'linear':
      return p.slope * x + p.intercept;
    case 'quadratic':
      return p.sign * p.alpha * (x - p.center) ** 2 + p.bias;
    case 'tanh':
      return p.slope * Math.tanh(x - p.center) + p.bias;
    case 'l1norm':
      return p.slope * Math.abs(x - p.center) + p.bias;
  }
}
