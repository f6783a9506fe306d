// What an algorithm is to the rest of metalearn: the shared options it reads, its own options,
// defaults and checks, its adaptation (the inner rule, core/adapt.ts), and how it turns a meta-batch
// into a meta-gradient. A learner is typed over the shared config and its own options alone.
import * as tf from '@tensorflow/tfjs';
import { adapt, sgdAdaptation, type Adaptation, type SgdOptions } from '../core/adapt.js';
import { atZeroContext, forward, taskLosses, type Params } from '../core/model.js';
import type { Rng } from '../core/rng.js';
import type { OptionTable, ValueNamer, Values } from '../options/option.js';
import type { SharedConfig, UsedKey } from '../options/shared.js';
import type { MetaBatch } from '../tasks/family.js';

export type { MetaBatch };

/** The config a learner sees: the shared options and its own. */
export type LearnerConfig<Own extends OptionTable> = SharedConfig & Values<Own>;


/** The outer objective's value and the direction the meta-optimizer steps against, one per learned tensor. */
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

/** The learned tensors an adaptation is made from: the MLP (all of its inputs) and the learner's own. */
export interface TrainedModel {
  params: Params;
  extras: Extras;
}

/** What a meta-iteration works on: the learned tensors (as variables), their adaptation, the run's random stream and config. */
export interface MetaState<Config = SharedConfig> extends TrainedModel {
  config: Config;
  params: tf.Variable[];
  /** The learner's own learned tensors by group (empty for most). */
  extras: Record<string, tf.Variable[]>;
  /** The learner's adaptation, made from these variables. */
  adaptation: Adaptation;
  rng: Rng;
}

export interface MetaLearner<Own extends OptionTable = {}> {
  /** The shared options it reads beyond ALWAYS_USED (`query` means it samples query points). */
  uses: readonly UsedKey[];
  /** Its own options (their keys must not clash with another algorithm's unless it is the same option). */
  options?: Own;
  /** Its defaults where they differ from the shared ones. */
  defaults?: Partial<LearnerConfig<Own>>;
  /** Its checks of a whole config: refuse(key, message) for each problem, naming values by shown(key) (which says which are defaults). */
  check?(config: LearnerConfig<Own>, refuse: (key: string, message: string) => void, shown: ValueNamer): void;
  /** Its own learned tensors, meta-trained beside the MLP by the same optimizer and saved with it. */
  extras?(config: LearnerConfig<Own>): Record<string, ExtraGroup>;
  /** Inputs of the MLP after x (CAVIA's context): its first layer then takes 1 + this many. Absent: none. */
  contextInputs?(config: LearnerConfig<Own>): number;
  /** Its adaptation, made from the learned tensors: training, validation, eval and the page all take its steps. Absent: SGD on every weight. */
  adaptation?(model: TrainedModel): Adaptation;
  /**
   * The meta-gradient of a batch at a meta-iteration (0 for the first; learners with schedules read it): one grad
   * per MLP param, then one per extra tensor, in the order of extras(config). Absent: it does not train (random).
   */
  metaGradient?(state: MetaState<LearnerConfig<Own>>, batch: MetaBatch, iteration: number): MetaGradient;
}

/** A learner, with its config typed by its own options. */
export function learner<Own extends OptionTable = {}>(spec: MetaLearner<Own>): MetaLearner<Own> {
  return spec;
}

/** A learner's adaptation of a model (plain SGD when it has none of its own). */
export function adaptationOf(spec: Pick<MetaLearner, 'adaptation'>, model: TrainedModel): Adaptation {
  return spec.adaptation?.(model) ?? sgdAdaptation;
}

/** The SGD of the inner loop in training: at innerLr, clipped at clipGrad; autodiff when an outer tape differentiates through it. */
export function innerSgd(config: SharedConfig, autodiff: boolean): SgdOptions {
  return { lr: config.innerLr, loss: config.loss, activation: config.activation, clipGrad: config.clipGrad, autodiff };
}

/** Every learned tensor of a state, in the meta-gradient's order: the MLP's, then each group of extras'. */
export function learnedTensors(state: { params: tf.Variable[]; extras: Record<string, tf.Variable[]> }): tf.Variable[] {
  return [...state.params, ...Object.values(state.extras).flat()];
}

/**
 * The meta-objective: the mean over tasks of the query loss after innerSteps steps of the adaptation on the
 * support points, from the MLP at zero context (unlabeled: each step's inputs, for an adaptation that reads them).
 * Differentiable: with sgd.autodiff, the meta-gradient is its gradient.
 */
export function adaptedQueryLoss(state: Pick<MetaState, 'params' | 'adaptation' | 'config'>, batch: MetaBatch, sgd: SgdOptions, unlabeled: tf.Tensor3D[] = []): tf.Scalar {
  const adapted = adapt(state.adaptation, atZeroContext(state.params, batch.support.x.shape[2]), batch.support, state.config.innerSteps, sgd, unlabeled); // [tasks, ...] each
  const query = batch.query!;
  return tf.mean(taskLosses(forward(adapted, query.x, sgd.activation), query.y, sgd.loss));
}

/** The autodiff route: a loss and its gradients with respect to vars, by tf.variableGrads. */
export function autodiffMetaGradient(loss: () => tf.Scalar, vars: tf.Variable[]): MetaGradient {
  const { value, grads } = tf.variableGrads(loss, vars);
  return { loss: value, grads: vars.map((v) => grads[v.name]) };
}

/**
 * The second-order meta-gradient of adaptedQueryLoss over every learned tensor, by autodiff (nested tf.grads inside
 * tf.variableGrads): for learners with no faster route. An adaptation that reads unlabeled inputs gets `support`
 * of them per task and step, drawn from the run's stream before the tape.
 */
export function autodiffSecondOrder(state: MetaState, batch: MetaBatch): MetaGradient {
  const { config, adaptation, rng } = state;
  const draw = adaptation.unlabeledInputs;
  const unlabeled = draw ? Array.from({ length: config.innerSteps }, () => tf.tensor3d(draw(rng, config, batch.tasks, config.support), [batch.tasks.length, config.support, 1])) : [];
  try {
    return autodiffMetaGradient(() => adaptedQueryLoss(state, batch, innerSgd(config, true), unlabeled), learnedTensors(state));
  } finally {
    tf.dispose(unlabeled);
  }
}
