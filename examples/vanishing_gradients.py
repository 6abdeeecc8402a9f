"""Vanishing and exploding gradients through time, measured with `rnnkit.diagnostics`.

    python examples/vanishing_gradients.py            # writes docs/gradient_flow.png
    python examples/vanishing_gradients.py --small    # a smoke run (short sequences, 1 epoch)

Task: sequences of 100 random tokens whose label is the *first* token, so the only useful
information is 99 steps back from the output. SimpleRNN, LSTM, GRU and MinGRU (all
`rnnkit.layers`) are trained on it side by side, and `gradient_flow` measures how much of the
loss's gradient reaches each step `t` (`||dLoss/dh_t||`) before and after training.

Then the opposite failure: a SimpleRNN whose recurrent matrix is an orthogonal matrix scaled
by `--gain` (so every step multiplies the backward signal by up to that factor) is trained
with SGD with and without `clipnorm`: the gradient grows towards early steps instead of
vanishing, and without clipping the loss jumps around at chance level, while with
`clipnorm=1` the same model and learning rate learn the task (numbers in
docs/experiments/layers.md; larger gains saturate tanh and fail either way).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rnnkit import layers  # noqa: E402
from rnnkit.diagnostics import gradient_flow, plot_gradient_flow  # noqa: E402

CLASSES = 4  # the first token is one of 1..CLASSES, the label is that token
VOCABULARY = 10


def make_data(count: int, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tokens = rng.integers(1, VOCABULARY, size=(count, steps))
    labels = rng.integers(0, CLASSES, size=count)
    tokens[:, 0] = labels + 1
    return tokens.astype("int32"), labels.astype("int32")


def build(layer: keras.layers.Layer, steps: int, seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((steps,), dtype="int32"),
            keras.layers.Embedding(VOCABULARY, 16),
            layer,
            keras.layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    return model


def global_gradient_norm(model: keras.Model, x, y) -> float:
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=x, y=y, y_pred=model(x))
    grads = tape.gradient(loss, model.trainable_weights)
    return float(tf.linalg.global_norm(grads))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="20 steps, 256 sequences, 1 epoch")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--sequences", type=int, default=None, help="training sequences (2048)")
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--gain", type=float, default=1.2, help="exploding case: recurrent gain")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="PNG path (default docs/gradient_flow.png)")
    args = parser.parse_args()
    steps = 20 if args.small else 100
    count = args.sequences or (256 if args.small else 2048)
    epochs = args.epochs or (1 if args.small else 8)
    output = args.output or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "gradient_flow.png"
    )
    x, y = make_data(count, steps, args.seed)
    x_test, y_test = make_data(512, steps, args.seed + 1)
    probe_x, probe_y = x_test[:64], y_test[:64]

    print(f"task: label = first of {steps} tokens, {CLASSES} classes (chance 0.25); "
          f"{count} training sequences, {epochs} epochs, {args.units} units")  # fmt: skip
    before, after = {}, {}
    for name, cls in [
        ("SimpleRNN", layers.SimpleRNN),
        ("LSTM", layers.LSTM),
        ("GRU", layers.GRU),
        ("MinGRU", layers.MinGRU),
    ]:
        model = build(cls(args.units), steps, args.seed)
        model.compile(
            optimizer=keras.optimizers.Adam(3e-3, clipnorm=1.0),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        before[name] = gradient_flow(model, probe_x, probe_y)
        start = time.perf_counter()
        model.fit(x, y, batch_size=64, epochs=epochs, verbose=0)
        seconds = time.perf_counter() - start
        accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
        after[name] = gradient_flow(model, probe_x, probe_y)
        print(
            f"{name:9s} test accuracy {accuracy:.3f}  train {seconds:5.1f} s  "
            f"||dL/dh_0|| / ||dL/dh_T||: untrained {before[name][0] / before[name][-1]:.1e}, "
            f"trained {after[name][0] / after[name][-1]:.1e}",
            flush=True,
        )

    # Exploding: a recurrent gain above 1 multiplies the backward signal at every step.
    exploding = {}
    for clip in (None, 1.0):
        recurrent = keras.initializers.Orthogonal(gain=args.gain, seed=args.seed)
        model = build(layers.SimpleRNN(args.units, recurrent_initializer=recurrent), steps, 0)
        model.compile(
            optimizer=keras.optimizers.SGD(0.01, clipnorm=clip),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        label = "no clipping" if clip is None else f"clipnorm={clip:g}"
        if clip is None:
            exploding[f"SimpleRNN, gain {args.gain:g}"] = gradient_flow(model, probe_x, probe_y)
        first_norm = global_gradient_norm(model, probe_x, probe_y)
        history = model.fit(x, y, batch_size=64, epochs=epochs, verbose=0).history
        losses = ", ".join(f"{value:.3g}" for value in history["loss"])
        print(
            f"SimpleRNN gain {args.gain:g}, SGD(0.01) {label:12s}: first gradient norm "
            f"{first_norm:.3g}, loss per epoch [{losses}], test accuracy "
            f"{model.evaluate(x_test, y_test, verbose=0)[1]:.3f}",
            flush=True,
        )
    exploding["LSTM (untrained)"] = before["LSTM"]

    path = plot_gradient_flow(
        {
            "untrained (default initialisers)": before,
            f"after {epochs} epochs": after,
            "exploding: recurrent gain": exploding,
        },
        output,
        title=f"||dLoss/dh_t|| through {steps} steps: label = first token",
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
