"""Shared cases for the recurrent-layer tests: Keras twins, inputs, masks, NumPy references."""

import keras
import numpy as np
import tensorflow as tf

from rnnkit import layers

# kind -> (Keras layer, our layer, Keras cell, our cell, extra constructor arguments)
KINDS = {
    "simple_rnn": (keras.layers.SimpleRNN, layers.SimpleRNN, keras.layers.SimpleRNNCell,
                   layers.SimpleRNNCell, {}),
    "lstm": (keras.layers.LSTM, layers.LSTM, keras.layers.LSTMCell, layers.LSTMCell, {}),
    "gru": (keras.layers.GRU, layers.GRU, keras.layers.GRUCell, layers.GRUCell,
            {"reset_after": True}),
    "gru_reset_before": (keras.layers.GRU, layers.GRU, keras.layers.GRUCell, layers.GRUCell,
                         {"reset_after": False}),
}  # fmt: skip

BATCH, STEPS, FEATURES, UNITS = 4, 5, 3, 4

MASKS = {
    None: None,
    # Every sample a prefix: what `mask_zero=True` gives on right-padded batches.
    "right_padded": np.array(
        [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 0, 0, 0]], bool
    ),
    # Holes, left padding and a fully masked sample.
    "arbitrary": np.array(
        [[0, 1, 1, 0, 1], [1, 0, 1, 1, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 0]], bool
    ),
}


def inputs(seed=0, batch=BATCH, steps=STEPS, features=FEATURES):
    return np.random.default_rng(seed).normal(size=(batch, steps, features)).astype("float32")


def twins(kind, units=UNITS, **kwargs):
    """A Keras layer and ours, same arguments; build them and copy Keras's weights into ours."""
    keras_cls, our_cls, _, _, extra = KINDS[kind]
    return keras_cls(units, **extra, **kwargs), our_cls(units, **extra, **kwargs)


def n_states(kind):
    return 2 if kind == "lstm" else 1


def copy_weights(source, target, x, **call_kwargs):
    source(x, **call_kwargs)
    target(x, **call_kwargs)
    assert [w.shape for w in target.weights] == [w.shape for w in source.weights]
    target.set_weights(source.get_weights())


def outputs_and_gradients(layer, x, **call_kwargs):
    """Outputs of `layer(x)` and gradients of a random projection of them.

    Gradients are taken w.r.t. the trainable weights, the input and any initial state.
    """
    x = tf.convert_to_tensor(x)
    initial_state = call_kwargs.pop("initial_state", None)
    if initial_state is not None:
        initial_state = [tf.convert_to_tensor(s) for s in initial_state]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        if initial_state is not None:
            tape.watch(initial_state)
            call_kwargs["initial_state"] = initial_state
        outputs = keras.tree.flatten(layer(x, **call_kwargs))
        rng = np.random.default_rng(42)
        loss = sum(
            tf.reduce_sum(out * tf.cast(rng.normal(size=out.shape), out.dtype)) for out in outputs
        )
    sources = [*layer.trainable_weights, x, *(initial_state or [])]
    grads = tape.gradient(loss, sources)
    return [np.asarray(o) for o in outputs], [np.asarray(g) for g in grads]


def assert_same_outputs_and_gradients(ours, theirs, x, atol=1e-5, **call_kwargs):
    out_ours, grad_ours = outputs_and_gradients(ours, x, **dict(call_kwargs))
    out_theirs, grad_theirs = outputs_and_gradients(theirs, x, **dict(call_kwargs))
    assert len(out_ours) == len(out_theirs)
    for a, b in zip(out_ours, out_theirs, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=atol, rtol=1e-5)
    assert len(grad_ours) == len(grad_theirs)
    for a, b in zip(grad_ours, grad_theirs, strict=True):
        np.testing.assert_allclose(a, b, atol=atol, rtol=1e-5)
    return out_ours


# -- NumPy references, written from the equations, for the fixed-value tests -----------------


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_rnn(kind, x, weights, mask=None):
    """Sequence of states `h_t` (batch, time, units) and final states; masked steps keep state."""
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if len(weights) > 2 else None
    units = recurrent.shape[0]
    batch = x.shape[0]
    h = np.zeros((batch, units))
    c = np.zeros((batch, units))
    hs = []
    for t in range(x.shape[1]):
        x_t = x[:, t]
        if kind == "simple_rnn":
            new_h = np.tanh(x_t @ kernel + h @ recurrent + bias)
            new_c = c
        elif kind == "lstm":
            z = x_t @ kernel + h @ recurrent + bias
            i, f, g, o = np.split(z, 4, axis=-1)
            new_c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            new_h = _sigmoid(o) * np.tanh(new_c)
        elif kind == "gru":
            xz, xr, xh = np.split(x_t @ kernel + bias[0], 3, axis=-1)
            rz, rr, rh = np.split(h @ recurrent + bias[1], 3, axis=-1)
            z, r = _sigmoid(xz + rz), _sigmoid(xr + rr)
            new_h = z * h + (1 - z) * np.tanh(xh + r * rh)
            new_c = c
        else:  # gru_reset_before
            xz, xr, xh = np.split(x_t @ kernel + bias, 3, axis=-1)
            rz, rr, _ = np.split(h @ recurrent, 3, axis=-1)
            z, r = _sigmoid(xz + rz), _sigmoid(xr + rr)
            new_h = z * h + (1 - z) * np.tanh(xh + (r * h) @ recurrent[:, 2 * units :])
            new_c = c
        keep = np.ones((batch, 1), bool) if mask is None else mask[:, t : t + 1]
        h = np.where(keep, new_h, h)
        c = np.where(keep, new_c, c)
        hs.append(h)
    return np.stack(hs, axis=1), h, c


def constant_initializers():
    return {
        "kernel_initializer": keras.initializers.Constant(0.05),
        "recurrent_initializer": keras.initializers.Constant(-0.03),
        "bias_initializer": keras.initializers.Constant(0.02),
    }


def arange_inputs(batch=2, steps=3, features=3):
    return (np.arange(batch * steps * features, dtype="float32") / 10.0).reshape(
        batch, steps, features
    )
