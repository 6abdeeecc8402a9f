"""Benchmark: Translator (default settings) on Tatoeba Spanish->English, 2,000 held-out pairs.

Measures, in one process run on `rnnkit.datasets.tatoeba("spa", source="spa")` (seed 0: 136,868
training, 2,000 validation and 2,000 test pairs):
- training wall time of `Translator(seed=0)` with its defaults (validation loss for early
  stopping), and the training curve (loss and validation loss per epoch, seconds per epoch);
- what a training step's time goes into: the output softmax (its matmul, cross-entropy and
  gradients) against the whole step, on the same batches;
- BLEU and chrF (sacrebleu, 13a, both sides lower-cased) and the per-token loss on the test
  pairs, greedy and with beam search of width 4;
- decoding speed, sentences per second, greedy and beam 4, batches of 64 (in process; the
  exported SavedModel runs the same graph);
- sample translations, and the attention heatmap of one sentence (`docs/attention.png`).

Writes `benchmarks/results/translation.md` and saves the model to `artifacts/translator.keras`.
Run: `nice .venv/bin/python benchmarks/translation.py > artifacts/translation.log 2>&1 &`
(about 30 minutes on 2 idle cores). `--train-size 5000 --epochs 1` is a quick check; `--load
artifacts/translator.keras` evaluates a saved model without training. Wall times depend on the
machine and on what else runs on it (the load average is recorded).
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import re
import sys
import time

import keras
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pipelines import Translator  # noqa: E402
from rnnkit import datasets  # noqa: E402
from rnnkit.cli import _parse_settings  # noqa: E402
from rnnkit.training import MovingAverage  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "translation.md")
HEATMAP = os.path.join(ROOT, "docs", "attention.png")
MODEL = os.path.join(ROOT, "artifacts", "translator.keras")
HEATMAP_SENTENCE = "¿Dónde está la biblioteca?"
SAMPLES = 10


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of every epoch (validation included), and the weights training
    ended with (before the Translator may swap in their moving average)."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self.final_weights: list | None = None

    def on_train_end(self, logs=None):
        self.final_weights = MovingAverage.weights(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        print(f"epoch {epoch + 1}: {self.seconds[-1]:.0f} s {logs}", flush=True)


class EpochBleu(keras.callbacks.Callback):
    """Greedy BLEU on validation pairs after every epoch (the quality curve)."""

    def __init__(self, translator: Translator, sources: list[str], references: list[str]):
        super().__init__()
        self.translator, self.sources, self.references = translator, sources, references
        self.bleu: list[float] = []

    def on_epoch_end(self, epoch, logs=None):
        scores = self.translator.evaluate(self.sources, self.references, beam_width=1)
        self.bleu.append(scores["bleu"])
        print(f"epoch {epoch + 1}: validation BLEU (greedy) {scores['bleu']:.1f}", flush=True)


def _read_training_log(path: str) -> dict:
    """The training curve printed by an earlier run of this script (for `--load`)."""
    curve: dict = {"seconds": [], "loss": [], "val_loss": [], "bleu": [], "wall": None}
    with open(path, encoding="utf-8") as f:
        for line in f:
            epoch = re.match(r"epoch (\d+): (\d+) s (\{.*\})$", line.strip())
            bleu = re.match(r"epoch \d+: validation BLEU \(greedy\) ([\d.]+)$", line.strip())
            wall = re.match(r"trained in (\d+) s", line)
            if epoch:
                logs = ast.literal_eval(epoch.group(3))
                curve["seconds"].append(float(epoch.group(2)))
                curve["loss"].append(logs["loss"])
                curve["val_loss"].append(logs.get("val_loss", float("nan")))
            elif bleu:
                curve["bleu"].append(float(bleu.group(1)))
            elif wall:
                curve["wall"] = float(wall.group(1))
    if not curve["seconds"] or curve["wall"] is None:
        raise SystemExit(f"--training-log {path}: no training curve in it (epoch lines).")
    return curve


def _speed(tr: Translator, texts: list[str], beam_width: int) -> float:
    """Sentences per second of `translate` in batches of 64 (after a warm-up batch)."""
    tr.translate(texts[:64], beam_width=beam_width)
    start = time.perf_counter()
    tr.translate(texts, beam_width=beam_width, batch_size=64)
    return len(texts) / (time.perf_counter() - start)


def _softmax_share(tr: Translator, sources: list[str], targets: list[str]) -> dict[str, float]:
    """Seconds per training step on the same batches: the model's own step, the step with the
    full softmax, and the full output softmax alone (its matmul, cross-entropy, gradients)."""
    model = tr.model
    batches = list(tr._batches(sources, targets, train=True).take(40))
    if not model.compiled:  # a loaded model
        model.compile(
            optimizer="adam",
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
        )
    vocab = model.decoder.vocabulary_size
    width = model.decoder.attentional.units
    weights = tf.Variable(tf.random.normal([vocab, width], stddev=0.05))
    bias = tf.Variable(tf.zeros([vocab]))

    @tf.function(reduce_retracing=True)
    def softmax_step(target_out):
        shape = tf.shape(target_out)
        attentional = tf.random.normal([shape[0] * shape[1], width])
        with tf.GradientTape() as tape:
            tape.watch(attentional)
            logits = tf.matmul(attentional, weights, transpose_b=True) + bias
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
                tf.reshape(target_out, [-1]), logits
            )
            loss = tf.reduce_mean(losses)
        return tape.gradient(loss, [attentional, weights, bias])

    def train_step(sampled):
        model.sampled_softmax = sampled
        model.make_train_function(force=True)
        step = model.train_function
        return lambda b: step(iter([b]))

    sampled = model.sampled_softmax
    timings = {}
    for name, make in (
        ("whole step", lambda: train_step(sampled)),
        ("full softmax step", lambda: train_step(None)),
        ("softmax only", lambda: lambda b: softmax_step(b[1])),
    ):
        fn = make()
        for batch in batches[:10]:  # warm-up and tracing
            fn(batch)
        start = time.perf_counter()
        for batch in batches[10:]:
            fn(batch)
        timings[name] = (time.perf_counter() - start) / len(batches[10:])
    model.sampled_softmax = sampled
    # The train functions updated the weights: the caller saves the model before this.
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=None, help="train on a subset")
    parser.add_argument("--epochs", type=int, default=None, help="override the default epochs")
    parser.add_argument("--time-budget", type=float, default=None, help="override the default")
    parser.add_argument(
        "--no-time-budget", action="store_true", help="train all epochs (time_budget=None)"
    )
    parser.add_argument(
        "--curve", type=int, default=0, help="greedy BLEU on this many validation pairs per epoch"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a non-default Translator setting (the `rnnkit train --set` syntax); repeatable",
    )
    parser.add_argument("--load", default=None, help="evaluate this saved model, no training")
    parser.add_argument(
        "--training-log",
        default=None,
        help="with --load: the log of the run that trained it, for the training curve",
    )
    parser.add_argument("--model", default=MODEL, help="where to save the trained model")
    parser.add_argument("--output", default=RESULTS)
    parser.add_argument("--heatmap", default=HEATMAP)
    args = parser.parse_args()

    load_start = os.getloadavg()
    splits = datasets.tatoeba("spa", source="spa")
    train_src, train_tgt = splits["train"]
    if args.train_size:
        train_src, train_tgt = train_src[: args.train_size], train_tgt[: args.train_size]
    test_src, test_tgt = splits["test"]

    timer = EpochTimer()
    training = None  # the training curve: seconds, loss, val_loss, bleu per epoch; wall time
    if args.load:
        tr = Translator.load(args.load)
        if args.training_log:
            training = _read_training_log(args.training_log)
    else:
        overrides = _parse_settings(args.set)
        if args.epochs:
            overrides["epochs"] = args.epochs
        if args.time_budget:
            overrides["time_budget"] = args.time_budget
        if args.no_time_budget:
            overrides["time_budget"] = None
        tr = Translator(seed=0, verbose=2, **overrides)
        callbacks: list[keras.callbacks.Callback] = [timer]
        curve = None
        if args.curve:
            val_src, val_tgt = splits["validation"]
            curve = EpochBleu(tr, val_src[: args.curve], val_tgt[: args.curve])
            callbacks.append(curve)
        tr.set_params(callbacks=callbacks)
        tr.fit(train_src, train_tgt, validation_data=splits["validation"])
        os.makedirs(os.path.dirname(os.path.abspath(args.model)), exist_ok=True)
        tr.save(args.model)
        print(f"trained in {tr.training_time_:.0f} s, saved to {args.model}", flush=True)
        training = {
            "seconds": timer.seconds,
            "loss": tr.history_["loss"],
            "val_loss": tr.history_.get("val_loss", [float("nan")] * len(timer.seconds)),
            "bleu": curve.bleu if curve else [],
            "wall": tr.training_time_,
        }

    scores = {}
    for beam_width in (1, 4):
        start = time.perf_counter()
        scores[beam_width] = tr.evaluate(test_src, test_tgt, beam_width=beam_width)
        print(f"beam {beam_width}: {scores[beam_width]} ({time.perf_counter() - start:.0f} s)")
    # Side by side: the same run's other weights (final ones if the average was kept).
    other_scores, other = {}, None
    if timer.final_weights is not None and getattr(tr, "kept_weights_", "final") != "final":
        other = "final"
        kept = MovingAverage.weights(tr.model)
        MovingAverage.assign(tr.model, timer.final_weights)
        other_scores = {b: tr.evaluate(test_src, test_tgt, beam_width=b) for b in (1, 4)}
        print(f"final weights: {other_scores}", flush=True)
        MovingAverage.assign(tr.model, kept)
    speed = {beam_width: _speed(tr, test_src, beam_width) for beam_width in (1, 4)}
    print(f"sentences/s: {speed}", flush=True)
    samples = list(zip(test_src[:SAMPLES], test_tgt[:SAMPLES], strict=True))
    greedy = tr.translate([s for s, _ in samples], beam_width=1)
    beam = tr.translate([s for s, _ in samples], beam_width=4)
    os.makedirs(os.path.dirname(os.path.abspath(args.heatmap)), exist_ok=True)
    tr.plot_attention(HEATMAP_SENTENCE, args.heatmap, beam_width=4)
    heatmap_translation = tr.translate([HEATMAP_SENTENCE], beam_width=4)[0]
    share = _softmax_share(tr, train_src[:20000], train_tgt[:20000])
    load_end = os.getloadavg()

    params = tr.get_params()
    lines = [
        "# Translator benchmark: Tatoeba Spanish -> English",
        "",
        "Written by `benchmarks/translation.py`"
        + (f" (`--train-size {args.train_size}`)" if args.train_size else "")
        + (f" (`--epochs {args.epochs}`)" if args.epochs else "")
        + (" (`--no-time-budget`)" if args.no_time_budget else "")
        + (f" (`--time-budget {args.time_budget}`)" if args.time_budget else "")
        + "".join(f" (`--set {pair}`)" for pair in args.set)
        + (f" (evaluating `{args.load}`)" if args.load else "")
        + (f" (training curve from `{args.training_log}`)" if args.training_log else "")
        + ".",
        "",
        f"- machine: {platform.platform()}, {os.cpu_count()} CPUs, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}; load average {load_start[0]:.1f} at the start, "
        f"{load_end[0]:.1f} at the end (other work on the machine slows every timing down)",
        f"- data: {len(train_src):,} training pairs, 2,000 validation pairs (early stopping), "
        "the fixed 2,000 held-out test pairs of `rnnkit.datasets.tatoeba('spa', source='spa')`",
        "- settings: `Translator(seed=0)`, defaults: "
        + ", ".join(
            f"`{k}={params[k]!r}`"
            for k in (
                "cell",
                "units",
                "encoder_units",
                "embedding_dim",
                "attention_type",
                "token_level",
                "source_vocabulary_size",
                "target_vocabulary_size",
                "tie_embeddings",
                "sampled_softmax",
                "label_smoothing",
                "dropout",
                "learning_rate",
                "learning_rate_decay",
                "learning_rate_cooldown",
                "batch_tokens",
                "time_budget",
                "epochs",
                "ema_momentum",
                "length_penalty",
            )
        ),
        "",
        "## Quality on the 2,000 held-out pairs",
        "",
        "BLEU and chrF from sacrebleu (13a tokenisation) on lower-cased hypotheses and "
        "references; loss is the teacher-forced cross-entropy per target token.",
        "",
        "| decoding | BLEU | chrF | loss |",
        "|---|---:|---:|---:|",
    ]
    kept_name = getattr(tr, "kept_weights_", "final")
    for beam_width, name in ((1, "greedy"), (4, "beam 4")):
        s = scores[beam_width]
        label = name if not other_scores else f"{name}, {kept_name} weights (kept)"
        lines.append(f"| {label} | {s['bleu']:.1f} | {s['chrf']:.1f} | {s['loss']:.3f} |")
    for beam_width, name in ((1, "greedy"), (4, "beam 4")):
        if other_scores:
            s = other_scores[beam_width]
            label = f"{name}, {other} weights (same run, not kept)"
            lines.append(f"| {label} | {s['bleu']:.1f} | {s['chrf']:.1f} | {s['loss']:.3f} |")
    lines += [
        "",
        "For scale (issue 7, not re-run here): the plain Keras recipe (bi-GRU encoder, GRU "
        "decoder with `AdditiveAttention`, 15k vocabularies, 3 epochs, 35 minutes) reaches "
        "38.8 BLEU greedy on such a split.",
        "",
        "## Training",
        "",
    ]
    if training is None:
        lines.append(f"Not trained in this run (model loaded from `{args.load}`).")
    else:
        epochs = len(training["seconds"])
        lines += [
            f"Wall time: {training['wall'] / 60:.1f} min for {epochs} epoch(s) (the whole `fit`: "
            "vocabularies, batching, training and the choice of weights).",
            "",
            "Loss: the training loss of the epoch"
            + (
                f" (sampled softmax over {tr.model.sampled_softmax:,} words, lower than the "
                "full softmax's)"
                if tr.model.sampled_softmax
                else ""
            )
            + (
                f", label-smoothed ({tr.model.label_smoothing:g}), so higher than plain "
                "cross-entropy"
                if tr.model.label_smoothing
                else ""
            )
            + "; validation loss: full softmax, Keras's mean over the validation batches "
            "(each batch's per-token loss weighted by its number of sentences, so short "
            "sentences count more and it is lower than `evaluate`'s per-token mean).",
            "",
            "| epoch | seconds | loss | validation loss | validation BLEU (greedy) |",
            "|---:|---:|---:|---:|---:|",
        ]
        bleu = training["bleu"]
        for i, seconds in enumerate(training["seconds"]):
            loss, val = training["loss"][i], training["val_loss"][i]
            b = f"{bleu[i]:.1f}" if i < len(bleu) else "-"
            lines.append(f"| {i + 1} | {seconds:.0f} | {loss:.3f} | {val:.3f} | {b} |")
        if bleu:
            lines += [
                "",
                f"Validation BLEU: greedy, on the first {args.curve or 500} validation pairs; "
                "its time is not in the epoch seconds (it is in the training wall time).",
            ]
    losses = getattr(tr, "weight_losses_", {})
    if losses:
        lines += [
            "",
            "Weights compared at the end of training (`ema_momentum`), validation loss: "
            + ", ".join(f"{name} {loss:.4f}" for name, loss in losses.items())
            + f"; kept: {kept_name} (`kept_weights_`). The per-epoch validation losses and "
            "BLEU above are of the weights being trained.",
        ]
    whole, softmax = share["whole step"], share["softmax only"]
    full = share["full softmax step"]
    sampled = tr.model.sampled_softmax
    lines += [
        "",
        "Where a training step's time goes (mean of 30 bucketed batches of the training data):",
        f"a training step with the full softmax takes {full * 1000:.0f} ms; the output softmax "
        f"over {tr.model.decoder.vocabulary_size:,} words alone (its matmul from "
        f"{tr.model.decoder.attentional.units} inputs, cross-entropy and gradients) takes "
        f"{softmax * 1000:.0f} ms, {100 * softmax / full:.0f}% of it."
        + (
            f" With the sampled softmax ({sampled:,} words per batch) that trains the "
            f"defaults, a step takes {whole * 1000:.0f} ms ({full / whole:.2f}x faster)."
            if sampled
            else ""
        ),
        "",
        "## Decoding speed",
        "",
        "Sentences per second, `translate` in batches of 64 over the 2,000 test sentences "
        "(one `tf.while_loop` per batch):",
        "",
        "| greedy | beam 4 |",
        "|---:|---:|",
        f"| {speed[1]:.0f} | {speed[4]:.0f} |",
        "",
        "## Sample translations (first test pairs)",
        "",
        "| source | reference | greedy | beam 4 |",
        "|---|---|---|---|",
    ]
    for (source, reference), g, b in zip(samples, greedy, beam, strict=True):
        cells = [c.replace("|", "\\|") for c in (source, reference, g, b)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Attention",
        "",
        f"`{HEATMAP_SENTENCE}` -> `{heatmap_translation}` (beam 4): "
        "![attention heatmap](../../docs/attention.png)",
        "",
    ]
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
