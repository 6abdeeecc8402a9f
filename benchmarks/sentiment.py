"""Benchmark: SentimentClassifier (defaults) vs TF-IDF + logistic regression on Rotten Tomatoes.

Measures, in one process run on the same split (`rnnkit.datasets.rotten_tomatoes(seed=0)`):
- test accuracy of `SentimentClassifier()` with its default settings over 3 seeds (mean, std,
  min, max) and of the TF-IDF 1-2-gram + logistic regression baseline (C chosen on validation);
- training time (wall clock, early stopping on the validation split included);
- throughput of the exported SavedModel (`tf.saved_model.load`, signature `serving_default`)
  in sentences per second at batch size 1 and 256, and of `predict` in process.

Writes `benchmarks/results/sentiment.md`. Run: `.venv/bin/python benchmarks/sentiment.py`
(`--seeds 0 1 2`). Wall times depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import numpy as np
import tensorflow as tf

from pipelines import SentimentClassifier
from rnnkit import datasets
from rnnkit.baselines import tfidf_logistic_regression

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "sentiment.md")


def _throughput(fn, texts: list[str], batch_size: int, min_seconds: float = 5.0) -> float:
    """Sentences per second of `fn(batch)` over consecutive batches (after one warm-up call)."""
    batches = [texts[i : i + batch_size] for i in range(0, len(texts), batch_size)]
    fn(batches[0])
    done, start, i = 0, time.perf_counter(), 0
    while True:
        batch = batches[i % len(batches)]
        fn(batch)
        done += len(batch)
        i += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and i >= 3:
            return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output", default=RESULTS)
    args = parser.parse_args()

    load_start = os.getloadavg()[0]
    splits = datasets.rotten_tomatoes(seed=0)
    train, validation, test = splits["train"], splits["validation"], splits["test"]

    tic = time.perf_counter()
    baseline = tfidf_logistic_regression(train, validation)
    baseline_seconds = time.perf_counter() - tic
    baseline_accuracy = baseline.score(*test)
    print(f"TF-IDF + LR: test accuracy {baseline_accuracy:.4f} (C={baseline[-1].C})")

    runs = []
    first = None
    for seed in args.seeds:
        clf = SentimentClassifier(seed=seed, verbose=2)
        tic = time.perf_counter()
        clf.fit(*train, validation_data=validation)
        seconds = time.perf_counter() - tic
        scores = clf.evaluate(*test)
        runs.append(
            {
                "seed": seed,
                "accuracy": scores["accuracy"],
                "macro_f1": scores["macro_f1"],
                "seconds": seconds,
                "epochs": len(clf.history_["loss"]),
            }
        )
        print(f"seed {seed}: test accuracy {scores['accuracy']:.4f} in {seconds:.0f} s")
        first = first or clf

    texts = list(test[0])
    with tempfile.TemporaryDirectory() as tmp:
        path = first.export(os.path.join(tmp, "sentiment_savedmodel"))
        serve = tf.saved_model.load(path).signatures["serving_default"]

        def served(batch):
            return serve(text=tf.constant(batch))["probabilities"].numpy()

        export_1 = _throughput(served, texts, 1)
        export_256 = _throughput(served, texts, 256)
        np.testing.assert_allclose(served(texts[:256]), first.predict_proba(texts[:256]), atol=1e-5)
    predict_256 = _throughput(first.predict_proba, texts, 256)

    accuracies = [r["accuracy"] for r in runs]
    mean = statistics.mean(accuracies)
    std = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    seconds = [r["seconds"] for r in runs]
    load_end = os.getloadavg()[0]
    defaults = SentimentClassifier().get_params()
    settings = ", ".join(
        f"{k}={defaults[k]!r}"
        for k in (
            "cell",
            "bidirectional",
            "units",
            "embedding_dim",
            "pooling",
            "word_dropout",
            "embedding_dropout",
            "dropout",
            "learning_rate",
            "batch_size",
            "epochs",
            "patience",
            "vocabulary_size",
            "max_length",
        )
    )

    lines = [
        "# Sentiment: SentimentClassifier vs TF-IDF + logistic regression",
        "",
        "Produced by `benchmarks/sentiment.py` (one process run). Data: Rotten Tomatoes review",
        f"snippets, `rnnkit.datasets.rotten_tomatoes(seed=0)`: train {len(train[0]):,}, "
        f"validation {len(validation[0]):,}, test {len(test[0]):,}.",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPU cores, Python "
        f"{platform.python_version()}, TensorFlow {tf.__version__}. Load average "
        f"{load_start:.1f} at start, {load_end:.1f} at end: the machine was shared, so wall "
        "times are slower than on a quiet machine.",
        "",
        "## Test accuracy (same split)",
        "",
        "| model | test accuracy | train time |",
        "|---|---|---|",
        f"| TF-IDF 1-2-grams + logistic regression (C={baseline[-1].C:g}, chosen on validation) "
        f"| {baseline_accuracy:.4f} | {baseline_seconds:.0f} s (C grid included) |",
        f"| SentimentClassifier() defaults, {len(runs)} seeds: mean ± std "
        f"| {mean:.4f} ± {std:.4f} (min {min(accuracies):.4f}, max {max(accuracies):.4f}) "
        f"| {statistics.mean(seconds):.0f} s mean (max {max(seconds):.0f} s) |",
        "",
        f"Accuracy difference (mean - baseline): {100 * (mean - baseline_accuracy):+.2f} points. "
        f"Seeds above or at the baseline: {sum(a >= baseline_accuracy for a in accuracies)}"
        f"/{len(runs)}.",
        "",
        "| seed | test accuracy | macro-F1 | epochs | train time |",
        "|---|---|---|---|---|",
        *(
            f"| {r['seed']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {r['epochs']} "
            f"| {r['seconds']:.0f} s |"
            for r in runs
        ),
        "",
        f"Defaults: {settings}.",
        "",
        "## Throughput (sentences/s, test snippets)",
        "",
        "| path | batch 1 | batch 256 |",
        "|---|---|---|",
        f"| exported SavedModel, `serving_default` | {export_1:,.0f} | {export_256:,.0f} |",
        f"| `clf.predict_proba` in process | - | {predict_256:,.0f} |",
        "",
    ]
    report = "\n".join(lines)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(report)
    print(report)


if __name__ == "__main__":
    main()
