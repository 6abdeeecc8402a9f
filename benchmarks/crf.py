"""CRF vs softmax output layer: training-step and decoding throughput, same process.

Shape: batch 32, 50 time steps (real lengths drawn from 25..50, right-padded), 20 tags.
Two settings, each CRF side by side with a softmax head (`Dense` + masked sparse
cross-entropy, argmax decoding):

* `tagger`: a realistic upstream network, Embedding(5000, 100, mask_zero) ->
  Bidirectional(keras LSTM 100, return_sequences) -> Dense(20) -> head;
* `head`:   the output layer alone, on fixed 200-d features -> Dense(20) -> head, which
  isolates the cost of the CRF itself.

Training step = `train_on_batch` (forward, loss, gradients, Adam update); decoding =
`predict_on_batch` of the inference model (Viterbi in the graph for the CRF, argmax for
softmax). Throughput counts real (unpadded) tokens. Every variant is warmed up, then the
variants are timed in alternating order for several rounds; the medians are reported.

Usage: python benchmarks/crf.py [--rounds 7] [--steps 5] [--jit auto|true|false]
Writes benchmarks/results/crf.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rnnkit.layers import CRF  # noqa: E402

BATCH, STEPS, TAGS, VOCAB, EMBED, UNITS, FEATURES = 32, 50, 20, 5000, 100, 100, 200
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "crf.md")


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(STEPS // 2, STEPS + 1, size=BATCH)
    mask = np.arange(STEPS)[None, :] < lengths[:, None]
    ids = np.where(mask, rng.integers(1, VOCAB, size=(BATCH, STEPS)), 0).astype("int32")
    features = rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    tags = rng.integers(0, TAGS, size=(BATCH, STEPS))
    return ids, features, mask, tags, int(mask.sum())


def build(setting: str, head: str, jit):
    """Returns (training model, inference model, x, y) for one variant."""
    ids, features, mask, tags, _ = make_data()
    if setting == "tagger":
        inputs = keras.Input((None,), dtype="int32")
        x = keras.layers.Embedding(VOCAB, EMBED, mask_zero=True)(inputs)
        x = keras.layers.Bidirectional(keras.layers.LSTM(UNITS, return_sequences=True))(x)
        data = ids
    else:
        inputs = keras.Input((None, FEATURES))
        # Padded feature rows are all zero, so Masking gives the padding mask an upstream
        # masked layer would.
        x = keras.layers.Masking(mask_value=0.0)(inputs)
        data = np.where(mask[..., None], features, 0.0).astype("float32")
    logits = keras.layers.Dense(TAGS)(x)
    if head == "crf":
        crf = CRF(TAGS)
        potentials = crf(logits)
        train = keras.Model(inputs, potentials)
        train.compile(keras.optimizers.Adam(1e-3), loss=crf.loss, jit_compile=jit)
        infer = keras.Model(inputs, crf.decode(potentials))
        y = np.where(mask, tags, -1)
    else:
        train = keras.Model(inputs, logits)
        train.compile(
            keras.optimizers.Adam(1e-3),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=jit,
        )
        infer = keras.Model(inputs, keras.ops.argmax(logits, axis=-1))
        y = np.where(mask, tags, 0)  # padding is masked by the Keras mask
    infer.compile(jit_compile=jit)
    return train, infer, data, y


def time_calls(fn, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        out = fn()
    np.asarray(out)  # wait for the last result
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=5, help="calls timed per round")
    parser.add_argument("--jit", choices=["auto", "true", "false"], default="auto")
    args = parser.parse_args()
    jit = {"auto": "auto", "true": True, "false": False}[args.jit]
    tokens = make_data()[-1]

    variants = {}
    for setting in ("tagger", "head"):
        for head in ("crf", "softmax"):
            keras.utils.set_random_seed(0)
            train, infer, data, y = build(setting, head, jit)
            variants[(setting, head, "train step")] = lambda m=train, d=data, t=y: m.train_on_batch(
                d, t
            )
            variants[(setting, head, "decode")] = lambda m=infer, d=data: m.predict_on_batch(d)
    for fn in variants.values():  # warm-up: tracing and first runs
        for _ in range(2):
            fn()

    times = {key: [] for key in variants}
    keys = list(variants)
    for r in range(args.rounds):
        order = keys if r % 2 == 0 else keys[::-1]
        for key in order:
            times[key].append(time_calls(variants[key], args.steps))

    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    try:
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = "n/a"
    header = (
        f"batch {BATCH}, T {STEPS} (real lengths 25..50, {tokens} real tokens/batch), "
        f"{TAGS} tags; jit_compile={args.jit}; {args.rounds} rounds x {args.steps} calls, "
        f"medians\n\nMachine: {platform.platform()}, {platform.processor() or 'cpu'}, "
        f"{os.cpu_count()} CPUs, {device}; load average at end {load}; "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}\n"
    )
    rows = [
        "| setting | step | CRF ms | softmax ms | CRF tokens/s | softmax tokens/s | "
        "CRF / softmax time |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for setting in ("tagger", "head"):
        for step in ("train step", "decode"):
            crf_s = statistics.median(times[(setting, "crf", step)])
            soft_s = statistics.median(times[(setting, "softmax", step)])
            rows.append(
                f"| {setting} | {step} | {crf_s * 1e3:.2f} | {soft_s * 1e3:.2f} | "
                f"{tokens / crf_s:,.0f} | {tokens / soft_s:,.0f} | {crf_s / soft_s:.2f}x |"
            )
    notes = (
        "\n`tagger` = Embedding(5000, 100, mask_zero) -> BiLSTM(100) -> Dense(20) -> head; "
        "`head` = 200-d features -> Dense(20) -> head (the output layer alone).\n"
    )
    report = "# CRF vs softmax output layer\n\n" + header + "\n" + "\n".join(rows) + "\n" + notes
    print(report)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        f.write(report)
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
