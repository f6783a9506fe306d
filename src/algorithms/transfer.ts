// Transfer (joint training): the pretrained baseline of the MAML paper (section 5.1)
// and the Flux post. Plain supervised training on freshly sampled tasks,
//   theta <- theta - beta grad_theta mean_t L_t(support_t; theta)
// It learns the mean of the task family (about 0 everywhere) and adapts poorly.
import * as tf from '@tensorflow/tfjs';
import { backprop } from '../core/gradients.js';
import { TRAINING } from '../options/shared.js';
import { learner } from './learner.js';

export const transfer = learner({
  uses: [...TRAINING, 'support', 'supportGrid'],
  metaGradient({ params, config }, batch) {
    return tf.tidy(() => {
      const tasks = batch.support.x.shape[0];
      const { grads, losses } = backprop(params, batch.support, config, 1 / tasks, true); // summed over tasks: [in, out], [out]
      return { loss: tf.mean(losses) as tf.Scalar, grads };
    });
  },
});
