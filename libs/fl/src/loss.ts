// The per-sample training loss shared by plain and DP-SGD local training.
import * as tf from '@tensorflow/tfjs-core';

const EPS = 1e-7;

/** Per-sample cross-entropy, shape [batch]. `y` is one-hot; `probabilities`: the model ends in softmax. */
export function perSampleLoss(out: tf.Tensor, y: tf.Tensor, probabilities: boolean): tf.Tensor1D {
  const logP = probabilities ? tf.log(tf.clipByValue(out, EPS, 1 - EPS)) : tf.logSoftmax(out);
  return tf.neg(tf.sum(tf.mul(y, logP), -1)) as tf.Tensor1D;
}
