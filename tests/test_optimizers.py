"""LazyAdam: Keras's Adam on dense gradients and on the rows a sparse gradient touches."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnkit.optimizers import LazyAdam

SHAPE = (6, 3)


def _variable(seed=0):
    return keras.Variable(np.random.default_rng(seed).normal(size=SHAPE).astype("float32"))


def _steps(optimizer, variable, gradients):
    for gradient in gradients:
        optimizer.apply_gradients([(gradient, variable)])
    return variable.numpy()


def _numpy_adam(value, gradients, lr=0.01, beta_1=0.9, beta_2=0.999, eps=1e-7):
    """Adam on the given rows: (value, m, v) after the steps, as Keras writes it."""
    m = np.zeros_like(value)
    v = np.zeros_like(value)
    for t, g in enumerate(gradients, start=1):
        m = m + (g - m) * (1 - beta_1)
        v = v + (g * g - v) * (1 - beta_2)
        alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        value = value - m * alpha / (np.sqrt(v) + eps)
    return value, m, v


@pytest.mark.parametrize("kwargs", [{}, {"clipnorm": 0.5}, {"amsgrad": True}])
def test_dense_gradients_give_keras_adam(kwargs):
    rng = np.random.default_rng(1)
    gradients = [tf.constant(rng.normal(size=SHAPE), "float32") for _ in range(4)]
    expected = _steps(keras.optimizers.Adam(0.01, **kwargs), _variable(), gradients)
    got = _steps(LazyAdam(0.01, **kwargs), _variable(), gradients)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_sparse_gradient_over_every_row_gives_keras_adam(amsgrad):
    # Rows listed out of order and split in two slices of the same row: summed, as dense.
    rng = np.random.default_rng(2)
    dense, sparse = [], []
    for _ in range(4):
        g = rng.normal(size=SHAPE).astype("float32")
        dense.append(tf.constant(g))
        order = np.array([3, 0, 5, 1, 4, 2, 3])
        values = g[order].copy()
        values[0] *= 0.25
        values[-1] *= 0.75
        sparse.append(tf.IndexedSlices(tf.constant(values), tf.constant(order), SHAPE))
    expected = _steps(keras.optimizers.Adam(0.01, amsgrad=amsgrad), _variable(), dense)
    got = _steps(LazyAdam(0.01, amsgrad=amsgrad), _variable(), sparse)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_sparse_gradient_updates_only_touched_rows():
    rng = np.random.default_rng(3)
    start = _variable().numpy()
    touched = np.array([1, 4])
    grads = [rng.normal(size=(2, 3)).astype("float32") for _ in range(3)]
    optimizer = LazyAdam(0.01)
    variable = _variable()
    # Row 4 arrives as two slices (duplicate index): the optimizer sums them.
    slices = [
        tf.IndexedSlices(tf.constant(np.stack([g[0], g[1] / 2, g[1] / 2])), tf.constant([1, 4, 4]))
        for g in grads
    ]
    got = _steps(optimizer, variable, slices)
    value, m, v = _numpy_adam(start[touched], grads)
    np.testing.assert_allclose(got[touched], value, rtol=1e-5, atol=1e-6)
    untouched = np.setdiff1d(np.arange(SHAPE[0]), touched)
    np.testing.assert_array_equal(got[untouched], start[untouched])
    index = optimizer._get_variable_index(variable)
    np.testing.assert_allclose(optimizer._momentums[index].numpy()[touched], m, rtol=1e-5)
    np.testing.assert_allclose(optimizer._velocities[index].numpy()[touched], v, rtol=1e-5)
    assert not optimizer._momentums[index].numpy()[untouched].any()


def test_embedding_model_trains_only_rows_in_the_batch(tmp_path):
    model = keras.Sequential([keras.Input((2,), dtype="int32"), keras.layers.Embedding(10, 4)])
    model.compile(optimizer=LazyAdam(0.1), loss="mse")
    before = model.layers[0].embeddings.numpy().copy()
    x = np.array([[1, 2], [2, 3]])
    model.fit(x, np.ones((2, 2, 4)), epochs=2, verbose=0)
    after = model.layers[0].embeddings.numpy()
    assert not np.allclose(after[[1, 2, 3]], before[[1, 2, 3]])
    np.testing.assert_array_equal(after[[0, 4, 5, 6, 7, 8, 9]], before[[0, 4, 5, 6, 7, 8, 9]])
    # Saved and loaded with its optimizer, like any Keras optimizer.
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, LazyAdam)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
