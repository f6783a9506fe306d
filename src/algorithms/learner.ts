// What an algorithm is to the rest of metalearn: the shared options it reads, its own options,
// defaults and checks, and how it turns a meta-batch into a meta-gradient.
import * as tf from '@tensorflow/tfjs';
import type { AdaptOptions } from '../core/adapt.js';
import type { SHARED_OPTIONS, TrainConfig } from '../config/config.js';
import type { AdaptStep, EvalSet } from '../core/fine-tune.js';
import type { Params } from '../core/model.js';
import type { OptionTable } from '../options/option.js';
import type { Rng } from '../core/rng.js';
import type { PointSet, SineTask } from '../core/tasks.js';

export type SharedKey = keyof typeof SHARED_OPTIONS;

/** Shared options every algorithm reads: the task family, the MLP, its fine-tuning and its validation. */
export const ALWAYS_USED = ['description', 'algo', 'seed', 'hidden', 'activation', 'amplitude', 'phase', 'phases', 'frequency', 'xRange', 'loss', 'innerLr', 'valTasks', 'valSamples', 'valUpdates'] as const satisfies readonly SharedKey[];
/** Shared options of every algorithm that trains: the loop and the meta-optimizer. */
export const TRAINING = ['iterations', 'metaBatch', 'metaOptimizer', 'metaLr', 'metaLrFinal', 'metaLrSchedule', 'clipGrad', 'logEvery', 'evalEvery', 'checkpointEvery'] as const satisfies readonly SharedKey[];

/** What one meta-iteration trains on: the tasks, support [tasks, k, 1] and, for learners that use it, query [tasks, q, 1]. */
export interface MetaBatch {
  tasks: SineTask[];
  support: PointSet;
  query: PointSet | null;
}

/** The outer objective's value and the direction the meta-optimizer steps against, one per param. */
export interface MetaGradient {
  loss: tf.Scalar;
  grads: tf.Tensor[];
}

/** Learned tensors beyond the MLP, by group name (meta-sgd's `rates`, daml's `adaptationNet`). */
export type Extras = Record<string, tf.Tensor[]>;

/** One group of extra learned tensors: their shapes, and how to draw their initial values. */
export interface ExtraGroup {
  shapes: number[][];
  init(rng: Rng): tf.Tensor[];
}

/**
 * How a model adapts to a task: SGD on its support points (all its weights), at learned rates (Meta-SGD's per
 * parameter, MAML++'s per layer and step), down DAML's learned loss at unlabeled inputs, SGD on the head alone
 * (ANIL), or SGD on the context inputs alone (CAVIA).
 */
export type Adaptation = 'sgd' | 'learned rates' | 'learned loss' | 'head only' | 'context';

/**
 * How validation, `eval` and the page adapt each task, when not by plain SGD on every weight: the whole of a learner's own
 * adaptation. Fine-tuning starts from per-task copies of the MLP at zero context (model.ts atZeroContext) and
 * takes `step` once per update.
 */
export interface FineTuning {
  step: AdaptStep;
  adaptation: Exclude<Adaptation, 'sgd'>;
  /** When a step reads inputs other than the support points (daml's unlabeled ones): those of update u, [tasks * n], the values the step uses (the page draws them). */
  inputs?(set: EvalSet, update: number): Float32Array;
}

/** What a learner's fine-tuning is made from: the trained MLP (all of its inputs) and the learner's own tensors. */
export interface TrainedModel {
  params: Params;
  extras: Extras;
}

/** What a meta-iteration works on: the learned tensors, their optimizer, the run's random stream and config. */
export interface MetaState {
  config: TrainConfig;
  params: tf.Variable[];
  /** The learner's own learned tensors by group (empty for most). */
  extras: Record<string, tf.Variable[]>;
  rng: Rng;
}

export interface MetaLearner {
  /** The shared options it reads beyond ALWAYS_USED (`query` means it samples query points). */
  uses: readonly SharedKey[];
  /** Its own options (their keys must not clash with another algorithm's unless it is the same option). */
  options?: OptionTable;
  /** Its defaults where they differ from the shared ones. */
  defaults?: Partial<TrainConfig>;
  /** Its checks of a whole config: refuse(key, message) for each problem. */
  check?(config: TrainConfig, refuse: (key: string, message: string) => void): void;
  /** Its own learned tensors, meta-trained beside the MLP by the same optimizer and saved with it. */
  extras?(config: TrainConfig): Record<string, ExtraGroup>;
  /** Inputs of the MLP after x (CAVIA's context): its first layer then takes 1 + this many. Absent: none. */
  contextInputs?(config: TrainConfig): number;
  /**
   * The meta-gradient of a batch at a meta-iteration (0 for the first; learners with schedules read it): one grad
   * per MLP param, then one per extra tensor, in the order of extras(config). Absent: it does not train (random).
   */
  metaGradient?(state: MetaState, batch: MetaBatch, iteration: number): MetaGradient;
  /** Its own fine-tuning, when it is not plain SGD on the support points. */
  fineTuning?(model: TrainedModel): FineTuning;
}

export function adaptOptions(config: TrainConfig, autodiff = false): AdaptOptions {
  return { steps: config.innerSteps, lr: config.innerLr, loss: config.loss, activation: config.activation, clipGrad: config.clipGrad, autodiff };
}

/** The autodiff route: the loss and its gradients with respect to vars, by tf.variableGrads. */
export function autodiffMetaGradient(loss: () => tf.Scalar, vars: tf.Variable[]): MetaGradient {
  const { value, grads } = tf.variableGrads(loss, vars);
  return { loss: value, grads: vars.map((v) => grads[v.name]) };
}
