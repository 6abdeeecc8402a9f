"""`gradient_flow`: the norm of dLoss/dh_t at every time step t of a recurrent layer."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf


def _recurrent_position(model: keras.Model) -> int:
    """Index in `model.layers` of the first recurrent layer (a `keras.layers.RNN`)."""
    for i, layer in enumerate(model.layers):
        if isinstance(layer, keras.layers.Bidirectional):
            raise ValueError(
                f"`model_or_layer`: layer {i} ({layer.name!r}) is a `Bidirectional`; "
                "gradient_flow follows one direction. Pass a model whose first recurrent "
                "layer is unidirectional, or the wrapped layer itself (`bidirectional."
                "forward_layer`) with its inputs."
            )
        if isinstance(layer, keras.layers.RNN):
            return i
    names = [type(layer).__name__ for layer in model.layers]
    raise ValueError(
        f"`model_or_layer` must contain a recurrent layer (a `keras.layers.RNN` such as "
        f"rnnkit's LSTM, GRU, SimpleRNN, MinGRU); its layers are {names}."
    )


def _run_chain(layers, x, mask=None):
    """Applies `layers` in order, passing masks along; returns (output, mask)."""
    for layer in layers:
        takes_mask = mask is not None and layer.supports_masking
        new_mask = layer.compute_mask(x, mask) if takes_mask or mask is None else None
        x = layer(x, mask=mask) if takes_mask else layer(x)
        mask = new_mask
    return x, mask


def _run_stepped(layer: keras.layers.RNN, x, mask):
    """Runs `layer` step by step with its own cell; returns (outputs, [h_t for every t])."""
    cell = layer.cell
    batch, steps = int(x.shape[0]), int(x.shape[1])
    states = cell.get_initial_state(batch_size=batch)
    states = list(states) if isinstance(states, (list, tuple)) else [states]
    order = range(steps - 1, -1, -1) if layer.go_backwards else range(steps)
    output = tf.zeros_like(states[0])
    hs, outputs = {}, []
    for t in order:
        _, new_states = cell(x[:, t], states, training=False)
        new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
        # The output is the state `h_t` itself (for every Keras and rnnkit cell), taken from
        # the tensor whose gradient is measured, so that every path from h_t counts.
        new_output = new_states[0]
        if mask is not None:
            keep = mask[:, t : t + 1]
            new_states = [tf.where(keep, n, s) for n, s in zip(new_states, states, strict=True)]
            new_output = tf.where(keep, new_states[0], output)
        states, output = new_states, new_output
        hs[t] = states[0]
        outputs.append(output)
    if layer.return_sequences:
        result = tf.stack(outputs, axis=1)
    else:
        result = output
    if layer.return_state:
        result = [result, *states]
    return result, [hs[t] for t in range(steps)]


def gradient_flow(
    model_or_layer: keras.layers.Layer,
    inputs: Any,
    targets: Any,
    *,
    loss: Any = None,
) -> np.ndarray:
    """The norm of dLoss/dh_t for every time step t of a recurrent layer.

    `h_t` is the layer's state after reading input `t`; dLoss/dh_t is the total derivative,
    through the outputs *and* through every later state (what back-propagation through time
    carries back to step t). Its norm (over the batch and the units) at each `t` shows whether
    the loss can still teach the layer about early inputs: vanishing gradients are norms that
    fall by orders of magnitude towards `t = 0`.

    The layer runs step by step with its own cell (`layer.cell(x_t, states)`), so any Keras
    or rnnkit recurrent layer works, in inference mode (no dropout).

    Args:
        model_or_layer: a recurrent layer (`keras.layers.RNN` subclass: rnnkit's or Keras's
            `LSTM`, `GRU`, `SimpleRNN`, `MinGRU`, ...), or a model that is a chain of layers
            (`keras.Sequential` or an equivalent functional model) containing one; the first
            recurrent layer of the chain is the one measured, masks (`mask_zero=True`) included.
        inputs: the batch fed to `model_or_layer` (`(batch, steps, ...)`).
        targets: what the loss compares the output with.
        loss: a Keras loss (name, instance or callable `loss(y_true, y_pred)`); by default
            the model's compiled loss, else mean squared error.

    Returns:
        A NumPy array of shape `(steps,)`: entry `t` is `||dLoss/dh_t||`, `t` indexing the
        inputs (also for `go_backwards` layers).

    Example:
    >>> import numpy as np
    >>> from rnnkit.layers import SimpleRNN
    >>> x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    >>> norms = gradient_flow(SimpleRNN(4), x, np.zeros((2, 4), "float32"))
    >>> norms.shape, bool(norms[-1] >= norms[0])
    ((6,), True)
    """
    if not isinstance(model_or_layer, keras.layers.Layer):
        raise TypeError(
            "`model_or_layer` must be a Keras recurrent layer or model, received "
            f"{type(model_or_layer).__name__}."
        )
    x = tf.convert_to_tensor(inputs)
    if isinstance(model_or_layer, keras.Model):
        model = model_or_layer
        position = _recurrent_position(model)
        chain = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
        position = chain.index(model.layers[position])
        prefix, layer, suffix = chain[:position], chain[position], chain[position + 1 :]
        if loss is None:
            loss = getattr(model, "loss", None)
    elif isinstance(model_or_layer, keras.layers.RNN):
        prefix, layer, suffix = [], model_or_layer, []
    else:
        raise TypeError(
            "`model_or_layer` must be a recurrent layer (`keras.layers.RNN` subclass) or a "
            f"model containing one, received a {type(model_or_layer).__name__}."
        )
    if x.shape.rank is None or x.shape.rank < 2 or x.shape[1] is None:
        raise ValueError(f"`inputs` must be (batch, steps, ...), received shape {x.shape}.")
    loss_fn = keras.losses.get(loss if loss is not None else "mean_squared_error")
    if not layer.built:
        model_or_layer(x)  # builds every weight on the real shapes
    if prefix or suffix:
        # Only a chain of layers can be re-run piece by piece; anything else would measure
        # a different network than the model.
        try:
            chained = _run_chain([*prefix, layer, *suffix], x)[0]
            expected = model_or_layer(x)
            is_chain = not keras.tree.is_nested(expected) and np.allclose(
                chained, expected, atol=1e-5
            )
        except (ValueError, TypeError):
            is_chain = False
        if not is_chain:
            raise ValueError(
                "`model_or_layer` must be a chain of layers (a `keras.Sequential`, or a "
                "functional model where each layer reads only the one before). Pass the "
                "recurrent layer itself with the inputs it receives instead."
            )
    h, mask = _run_chain(prefix, x)
    if mask is not None:
        mask = tf.cast(mask, tf.bool)
    with tf.GradientTape() as tape:
        output, hs = _run_stepped(layer, h, mask)
        output_mask = None if mask is None else layer.compute_mask(h, mask)
        output = _run_chain(suffix, output, output_mask)[0]
        value = loss_fn(tf.convert_to_tensor(targets), output)
        value = tf.reduce_mean(value)
    grads = tape.gradient(value, hs)
    return np.array(
        [0.0 if g is None else float(tf.norm(g)) for g in grads],
        dtype="float64",
    )


def plot_gradient_flow(
    flows: Mapping[str, Any] | np.ndarray,
    path: str | os.PathLike,
    *,
    title: str = "Gradient flow through time",
    log_scale: bool = True,
) -> str:
    """Writes a PNG of `||dLoss/dh_t||` against `t`, one line per layer.

    Args:
        flows: `{name: norms}` (each from `gradient_flow`), or one array of norms; or
            `{panel_title: {name: norms}}` for several panels side by side.
        path: where the PNG goes (`.png`); its folder must exist.
        title: the figure's title.
        log_scale: a logarithmic y axis (vanishing and exploding gradients span decades).

    Returns:
        `path`, as a string.

    Example:
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "flow.png")
    >>> plot_gradient_flow({"LSTM": [1e-3, 1e-2, 1e-1]}, out) == out
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    if not isinstance(flows, Mapping):
        flows = {"gradient norm": flows}
    if not flows:
        raise ValueError("`flows` is empty: pass {name: norms} from `gradient_flow`.")
    panels = flows if all(isinstance(v, Mapping) for v in flows.values()) else {"": flows}
    path = os.fspath(path)
    figure, all_axes = plt.subplots(
        1, len(panels), figsize=(6.5 * len(panels), 4), dpi=110, squeeze=False
    )
    for axes, (panel, lines) in zip(all_axes[0], panels.items(), strict=True):
        for name, norms in lines.items():
            norms = np.asarray(norms, dtype="float64")
            if norms.ndim != 1:
                raise ValueError(
                    f"`flows[{name!r}]` must be 1-D (one norm per step), got shape {norms.shape}."
                )
            shown = np.where(norms > 0, norms, np.nan) if log_scale else norms
            axes.plot(np.arange(len(norms)), shown, label=name, linewidth=1.6)
        if log_scale:
            axes.set_yscale("log")
        axes.set_xlabel("time step t (0 = first input)")
        axes.set_ylabel("||dLoss / dh_t||")
        axes.set_title(panel or title)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    if len(panels) > 1:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
