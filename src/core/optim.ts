// Outer (meta) optimizers over a list of variables. Their state lives in
// variables too, so a step allocates nothing that outlives it, and it can be
// saved into a checkpoint and restored for an exact resume.
import * as tf from '@tensorflow/tfjs';
import type { NamedAttrMap } from '@tensorflow/tfjs';
import { ADAM, type AdamConstants } from '../kernels/adam.js';
import { simdKernels } from '../kernels/index.js';
import { putInputs } from '../kernels/inputs.js';
import { subtractScaled } from './ops.js';

export const META_OPTIMIZERS = ['sgd', 'adam'] as const;
export type MetaOptimizerName = (typeof META_OPTIMIZERS)[number];
export const META_LR_SCHEDULES = ['linear', 'cosine'] as const;

/** How the outer step size goes over a run: from metaLr to metaLrFinal (when set) along the schedule. */
export interface MetaLrSchedule {
  metaLr: number;
  metaLrFinal: number | null;
  metaLrSchedule: (typeof META_LR_SCHEDULES)[number];
  iterations: number;
}

export interface OptimizerState {
  step: number;
  /** Named state tensors as plain arrays, e.g. adam's m0..mN, v0..vN. */
  slots: { name: string; shape: number[]; values: Float32Array }[];
}

export interface MetaOptimizer {
  /** params <- params - update(grads), with step size lr. */
  apply(params: tf.Variable[], grads: tf.Tensor[], lr: number): void;
  state(): OptimizerState;
  restore(state: OptimizerState): void;
  dispose(): void;
}

function slotVariables(params: tf.Variable[]): tf.Variable[] {
  return params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
}

function exportSlots(names: string[], slots: tf.Variable[][]): OptimizerState['slots'] {
  return slots.flatMap((group, g) => group.map((v, i) => ({ name: `${names[g]}${i}`, shape: v.shape, values: v.dataSync() as Float32Array })));
}

function importSlots(names: string[], slots: tf.Variable[][], state: OptimizerState): void {
  const byName = new Map(state.slots.map((s) => [s.name, s]));
  slots.forEach((group, g) =>
    group.forEach((v, i) => {
      const saved = byName.get(`${names[g]}${i}`);
      if (!saved || saved.shape.join(',') !== v.shape.join(',')) throw new Error(`optimizer state: slot ${names[g]}${i} missing or of another shape`);
      tf.tidy(() => v.assign(tf.tensor(saved.values, saved.shape)));
    }),
  );
}

/** Plain gradient descent: theta <- theta - lr g. */
export function sgd(): MetaOptimizer {
  let step = 0;
  return {
    apply(params, grads, lr) {
      tf.tidy(() => subtractScaled(params, grads, lr).forEach((next, i) => params[i].assign(next)));
      step++;
    },
    state: () => ({ step, slots: [] }),
    restore(state) {
      step = state.step;
    },
    dispose() {},
  };
}

/** One Adam step of every parameter: [p', m', v'] per parameter, in one kernel (kernels/adam.ts). */
export function fusedAdam(params: tf.Tensor[], m: tf.Tensor[], v: tf.Tensor[], grads: tf.Tensor[], c: AdamConstants): tf.Tensor[][] {
  const inputs = putInputs(putInputs(putInputs(putInputs({}, 'p', params), 'm', m), 'v', v), 'g', grads);
  const out = tf.engine().runKernel(ADAM, inputs, { ...c, count: params.length } as unknown as NamedAttrMap) as tf.Tensor[];
  return params.map((_, i) => out.slice(3 * i, 3 * i + 3));
}

/** Adam (Kingma & Ba 2015) with bias correction, beta1 0.9, beta2 0.999, epsilon 1e-8 (PyTorch's and TF's defaults). */
export function adam(params: tf.Variable[], beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8): MetaOptimizer {
  const m = slotVariables(params);
  const v = slotVariables(params);
  let step = 0;
  return {
    apply(ps, grads, lr) {
      step++;
      const stepSize = (lr * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
      // epsilon scaled like PyTorch's: added to sqrt(v_hat), i.e. eps * sqrt(1 - beta2^t) to sqrt(v)
      const epsilonHat = epsilon * Math.sqrt(1 - beta2 ** step);
      if (simdKernels() && grads.every((g, i) => g.shape.join() === ps[i].shape.join())) {
        tf.tidy(() =>
          fusedAdam(ps, m, v, grads, { beta1, beta2, stepSize, epsilonHat }).forEach(([p, mi, vi], i) => {
            m[i].assign(mi);
            v[i].assign(vi);
            ps[i].assign(p);
          }),
        );
        return;
      }
      tf.tidy(() =>
        ps.forEach((p, i) => {
          const g = grads[i];
          m[i].assign(tf.add(tf.mul(m[i], beta1), tf.mul(g, 1 - beta1)));
          v[i].assign(tf.add(tf.mul(v[i], beta2), tf.mul(tf.square(g), 1 - beta2)));
          p.assign(tf.sub(p, tf.div(tf.mul(m[i], stepSize), tf.add(tf.sqrt(v[i]), epsilonHat))));
        }),
      );
    },
    state: () => ({ step, slots: exportSlots(['m', 'v'], [m, v]) }),
    restore(state) {
      step = state.step;
      importSlots(['m', 'v'], [m, v], state);
    },
    dispose() {
      tf.dispose([...m, ...v]);
    },
  };
}

export function createMetaOptimizer(name: MetaOptimizerName, params: tf.Variable[]): MetaOptimizer {
  return name === 'adam' ? adam(params) : sgd();
}

/**
 * Outer step size at an iteration: metaLr, annealed to metaLrFinal when set, linearly or along a half cosine
 * (Loshchilov & Hutter's SGDR without restarts, as MAML++ anneals its meta-optimizer; PyTorch's CosineAnnealingLR).
 */
export function metaLrAt(config: MetaLrSchedule, iteration: number): number {
  if (config.metaLrFinal === null || config.iterations <= 1) return config.metaLr;
  const done = Math.min(1, iteration / (config.iterations - 1));
  if (config.metaLrSchedule === 'cosine') return config.metaLrFinal + ((config.metaLr - config.metaLrFinal) * (1 + Math.cos(Math.PI * done))) / 2;
  return config.metaLr + (config.metaLrFinal - config.metaLr) * done;
}
