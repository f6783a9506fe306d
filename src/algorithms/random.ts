// Random: no training. Its checkpoint is the initialisation (uniform +-sqrt(1/fan_in)),
// the lower baseline of the Flux and numpy posts.
import type { MetaLearner } from './types.js';

export const random: MetaLearner = {
  usesQuery: false,
  trains: false,
  metaGradient() {
    throw new Error('random does not train');
  },
};
