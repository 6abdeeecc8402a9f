"""rnnkit's recurrent layers vs Keras's, side by side in one process.

For every layer (LSTM, GRU, SimpleRNN; plain and under `keras.layers.Bidirectional`) and
shape, builds the same model twice, once with `keras.layers.X` and once with
`rnnkit.layers.X` (weights copied, so both compute the same numbers), and times

* a training step: `Model.train_on_batch` (forward, backward and an SGD update), compiled
  with Keras's defaults (a `tf.function`, no XLA on CPU);
* an inference pass: `Model.predict_on_batch`.

Runs alternate between the two implementations and the median is reported, so a busy
machine slows both alike. The ratio is keras time / rnnkit time (above 1: rnnkit faster).
GFLOP/s counts the matmul FLOPs only (`2 * batch * steps * (features + units) * gates * units`
forward, three times that for a training step).

Usage:
    python benchmarks/layers.py            # full run, writes benchmarks/results/layers.md
    python benchmarks/layers.py --quick    # fewer repeats
    python benchmarks/layers.py --layers lstm gru --shapes 0
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rnnkit import layers as rnnkit_layers  # noqa: E402

SHAPES = [
    # (batch, steps, features, units)
    (64, 100, 128, 128),
    (32, 400, 64, 256),
]
LAYERS = {"lstm": ("LSTM", 4), "gru": ("GRU", 3), "simple_rnn": ("SimpleRNN", 1)}
RESULTS = Path(__file__).resolve().parent / "results" / "layers.md"


def build_model(module, layer_name: str, shape, bidirectional: bool) -> keras.Model:
    batch, steps, features, units = shape
    layer = getattr(module, layer_name)(units, return_sequences=True)
    if bidirectional:
        layer = keras.layers.Bidirectional(layer, merge_mode="sum")
    inputs = keras.Input(batch_shape=(batch, steps, features))
    model = keras.Model(inputs, layer(inputs))
    model.compile(optimizer=keras.optimizers.SGD(1e-4), loss="mse")
    return model


def time_once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def flops(shape, gates: int, bidirectional: bool) -> float:
    batch, steps, features, units = shape
    forward = 2.0 * batch * steps * (features + units) * gates * units
    return forward * (2 if bidirectional else 1)


def bench_case(layer_key: str, shape, bidirectional: bool, repeats: int) -> dict:
    layer_name, gates = LAYERS[layer_key]
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape[:3]).astype("float32")
    y = rng.normal(size=(*shape[:2], shape[3])).astype("float32") * 0.1
    theirs = build_model(keras.layers, layer_name, shape, bidirectional)
    ours = build_model(rnnkit_layers, layer_name, shape, bidirectional)
    ours.set_weights(theirs.get_weights())
    # Same numbers first: a benchmark of a wrong layer is worthless.
    np.testing.assert_allclose(
        ours.predict_on_batch(x), theirs.predict_on_batch(x), atol=1e-4, rtol=1e-4
    )
    tasks = {
        "train": lambda m: m.train_on_batch(x, y),
        "infer": lambda m: m.predict_on_batch(x),
    }
    result = {}
    for task, run in tasks.items():
        for model in (ours, theirs):  # warm up: tracing and first-call allocations
            run(model)
            run(model)
        times = {"ours": [], "keras": []}
        for i in range(repeats):
            order = [("ours", ours), ("keras", theirs)]
            if i % 2:
                order.reverse()
            for name, model in order:
                times[name].append(time_once(lambda model=model, run=run: run(model)))
        ours_ms = statistics.median(times["ours"]) * 1e3
        keras_ms = statistics.median(times["keras"]) * 1e3
        work = flops(shape, gates, bidirectional) * (3 if task == "train" else 1)
        result[task] = {
            "ours_ms": ours_ms,
            "keras_ms": keras_ms,
            "ratio": keras_ms / ours_ms,
            "ours_gflops": work / ours_ms / 1e6,
            "keras_gflops": work / keras_ms / 1e6,
        }
    return result


def matmul_rates(repeats: int) -> list[tuple[str, float]]:
    """GFLOP/s of `tf.matmul` at the shapes the layers use: what bounds any RNN here.

    Each timing runs a chain of dependent matmuls (`a = (a @ b)[:, :k]`) in one
    `tf.while_loop`, as a recurrent layer's time loop does, so no Python runs in between.
    """
    rates = []
    for m, k, n, what in [
        (64, 128, 512, "one LSTM step at batch 64 (`h @ recurrent_kernel`)"),
        (6400, 128, 512, "100 input projections at once (`x @ kernel`)"),
        (2048, 2048, 2048, "large square GEMM (the CPU's practical peak)"),
    ]:
        a = tf.random.normal((m, k), stddev=0.01)
        b = tf.random.normal((k, n), stddev=0.01)
        count = max(1, int(4e9 // (2 * m * k * n)))  # ~4 GFLOP per timing

        @tf.function
        def chain(a=a, b=b, count=count, k=k):
            return tf.while_loop(
                lambda i, a: i < count, lambda i, a: (i + 1, tf.matmul(a, b)[:, :k]), (0, a)
            )[1]

        chain().numpy()
        best = min(time_once(lambda chain=chain: chain().numpy()) for _ in range(repeats))
        rates.append((f"{m}x{k} @ {k}x{n}: {what}", 2 * m * k * n * count / best / 1e9))
    return rates


def profile_forward(layer_key: str, shape, repeats: int) -> dict:
    """Where an inference pass of our layer goes: input projection vs recurrent time loop.

    Uses the layer's own pieces (`cell._project_inputs`, `cell._step_function` and the
    shared `_time_loop`), each in its own `tf.function`, beside the whole layer and Keras's.
    """
    from rnnkit.layers._rnn import _time_loop

    layer_name, _ = LAYERS[layer_key]
    batch, steps, features, units = shape
    x = tf.random.normal(shape[:3])
    ours = getattr(rnnkit_layers, layer_name)(units, return_sequences=True)
    theirs = getattr(keras.layers, layer_name)(units, return_sequences=True)
    ours.build(x.shape)
    theirs.build(x.shape)
    cell = ours.cell
    sizes = cell.state_size if isinstance(cell.state_size, list) else [cell.state_size]
    states = [tf.zeros((batch, size)) for size in sizes]
    projected = tf.function(lambda x: cell._project_inputs(tf.transpose(x, (1, 0, 2))))
    inputs = projected(x)

    @tf.function
    def loop(inputs):
        step = cell._step_function(states[0])
        return _time_loop(step, inputs, states, None, return_sequences=True)[1]

    parts = {
        "keras layer": tf.function(theirs),
        "rnnkit layer": tf.function(ours),
        "rnnkit input projection (one matmul)": lambda: projected(x),
        "rnnkit time loop (recurrent part)": lambda: loop(inputs),
    }
    result = {}
    for name, fn in parts.items():
        run = (lambda fn=fn: fn(x)) if "layer" in name else fn
        run()
        result[name] = 1e3 * statistics.median(
            time_once(lambda run=run: tf.nest.flatten(run())[0].numpy()) for _ in range(repeats)
        )
    return result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}, Python {platform.python_version()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (5 instead of 15)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per case")
    parser.add_argument("--layers", nargs="+", choices=sorted(LAYERS), default=list(LAYERS))
    parser.add_argument(
        "--shapes", nargs="+", type=int, default=list(range(len(SHAPES))),
        help="indices into SHAPES",
    )  # fmt: skip
    parser.add_argument("--no-bidirectional", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown table path")
    args = parser.parse_args(argv)
    repeats = args.repeats or (5 if args.quick else 15)
    load_before = os.getloadavg()[0]
    command = " ".join(["python benchmarks/layers.py", *(sys.argv[1:] if argv is None else argv)])

    header = (
        "| layer | batch, steps, in, units | task | keras ms | rnnkit ms | ratio "
        "| keras GFLOP/s | rnnkit GFLOP/s |"
    )
    lines = [header, "|" + "---|" * 8]
    print(machine())
    print(header)
    print(lines[1])
    for shape_index in args.shapes:
        shape = SHAPES[shape_index]
        for layer_key in args.layers:
            for bidirectional in [False] if args.no_bidirectional else [False, True]:
                result = bench_case(layer_key, shape, bidirectional, repeats)
                name = LAYERS[layer_key][0]
                name = f"Bidirectional({name})" if bidirectional else name
                for task, r in result.items():
                    line = (
                        f"| {name} | {', '.join(map(str, shape))} | {task} "
                        f"| {r['keras_ms']:.1f} | {r['ours_ms']:.1f} | {r['ratio']:.2f}x "
                        f"| {r['keras_gflops']:.1f} | {r['ours_gflops']:.1f} |"
                    )
                    lines.append(line)
                    print(line, flush=True)
    profile_lines = [
        "| layer | batch, steps, in, units | part | ms |",
        "|---|---|---|---|",
    ]
    for layer_key in ("lstm", "gru"):
        for name, ms in profile_forward(layer_key, SHAPES[0], repeats).items():
            shape = ", ".join(map(str, SHAPES[0]))
            profile_lines.append(f"| {LAYERS[layer_key][0]} | {shape} | {name} | {ms:.1f} |")
    print("\n".join(profile_lines))
    rates = matmul_rates(repeats)
    rate_lines = [f"| {what} | {rate:.0f} |" for what, rate in rates]
    print("\n".join(rate_lines))
    text = "\n".join(
        [
            "# Recurrent layers: rnnkit vs Keras",
            "",
            f"Machine: {machine()}; load average before/after: {load_before:.1f}/"
            f"{os.getloadavg()[0]:.1f}.",
            f"Command: `{command}` ({repeats} alternating runs per case, medians).",
            "Ratio = keras ms / rnnkit ms (above 1: rnnkit is faster).",
            "",
            *lines,
            "",
            "Profile of an inference pass (median ms; each part alone, in its own graph):",
            "",
            *profile_lines,
            "",
            "Matmul throughput of this CPU in the same process (`tf.matmul`, best of the runs):",
            "",
            "| matmul | GFLOP/s |",
            "|---|---|",
            *rate_lines,
            "",
        ]
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
