// First-order MAML: Finn et al. 2017, section 5.2; Nichol, Achiam & Schulman,
// "On First-Order Meta-Learning Algorithms" 2018 (arXiv:1803.02999), and the Flux post.
//   phi_t  = theta - alpha grad L_t(support_t; theta)            (held constant)
//   theta <- theta - beta mean_t grad_phi L_t(query_t; phi_t)
// MAML with its one first-order switch on: see maml.ts.
import { learner } from './learner.js';
import { analyticMamlGradient, checkQueryGrid, MAML_USES } from './maml.js';

export const fomaml = learner({
  uses: MAML_USES,
  check: checkQueryGrid,
  metaGradient: (state, batch) => analyticMamlGradient(state, batch, true),
});
