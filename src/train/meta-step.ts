// One meta-iteration, and what it works on: a run's learned tensors as variables (its Trainable), the
// meta-batch it samples, and the meta-step (the learner's meta-gradient, then the meta-optimizer). The
// loop (loop.ts) calls these; so do the benchmark and the tests.
import * as tf from '@tensorflow/tfjs';
import { inputWidth, learnerOf, usesQuery, type AlgorithmOptions } from '../algorithms/index.js';
import { adaptationOf, learnedTensors, type Extras, type MetaBatch, type MetaLearner, type MetaState } from '../algorithms/learner.js';
import type { TrainConfig } from '../config/config.js';
import { clipByGlobalNorm } from '../core/adapt.js';
import { initParams, paramShapes } from '../core/model.js';
import { createMetaOptimizer, metaLrAt, type MetaOptimizer, type OptimizerState } from '../core/optim.js';
import { Rng, type RngState } from '../core/rng.js';
import { familyOf } from '../tasks/index.js';
import type { TaskFamily } from '../tasks/family.js';

/** The starting point of a fresh run as tensors: the MLP's initialisation and the learner's extras, each drawn from a stream of the seed's own. */
export function initialTensors(config: TrainConfig): { initial: tf.Tensor[]; extras: Extras } {
  const rng = new Rng(`${config.seed}:extras`);
  const extras = Object.fromEntries(Object.entries(learnerOf(config.algo).extras?.(config) ?? {}).map(([name, group]) => [name, group.init(rng)]));
  return { initial: initParams(config.hidden, new Rng(`${config.seed}:init`), inputWidth(config)), extras };
}

/** The same starting point as plain values: the MLP's weights, then the extras' in their order. */
export function initialValues(config: TrainConfig): { weights: Float32Array[]; extras: Float32Array[] } {
  const { initial, extras } = initialTensors(config);
  const extraTensors = Object.values(extras).flat();
  const values = (ts: tf.Tensor[]) => ts.map((t) => t.dataSync() as Float32Array);
  const start = { weights: values(initial), extras: values(extraTensors) };
  tf.dispose([...initial, ...extraTensors]);
  return start;
}

/** What a meta-iteration works on, as live tensors, with its learner and meta-optimizer. */
export interface Trainable extends MetaState<TrainConfig> {
  learner: MetaLearner<AlgorithmOptions>;
  /** The task family its meta-batches are drawn from. */
  family: TaskFamily;
  optimizer: MetaOptimizer;
  dispose(): void;
}

/** Where the optimizer and the random stream continue from, for a resumed run. */
export interface Continued {
  optimizer: OptimizerState;
  rng: RngState;
}

/** Variables of the starting values (the MLP's, then the extras' in their order), a meta-optimizer over all of them, and the random stream (continued for a resume). */
export function trainable(config: TrainConfig, weights: Float32Array[], extraValues: Float32Array[], continued: Continued | null = null, family: TaskFamily = familyOf(config)): Trainable {
  const learner = learnerOf(config.algo);
  const shapes = paramShapes(config.hidden, inputWidth(config));
  const variable = (values: Float32Array, shape: number[]) => tf.tidy(() => tf.variable(tf.tensor(values, shape), true)); // the tensor goes, the variable stays
  const params = weights.map((w, i) => variable(w, shapes[i]));
  let offset = 0;
  const extras = Object.fromEntries(Object.entries(learner.extras?.(config) ?? {}).map(([name, group]) => [name, group.shapes.map((shape) => variable(extraValues[offset++], shape))]));
  const optimizer = createMetaOptimizer(config.metaOptimizer, learnedTensors({ params, extras }));
  if (continued) optimizer.restore(continued.optimizer);
  return {
    config,
    learner,
    family,
    params,
    extras,
    adaptation: adaptationOf(learner, { params, extras }),
    optimizer,
    rng: new Rng(config.seed, continued?.rng),
    dispose() {
      tf.dispose(learnedTensors({ params, extras }));
      optimizer.dispose();
    },
  };
}

/** A fresh run's Trainable: its initialisation as variables, a new meta-optimizer, the seed's stream. */
export function freshTrainable(config: TrainConfig): Trainable {
  const { weights, extras } = initialValues(config);
  return trainable(config, weights, extras);
}

/** Sample: the tasks of a meta-batch and their support (and query) points, drawn by the family from the run's stream. */
export function sampleMetaBatch(t: Pick<Trainable, 'rng' | 'config' | 'family'>): MetaBatch {
  const { config } = t;
  return t.family.sampleBatch(t.rng, { tasks: config.metaBatch, support: config.support, query: usesQuery(config.algo) ? config.query : null, supportGrid: config.supportGrid, queryGrid: config.queryGrid });
}

/** Meta-step: the learner's meta-gradient of the batch, and one step of the meta-optimizer (at the iteration's outer step size). Returns the meta-loss, a scalar the caller frees; frees the batch. */
export function metaStep(t: Trainable, batch: MetaBatch, iteration: number): tf.Scalar {
  try {
    return tf.tidy(() => {
      const { loss, grads } = t.learner.metaGradient!(t, batch, iteration);
      const clipped = t.config.clipGrad === null ? grads : clipByGlobalNorm(grads, t.config.clipGrad, false);
      t.optimizer.apply(learnedTensors(t), clipped, metaLrAt(t.config, iteration));
      return loss;
    });
  } finally {
    tf.dispose([batch.support.x, batch.support.y, batch.query?.x, batch.query?.y].filter((x) => x !== undefined));
  }
}

/** Sample and meta-step, as the loop does them. */
export function metaIteration(t: Trainable, iteration: number): tf.Scalar {
  return metaStep(t, sampleMetaBatch(t), iteration);
}
