// Random: no training. Its checkpoint is the initialisation (uniform +-sqrt(1/fan_in)),
// the lower baseline of the Flux and numpy posts. It reads no training option and has no
// meta-gradient, so a run of it is one validation and one checkpoint.
import { learner } from './learner.js';

export const random = learner({
  uses: [],
});
