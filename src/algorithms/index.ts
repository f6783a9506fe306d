// The algorithms, registered: adding one is its file and a line here (and one in ALGORITHM_OPTIONS if it has options of its own).
import { anil } from './anil.js';
import { cavia, caviaOptions } from './cavia.js';
import { daml, damlOptions } from './daml.js';
import { fomaml } from './fomaml.js';
import { maml, mamlOptions } from './maml.js';
import { mamlPlusPlus, mamlPlusPlusOptions } from './maml-plus-plus.js';
import { metaSgd } from './meta-sgd.js';
import { random } from './random.js';
import { reptile, reptileOptions } from './reptile.js';
import { transfer } from './transfer.js';
import type { TrainConfig } from '../config/config.js';
import type { MetaLearner } from './learner.js';

export const LEARNERS = { maml, fomaml, reptile, transfer, random, 'meta-sgd': metaSgd, daml, anil, cavia, 'maml++': mamlPlusPlus } satisfies Record<string, MetaLearner>;
export type Algorithm = keyof typeof LEARNERS;
export const ALGORITHMS = Object.keys(LEARNERS) as [Algorithm, ...Algorithm[]];
/** The algorithms' own options. */
export const ALGORITHM_OPTIONS = { ...mamlOptions, ...reptileOptions, ...damlOptions, ...caviaOptions, ...mamlPlusPlusOptions };

/** Whether an algorithm trains at all (random does not). */
export const trains = (algo: Algorithm): boolean => LEARNERS[algo].metaGradient !== undefined;
/** Whether it samples query points (the data of the outer loss). */
export const usesQuery = (algo: Algorithm): boolean => (LEARNERS[algo] as MetaLearner).uses.includes('query');
/** The inputs of a config's MLP: x, then its learner's context inputs (CAVIA's). */
export const inputWidth = (config: TrainConfig): number => 1 + ((LEARNERS[config.algo] as MetaLearner).contextInputs?.(config) ?? 0);

export { ALWAYS_USED, TRAINING, type Adaptation, type ExtraGroup, type Extras, type FineTuning, type MetaBatch, type MetaGradient, type MetaLearner, type MetaState, type SharedKey, type TrainedModel } from './learner.js';
export { metaLoss, mamlGradient } from './maml.js';
export { metaSgdGradient } from './meta-sgd.js';
export { adaptationLosses, unlabeledStep } from './daml.js';
