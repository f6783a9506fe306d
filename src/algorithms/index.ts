import type { Algorithm } from '../config.js';
import { fomaml } from './fomaml.js';
import { maml } from './maml.js';
import { random } from './random.js';
import { reptile } from './reptile.js';
import { transfer } from './transfer.js';
import type { MetaLearner } from './types.js';

export const LEARNERS: Record<Algorithm, MetaLearner> = { maml, fomaml, reptile, transfer, random };
export type { MetaBatch, MetaGradient, MetaLearner } from './types.js';
export { metaLoss, mamlGradient } from './maml.js';
