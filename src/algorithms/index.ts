import type { Algorithm } from '../config.js';
import { daml } from './daml.js';
import { fomaml } from './fomaml.js';
import { maml } from './maml.js';
import { metaSgd } from './meta-sgd.js';
import { random } from './random.js';
import { reptile } from './reptile.js';
import { transfer } from './transfer.js';
import type { MetaLearner } from './types.js';

export const LEARNERS: Record<Algorithm, MetaLearner> = { maml, fomaml, reptile, transfer, random, 'meta-sgd': metaSgd, daml };
export type { Adaptation, ExtraGroup, Extras, FineTuning, MetaBatch, MetaGradient, MetaLearner } from './types.js';
export { metaLoss, mamlGradient } from './maml.js';
export { metaSgdGradient } from './meta-sgd.js';
export { adaptationLosses, unlabeledStep } from './daml.js';
