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

Ours is timed with the input projection `x_t @ kernel` in both placements, hoisted out of the
time loop (one matmul) and inside it (as Keras does); the table gives the placement the layer
uses for that task, and the other one beside it.
Sections `minimal` (MinGRU / MinLSTM against Keras's GRU / LSTM of the same width) and `scan`
(the scan variants tried for them, in one MinGRU-like training step) follow.

Usage:
    python benchmarks/layers.py            # full run, writes benchmarks/results/layers.md
    python benchmarks/layers.py --quick    # fewer repeats
    python benchmarks/layers.py --layers lstm gru --shapes 0 --sections parity
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


def time_alternating(models: dict, run, repeats: int) -> dict[str, float]:
    """Median ms of `run(model)` for every model, the models taking turns in shifting order."""
    for model in models.values():  # warm up: tracing and first-call allocations
        run(model)
        run(model)
    names = list(models)
    times = {name: [] for name in names}
    for i in range(repeats):
        order = names[i % len(names) :] + names[: i % len(names)]
        if i % 2:
            order.reverse()
        for name in order:
            times[name].append(time_once(lambda name=name: run(models[name])))
    return {name: statistics.median(values) * 1e3 for name, values in times.items()}


def bench_case(layer_key: str, shape, bidirectional: bool, repeats: int) -> dict:
    """Keras's layer against ours with the input projection hoisted and in the loop."""
    from rnnkit.layers import _rnn

    layer_name, gates = LAYERS[layer_key]
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape[:3]).astype("float32")
    y = rng.normal(size=(*shape[:2], shape[3])).astype("float32") * 0.1
    theirs = build_model(keras.layers, layer_name, shape, bidirectional)
    tasks = {
        "train": lambda m: m.train_on_batch(x, y),
        "infer": lambda m: m.predict_on_batch(x),
    }
    cell = getattr(rnnkit_layers, layer_name)(1).cell
    chosen = {"train": cell._placement_training, "infer": cell._placement_inference}
    result = {}
    for task, run in tasks.items():
        models = {"keras": theirs}
        for placement in ("hoisted", "in_loop"):
            # The switch is read when a model's graph for this task is traced (first call).
            _rnn._PLACEMENT = placement
            model = build_model(rnnkit_layers, layer_name, shape, bidirectional)
            model.set_weights(theirs.get_weights())
            run(model)
            models[placement] = model
        _rnn._PLACEMENT = None
        # Same numbers first: a benchmark of a wrong layer is worthless.
        for placement in ("hoisted", "in_loop"):
            np.testing.assert_allclose(
                models[placement].predict_on_batch(x),
                theirs.predict_on_batch(x),
                atol=1e-4,
                rtol=1e-4,
            )
        ms = time_alternating(models, run, repeats)
        ours = chosen[task]
        other = "in_loop" if ours == "hoisted" else "hoisted"
        work = flops(shape, gates, bidirectional) * (3 if task == "train" else 1)
        result[task] = {
            "placement": ours,
            "ours_ms": ms[ours],
            "keras_ms": ms["keras"],
            "other_ms": ms[other],
            "ratio": ms["keras"] / ms[ours],
            "other_ratio": ms["keras"] / ms[other],
            "ours_gflops": work / ms[ours] / 1e6,
            "keras_gflops": work / ms["keras"] / 1e6,
        }
    return result


def bench_minimal(shape, repeats: int) -> list[str]:
    """Training steps of MinGRU / MinLSTM against Keras's GRU / LSTM of the same width."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape[:3]).astype("float32")
    y = rng.normal(size=(*shape[:2], shape[3])).astype("float32") * 0.1
    models = {
        name: build_model(module, name, shape, False)
        for module, name in [
            (keras.layers, "GRU"),
            (rnnkit_layers, "MinGRU"),
            (keras.layers, "LSTM"),
            (rnnkit_layers, "MinLSTM"),
        ]
    }
    lines = []
    for task, run in [
        ("train", lambda m: m.train_on_batch(x, y)),
        ("infer", lambda m: m.predict_on_batch(x)),
    ]:
        ms = time_alternating(models, run, repeats)
        for ours, theirs in [("MinGRU", "GRU"), ("MinLSTM", "LSTM")]:
            lines.append(
                f"| {ours} vs keras {theirs} | {', '.join(map(str, shape))} | {task} "
                f"| {ms[theirs]:.1f} | {ms[ours]:.1f} | {ms[theirs] / ms[ours]:.2f}x |"
            )
    return lines


def scan_variants(shape, repeats: int) -> list[str]:
    """The recurrence `h_t = a_t h_{t-1} + b_t` inside a MinGRU-like training step, by variant.

    Every variant runs the same step (projection matmul, gates, scan, MSE, SGD update) in its
    own `tf.function`; only the scan differs. `keras GRU` is the reference for the ratios.
    """
    from rnnkit.layers._minimal import _linear_scan, _scan_loop

    batch, steps, features, units = shape

    def local_scans(a, b):
        # Within-block cumulative products and partial states, one loop over block positions.
        k = tf.shape(a)[0]
        a_ta = tf.TensorArray(a.dtype, size=k).unstack(a)
        b_ta = tf.TensorArray(b.dtype, size=k).unstack(b)
        out_a = tf.TensorArray(a.dtype, size=k)
        out_b = tf.TensorArray(a.dtype, size=k)

        def body(t, prod, part, out_a, out_b):
            a_t = a_ta.read(t)
            prod, part = prod * a_t, a_t * part + b_ta.read(t)
            return t + 1, prod, part, out_a.write(t, prod), out_b.write(t, part)

        init = (0, tf.ones_like(a[0]), tf.zeros_like(b[0]), out_a, out_b)
        result = tf.while_loop(lambda t, *_: t < k, body, init)
        return result[3].stack(), result[4].stack()

    def blocked(a, b, h0):
        # sqrt(T) blocks of sqrt(T) steps: two loops of sqrt(T) iterations on wider tensors.
        t = tf.shape(a)[0]
        k = tf.cast(tf.math.ceil(tf.sqrt(tf.cast(t, tf.float32))), tf.int32)
        n = (t + k - 1) // k
        pad = n * k - t
        rest = tf.shape(a)[1:]
        a = tf.concat([a, tf.ones(tf.concat([[pad], rest], 0), a.dtype)], 0)
        b = tf.concat([b, tf.zeros(tf.concat([[pad], rest], 0), b.dtype)], 0)
        a = tf.transpose(tf.reshape(a, tf.concat([[n, k], rest], 0)), [1, 0, 2, 3])
        b = tf.transpose(tf.reshape(b, tf.concat([[n, k], rest], 0)), [1, 0, 2, 3])
        prods, parts = local_scans(a, b)
        carried = _scan_loop(prods[-1], parts[-1], h0)
        entering = tf.concat([h0[None], carried[:-1]], 0)
        hs = parts + prods * entering[None]
        hs = tf.reshape(tf.transpose(hs, [1, 0, 2, 3]), tf.concat([[n * k], rest], 0))
        return hs[:t]

    def log_depth(a, b, h0):
        # Hillis-Steele: log2(T) rounds, each combining every step with the one 2^i back.
        b = tf.concat([b[:1] + a[:1] * h0, b[1:]], 0)
        shift = 1
        while shift < steps:
            a_prev = tf.concat([tf.ones_like(a[:shift]), a[:-shift]], 0)
            b_prev = tf.concat([tf.zeros_like(b[:shift]), b[:-shift]], 0)
            a, b = a * a_prev, b + a * b_prev
            shift *= 2
        return b

    variants = {
        "while loop, automatic gradient": _scan_loop,
        "blocked sqrt(T), automatic gradient": blocked,
        "log-depth (Hillis-Steele), automatic gradient": log_depth,
        "while loop, reverse-scan gradient (shipped)": _linear_scan,
        "no scan (h_t = b_t): the floor": lambda a, b, h0: b,
    }
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=shape[:3]).astype("float32"))
    y = tf.constant(rng.normal(size=(batch, steps, units)).astype("float32") * 0.1)
    kernel = tf.Variable(rng.normal(size=(features, 2 * units)).astype("float32") * 0.05)
    bias = tf.Variable(tf.zeros(2 * units))
    optimizer = keras.optimizers.SGD(1e-4)

    def make_step(scan):
        @tf.function
        def step():
            with tf.GradientTape() as tape:
                inputs = tf.reshape(tf.transpose(x, (1, 0, 2)), (-1, features))
                p = tf.reshape(inputs @ kernel + bias, (steps, batch, 2 * units))
                z = tf.sigmoid(p[..., :units])
                hs = scan(1 - z, z * p[..., units:], tf.zeros((batch, units)))
                loss = tf.reduce_mean(tf.square(tf.transpose(hs, (1, 0, 2)) - y))
            grads = tape.gradient(loss, [kernel, bias])
            optimizer.apply(grads, [kernel, bias])
            return loss

        return step

    steps_by_name = {name: make_step(scan) for name, scan in variants.items()}
    reference = build_model(keras.layers, "GRU", shape, False)
    runs = {**steps_by_name, "keras GRU": reference}

    def run(thing):
        if isinstance(thing, keras.Model):
            return thing.train_on_batch(x, y)
        return thing().numpy()

    ms = time_alternating(runs, run, repeats)
    return [
        f"| {name} | {', '.join(map(str, shape))} | {value:.1f} | {ms['keras GRU'] / value:.2f}x |"
        for name, value in ms.items()
    ]


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


SECTIONS = ("parity", "minimal", "scan", "profile")


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
    parser.add_argument(
        "--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
        help="parity: rnnkit vs Keras per layer; minimal: MinGRU/MinLSTM vs GRU/LSTM; "
        "scan: scan variants of a MinGRU step; profile: inference parts and matmul rates",
    )  # fmt: skip
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown table path")
    args = parser.parse_args(argv)
    repeats = args.repeats or (5 if args.quick else 15)
    load_before = os.getloadavg()[0]
    command = " ".join(["python benchmarks/layers.py", *(sys.argv[1:] if argv is None else argv)])
    print(machine())
    text = [
        "# Recurrent layers: rnnkit vs Keras",
        "",
        f"Machine: {machine()}; load average before: {load_before:.1f}.",
        f"Command: `{command}` ({repeats} alternating runs per case, medians).",
        "Ratio = keras ms / rnnkit ms (above 1: rnnkit is faster).",
        "",
    ]

    def section(title, lines):
        text.extend([title, "", *lines, ""])

    if "parity" in args.sections:
        header = (
            "| layer | batch, steps, in, units | task | keras ms | rnnkit ms | ratio "
            "| rnnkit's placement | other placement: ms, ratio | keras GFLOP/s "
            "| rnnkit GFLOP/s |"
        )
        lines = [header, "|" + "---|" * 10]
        print(header)
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
                            f"| {r['placement']} | {r['other_ms']:.1f}, {r['other_ratio']:.2f}x "
                            f"| {r['keras_gflops']:.1f} | {r['ours_gflops']:.1f} |"
                        )
                        lines.append(line)
                        print(line, flush=True)
        section("Same layers, same weights, same numbers (checked before timing):", lines)
    if "minimal" in args.sections:
        lines = [
            "| layers | batch, steps, in, units | task | keras ms | rnnkit ms | ratio |",
            "|---|---|---|---|---|---|",
        ]
        for shape_index in args.shapes:
            for line in bench_minimal(SHAPES[shape_index], repeats):
                lines.append(line)
                print(line, flush=True)
        section("MinGRU / MinLSTM against Keras's GRU / LSTM of the same width:", lines)
    if "scan" in args.sections:
        lines = [
            "| scan | batch, steps, in, units | train step ms | vs keras GRU |",
            "|---|---|---|---|",
        ]
        for shape_index in args.shapes:
            for line in scan_variants(SHAPES[shape_index], repeats):
                lines.append(line)
                print(line, flush=True)
        section("Scan variants inside one MinGRU-like training step (same process):", lines)
    if "profile" in args.sections:
        profile_lines = [
            "| layer | batch, steps, in, units | part | ms |",
            "|---|---|---|---|",
        ]
        for layer_key in ("lstm", "gru"):
            for name, ms in profile_forward(layer_key, SHAPES[0], repeats).items():
                shape = ", ".join(map(str, SHAPES[0]))
                profile_lines.append(f"| {LAYERS[layer_key][0]} | {shape} | {name} | {ms:.1f} |")
        section("Profile of an inference pass (median ms; each part alone, in its own graph):",
                profile_lines)  # fmt: skip
        rate_lines = ["| matmul | GFLOP/s |", "|---|---|"]
        rate_lines += [f"| {what} | {rate:.0f} |" for what, rate in matmul_rates(repeats)]
        section("Matmul throughput of this CPU (`tf.matmul`, best of the runs):", rate_lines)
    text.append(f"Load average after: {os.getloadavg()[0]:.1f}.")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(text) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
