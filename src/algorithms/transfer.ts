// Transfer (joint training): the pretrained baseline of the MAML paper (section 5.1)
// and the Flux post. Plain supervised training on freshly sampled tasks,
//   theta <- theta - beta grad_theta mean_t L_t(support_t; theta)
// It learns the mean of the task family (about 0 everywhere) and adapts poorly.
import * as tf from '@tensorflow/tfjs';
import { forward, taskLosses } from '../model.js';
import type { MetaLearner } from './types.js';

export const transfer: MetaLearner = {
  usesQuery: false,
  trains: true,
  metaGradient(params, batch, config) {
    const { value, grads } = tf.variableGrads(
      () => tf.mean(taskLosses(forward(params, batch.support.x, config.activation), batch.support.y, config.loss)),
      params,
    );
    return { loss: value, grads: params.map((p) => grads[p.name]) };
  },
};
