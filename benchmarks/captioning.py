"""Benchmark: ImageCaptioner (default settings) on captioned shapes and on digit strings.

Measures, in one process run, for each data set:
- `captioned_shapes`: train on 2,000 images of seed 0, test on 500 unseen images of seed 1;
- `digit_strings`: train on 2,000 strings of `split="train"`, test on 500 of `split="test"`
  (drawn only from scans the training strings never use);
- training wall time of `ImageCaptioner(seed=0)` and its curve (loss per epoch, seconds);
- BLEU-1..4 (sacrebleu / 100), exact match and per-token loss on the test images, greedy and
  beam 3; for digits also per-digit accuracy (word at each position equal to the reference's,
  over the reference's digits);
- captions per second, greedy and beam 3, batches of 64.
Also writes `docs/captioning_grid.png` (unseen test images with their generated captions)
and `docs/captioning_attention.png` (one attention overlay).

Writes `benchmarks/results/captioning.md`. Run:
`nice .venv/bin/python benchmarks/captioning.py > artifacts/captioning.log 2>&1 &` (each data
set trains for at most the default time budget, 9 minutes). `--small` is a quick check;
`--only shapes|digits` runs one; `--set key=value` changes a setting (for experiments).
Wall times depend on the machine and on what else runs on it (the load average is recorded).
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pipelines import ImageCaptioner  # noqa: E402
from rnnkit import datasets  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def per_digit(hypotheses, references):
    right = total = 0
    for hyp, ref in zip(hypotheses, references, strict=True):
        hyp, ref = hyp.split(), ref.split()
        right += sum(h == r for h, r in zip(hyp, ref, strict=False))
        total += len(ref)
    return right / total


_INVERSE = {"above": "below", "below": "above", "left of": "right of", "right of": "left of"}


def mirrored(caption):
    """The same scene named from the other shape: "A above B" -> "B below A"."""
    words = caption.split()
    first, second, relation = words[:4], words[-4:], " ".join(words[4:-4])
    return " ".join([*second, _INVERSE[relation], *first])


def speed(cap, images, beam_width):
    cap.caption(images[:64], beam_width=beam_width)  # traced once
    best = 0.0
    for _ in range(2):  # the better of two passes: the machine is shared
        start = time.perf_counter()
        cap.caption(images, beam_width=beam_width)
        best = max(best, len(images) / (time.perf_counter() - start))
    return best


def grid_figure(images, hypotheses, references, path):
    from matplotlib.figure import Figure

    columns = 4
    rows = -(-len(images) // columns)
    height, width = images.shape[1:3]
    panel = 3.2 if width > height else 2.4
    fig = Figure(figsize=(columns * panel, rows * (panel * height / width + 0.7)), dpi=110)
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, image, hyp, ref in zip(axes, images, hypotheses, references, strict=False):
        ax.imshow(image, interpolation="nearest")
        ok = (
            hyp == ref
            or (" of " in ref or "above" in ref or "below" in ref)
            and hyp == mirrored(ref)
        )
        words = hyp.split()
        text = " ".join(words[:5]) + ("\n" + " ".join(words[5:]) if len(words) > 5 else "")
        ax.set_title(text, fontsize=8, color="black" if ok else "crimson")
    fig.suptitle("unseen test images, generated captions (red: not the reference in either order)")
    fig.tight_layout()
    fig.savefig(path, format="png")


def run(name, train, test, settings, figures):
    print(f"== {name}", flush=True)
    cap = ImageCaptioner(seed=0, verbose=2, **settings)
    cap.fit(*train)
    row = {"name": name, "epochs": cap.epochs_, "time": cap.training_time_}
    row["curve"] = list(
        zip(cap.history_["loss"], cap.history_.get("learning_rate", []), strict=False)
    )
    images, refs = test
    for beam in (1, 3):
        scores = cap.evaluate(images, refs, beam_width=beam)
        hyps = cap.caption(images, beam_width=beam)
        scores["per_digit"] = per_digit(hyps, refs)
        if name == "captioned_shapes":
            # Either order names the same scene; the data set's caption picks one at random.
            both = cap.evaluate(images, [[r, mirrored(r)] for r in refs], beam_width=beam)
            scores["either_order"] = {k: both[k] for k in ("bleu_4", "exact")}
        row[f"beam{beam}"] = scores
        row[f"speed{beam}"] = speed(cap, images, beam)
        print(beam, scores, f"{row[f'speed{beam}']:.0f} captions/s", flush=True)
    row["samples"] = list(zip(refs[:6], cap.caption(images[:6]), strict=True))
    if figures:
        suffix = "" if name.startswith("captioned") else "_digits"
        grid_figure(
            images[:12],
            cap.caption(images[:12]),
            refs[:12],
            os.path.join(ROOT, "docs", f"captioning_grid{suffix}.png"),
        )
        if not suffix:
            cap.plot_attention(images[0], os.path.join(ROOT, "docs", "captioning_attention.png"))
    return row


def report(rows, settings, load_before, load_after, small):
    lines = [
        "# ImageCaptioner benchmark",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, shared (load average "
        f"{load_before:.2f} before, {load_after:.2f} after). Settings: defaults"
        + (f" with {settings}" if settings else "")
        + (" (--small)" if small else "")
        + ". `nice .venv/bin/python benchmarks/captioning.py`.",
        "",
        "| data (train / test) | epochs | training | decoding | BLEU-4 | BLEU-1 | exact "
        "| per-digit (shapes: per-word) | loss | captions/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for beam in (1, 3):
            s = row[f"beam{beam}"]
            lines.append(
                f"| {row['name']} | {row['epochs']} | {row['time']:.0f} s | "
                f"{'greedy' if beam == 1 else 'beam 3'} | {s['bleu_4']:.3f} | {s['bleu_1']:.3f} "
                f"| {s['exact']:.1%} | {s['per_digit']:.1%} | {s['loss']:.3f} "
                f"| {row[f'speed{beam}']:.0f} |"
            )
    for row in rows:
        for beam in (1, 3):
            either = row[f"beam{beam}"].get("either_order")
            if either:
                lines.append(
                    f"\n{row['name']}, {'greedy' if beam == 1 else 'beam 3'}, scored against "
                    f"both orders of each caption (`A above B` and `B below A`): BLEU-4 "
                    f"{either['bleu_4']:.3f}, exact {either['exact']:.1%}."
                )
    for row in rows:
        lines += ["", f"## {row['name']}: training curve", "", "| epoch | loss | learning rate |"]
        lines.append("|---|---|---|")
        for i, (loss, rate) in enumerate(row["curve"], 1):
            lines.append(f"| {i} | {loss:.4f} | {rate:.2e} |")
        lines += ["", "Samples (reference -> greedy caption):", ""]
        lines += [f"- `{ref}` -> `{hyp}`" for ref, hyp in row["samples"]]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--only", choices=("shapes", "digits"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    default_output = os.path.join(ROOT, "benchmarks/results/captioning.md")
    parser.add_argument("--output", default=default_output, help="experiments: no figures")
    args = parser.parse_args()
    figures = args.output == default_output and not args.small
    settings = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            settings[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            settings[key] = value
    n_train, n_test = (200, 50) if args.small else (2000, 500)
    if args.small:
        settings = {"epochs": 2, "filters": (8, 16), "units": 32, **settings}
    load_before = os.getloadavg()[0]
    rows = []
    if args.only in (None, "shapes"):
        train = datasets.captioned_shapes(n_train, seed=0)
        test = datasets.captioned_shapes(n_test, seed=1)
        rows.append(run("captioned_shapes", train, test, settings, figures))
    if args.only in (None, "digits"):
        train = datasets.digit_strings(n_train, split="train", seed=0)
        test = datasets.digit_strings(n_test, split="test", seed=1)
        rows.append(run("digit_strings", train, test, settings, figures))
    text = report(rows, settings, load_before, os.getloadavg()[0], args.small)
    print(text)
    if args.output != "-":
        with open(args.output, "w") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
