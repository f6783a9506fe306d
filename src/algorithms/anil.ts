// ANIL (Almost No Inner Loop): Raghu, Raghu, Bengio & Vinyals, "Rapid Learning or Feature
// Reuse? Towards Understanding the Effectiveness of MAML", ICLR 2020 (arXiv:1909.09157),
// section 4. The MLP is a body (every layer but the last) and a head (the last layer, W_L and
// b_L, linear in the body's features h = body(x)); only the head adapts:
//   head_t = head - alpha grad_head L_t(support_t; body, head)        (innerSteps times, on h of the support points)
//   (body, head) <- (body, head) - beta grad mean_t L_t(query_t; body, head_t)
// Second order by autodiff: the head's inner gradients are tf.grads on the body's features, inside
// tf.variableGrads over the whole MLP, so the body is trained through the head's adaptation.
// Validation and eval adapt the head alone too (eval --plain-sgd: every layer, for comparison).
import * as tf from '@tensorflow/tfjs';
import { sgdStep } from '../core/adapt.js';
import { activate, forward, type Activation, type Params } from '../core/model.js';
import { autodiffSecondOrder, learner } from './learner.js';
import { checkQueryGrid, MAML_USES } from './maml.js';

/** The body's features of x [tasks, n, 1]: the last hidden layer's activations [tasks, n, width]. */
function features(body: Params, x: tf.Tensor3D, activation: Activation): tf.Tensor3D {
  return activate(forward(body, x, activation), activation) as tf.Tensor3D;
}

/** The MLP split into its body and its head (the last layer's weight and bias). */
const split = (params: Params) => ({ body: params.slice(0, -2), head: params.slice(-2) });

export const anil = learner({
  uses: MAML_USES,
  check: checkQueryGrid,
  // SGD on the head alone, on the body's features of the support points; the body is returned as it came
  adaptation: () => ({
    kind: 'head only',
    step(fast, support, { sgd }) {
      const { body, head } = split(fast);
      return [...body, ...sgdStep(head, { x: features(body, support.x, sgd.activation), y: support.y }, sgd)];
    },
  }),
  metaGradient: autodiffSecondOrder,
});
