// The per-sample training loss shared by plain and DP-SGD local training.
import * as tf from '@tensorflow/tfjs-core';

const EPS = 1e-7;
/** log of a zero prior ratio: e^−69 ≈ 1e−30, a class the owner lacks gets no probability mass and no gradient. */
const TINY = 1e-30;

/**
 * Per-sample cross-entropy, shape [batch]. `y` is one-hot; `probabilities`: the model ends in softmax.
 *
 * `priorRatio` ([classes], r_c = π_local(c)/π_global(c)): the logit-adjusted loss for label shift (Menon et al.
 * 2021, "Long-tail learning via logit adjustment", §4; per owner in FL as FedLC, Zhang et al. 2022): the owner fits
 * softmax(z + log r), i.e. p'_c = p_c·r_c / Σ_k p_k·r_k, so the model's own outputs z stay calibrated to the
 * federation's class mix instead of each owner's. A class the owner lacks (r_c = 0) drops out of its softmax — the
 * restricted softmax of FedRS (Li & Zhan 2021, α = 0) — and its outputs are never pushed down by that owner.
 */
export function perSampleLoss(
  out: tf.Tensor,
  y: tf.Tensor,
  probabilities: boolean,
  priorRatio?: tf.Tensor,
): tf.Tensor1D {
  let logP: tf.Tensor;
  if (!priorRatio) logP = probabilities ? tf.log(tf.clipByValue(out, EPS, 1 - EPS)) : tf.logSoftmax(out);
  else {
    const logRatio = tf.log(tf.maximum(priorRatio, TINY));
    if (!probabilities) logP = tf.logSoftmax(tf.add(out, logRatio));
    else {
      const p = tf.clipByValue(out, EPS, 1 - EPS);
      logP = tf.sub(tf.add(tf.log(p), logRatio), tf.log(tf.sum(tf.mul(p, priorRatio), -1, true)));
    }
  }
  return tf.neg(tf.sum(tf.mul(y, logP), -1)) as tf.Tensor1D;
}
