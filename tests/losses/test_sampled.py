"""Sampled softmax and label-smoothed cross-entropy against TensorFlow and Keras."""

import keras
import numpy as np
import tensorflow as tf

from rnnkit.losses import sampled_softmax_loss, smoothed_cross_entropy


def _output_problem(vocabulary=40, dim=6, n=32, seed=0):
    rng = np.random.default_rng(seed)
    weights = tf.constant(rng.normal(size=(vocabulary, dim)), "float32")
    bias = tf.constant(rng.normal(size=(vocabulary,)), "float32")
    inputs = tf.constant(rng.normal(size=(n, dim)), "float32")
    labels = tf.constant(rng.integers(0, vocabulary, n), "int64")
    return weights, bias, inputs, labels


def test_sampled_softmax_loss_without_smoothing_is_tensorflows():
    weights, bias, inputs, labels = _output_problem()
    draw = tf.random.log_uniform_candidate_sampler(labels[:, None], 1, 12, True, 40, seed=1)
    ours = sampled_softmax_loss(weights, bias, labels, inputs, 12, sampled_values=draw)
    theirs = tf.nn.sampled_softmax_loss(
        weights, bias, labels[:, None], inputs, 12, 40, sampled_values=draw
    )
    # the draw holds labels too (accidental hits), which both leave out
    assert np.any(draw[0].numpy()[None, :] == labels.numpy()[:, None])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5)


def test_sampled_softmax_loss_over_every_class_is_the_full_smoothed_loss():
    # Drawing every class once (expected counts 1) turns the sampled softmax into the full one:
    # the label's own draw is an accidental hit, left out, and the label scores in its place.
    weights, bias, inputs, labels = _output_problem()
    every = (tf.range(40, dtype="int64"), tf.ones([32, 1]), tf.ones([40]))
    logits = tf.matmul(inputs, weights, transpose_b=True) + bias
    for smoothing in (0.0, 0.1, 0.3):
        sampled = sampled_softmax_loss(
            weights, bias, labels, inputs, 40, smoothing, sampled_values=every
        )
        full = smoothed_cross_entropy(labels, logits, smoothing)
        np.testing.assert_allclose(sampled.numpy(), full.numpy(), rtol=1e-5)


def test_smoothed_cross_entropy_is_keras_label_smoothing():
    _, _, _, labels = _output_problem()
    logits = tf.constant(np.random.default_rng(1).normal(size=(32, 40)), "float32")
    expected = keras.losses.categorical_crossentropy(
        tf.one_hot(labels, 40), logits, from_logits=True, label_smoothing=0.2
    )
    ours = smoothed_cross_entropy(labels, logits, 0.2)
    np.testing.assert_allclose(ours.numpy(), np.asarray(expected), rtol=1e-5)
