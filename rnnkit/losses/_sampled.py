"""Losses of a decoder over a large vocabulary: sampled softmax and label smoothing."""

from __future__ import annotations

import tensorflow as tf

# Logit of a class left out of a softmax (an accidental hit of the sampler).
_NEG = -1e9


def smoothed_cross_entropy(
    labels: tf.Tensor, logits: tf.Tensor, label_smoothing: float
) -> tf.Tensor:
    """Cross-entropy `[N]` of `labels [N]` under `logits [N, V]`, with label smoothing.

    The target puts `1 - label_smoothing` on the label and spreads `label_smoothing` evenly over
    all `V` classes (Szegedy et al., 2016): `(1 - e) * -log p(label) + e * mean(-log p)`.
    """
    log_p = tf.nn.log_softmax(logits)
    nll = -tf.gather(log_p, labels, axis=1, batch_dims=1)
    if not label_smoothing:
        return nll
    return (1.0 - label_smoothing) * nll - label_smoothing * tf.reduce_mean(log_p, axis=1)


def sampled_softmax_loss(
    weights: tf.Tensor,
    bias: tf.Tensor,
    labels: tf.Tensor,
    inputs: tf.Tensor,
    num_sampled: int,
    label_smoothing: float = 0.0,
    sampled_values: tuple[tf.Tensor, tf.Tensor, tf.Tensor] | None = None,
) -> tf.Tensor:
    """Sampled softmax loss `[N]` (Jean et al., 2015), optionally label-smoothed.

    Each of the `N` `inputs [N, D]` is scored against its label and `num_sampled` classes
    drawn for the batch (log-uniformly, so the class ids must be in order of falling
    frequency) from the output layer `weights [V, D]`, `bias [V]`; logits are corrected by the
    log of each class's expected count and a drawn class equal to the label is left out, as in
    `tf.nn.sampled_softmax_loss` (equal to it when `label_smoothing=0`). With smoothing, the
    `label_smoothing` share of the target is spread evenly over the label and the drawn classes
    (frequent words are drawn more often, so this smooths towards the unigram distribution).
    `sampled_values`: a `(sampled, true_expected, sampled_expected)` draw to use instead.
    """
    labels = tf.cast(labels, "int64")
    true = labels[:, None]
    if sampled_values is None:
        sampled_values = tf.random.log_uniform_candidate_sampler(
            true, num_true=1, num_sampled=num_sampled, unique=True, range_max=weights.shape[0]
        )
    sampled, true_expected, sampled_expected = (tf.stop_gradient(v) for v in sampled_values)
    true_logits = tf.reduce_sum(inputs * tf.gather(weights, labels), axis=1, keepdims=True)
    true_logits += tf.gather(bias, true) - tf.math.log(true_expected)
    sampled_logits = tf.matmul(inputs, tf.gather(weights, sampled), transpose_b=True)
    sampled_logits += tf.gather(bias, sampled) - tf.math.log(sampled_expected)
    # Accidental hits: a drawn class that is the label itself.
    hit = tf.equal(true, sampled[None, :])
    sampled_logits = tf.where(hit, tf.constant(_NEG, sampled_logits.dtype), sampled_logits)
    log_p = tf.nn.log_softmax(tf.concat([true_logits, sampled_logits], axis=1))
    nll = -log_p[:, 0]
    if not label_smoothing:
        return nll
    kept = tf.concat([tf.ones_like(true_logits), tf.cast(~hit, log_p.dtype)], axis=1)
    spread = -tf.reduce_sum(log_p * kept, axis=1) / tf.reduce_sum(kept, axis=1)
    return (1.0 - label_smoothing) * nll + label_smoothing * spread
