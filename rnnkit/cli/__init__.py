"""The `rnnkit` command line: one runner for train / evaluate / predict / export of every pipeline.

Example:
    rnnkit train sentiment --corpus rotten_tomatoes --output sentiment.keras --set epochs=3
    rnnkit evaluate sentiment --model sentiment.keras --data reviews.csv --text-column text
    rnnkit predict sentiment --model sentiment.keras --text "a gorgeous, witty film"
    rnnkit export sentiment --model sentiment.keras --output sentiment_savedmodel
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rnnkit._quiet import quiet_tensorflow_startup

__all__ = ["main"]


@dataclass(frozen=True)
class _TaskSpec:
    pipeline: str  # "module:Class" in `pipelines`
    corpora: tuple[str, ...]  # loaders in rnnkit.datasets
    read: Callable[[argparse.Namespace], tuple]  # reads --data into the fit arguments
    predict: Callable[[object, list[str]], list]  # runs the pipeline on raw input lines


def _read_texts(args):
    from rnnkit import data

    return data.read_texts(args.data, text_column=args.text_column, label_column=args.label_column)


def _read_pairs(args):
    from rnnkit import data

    return data.read_pairs(
        args.data, source_column=args.source_column, target_column=args.target_column
    )


def _read_tagged(args):
    from rnnkit import data

    return data.read_tagged(args.data, format=args.format, tag_column=args.tag_column)


def _predict_sentiment(model, lines):
    probs = model.predict_proba(lines)
    return [
        {"text": t, "label": _plain(model.classes_[i]), "score": float(p[i])}
        for t, p, i in zip(lines, probs, probs.argmax(axis=1), strict=True)
    ]


def _predict_translation(model, lines):
    return [
        {"source": s, "translation": t} for s, t in zip(lines, model.translate(lines), strict=True)
    ]


def _predict_tagging(model, lines):
    return [{"text": t, "entities": model.predict_entities(t)} for t in lines]


_TASKS = {
    "sentiment": _TaskSpec(
        "pipelines.sentiment:SentimentClassifier",
        ("rotten_tomatoes",),
        _read_texts,
        _predict_sentiment,
    ),
    "translation": _TaskSpec(
        "pipelines.translation:Translator", ("tatoeba",), _read_pairs, _predict_translation
    ),
    "tagging": _TaskSpec(
        "pipelines.tagging:SequenceTagger",
        ("wnut16", "turkish_treebank"),
        _read_tagged,
        _predict_tagging,
    ),
}


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _pipeline_class(spec: _TaskSpec):
    module, _, name = spec.pipeline.partition(":")
    return getattr(importlib.import_module(module), name)


def _parse_settings(pairs: Sequence[str]) -> dict:
    settings = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.isidentifier():
            raise SystemExit(f"rnnkit: `--set` takes KEY=VALUE (e.g. epochs=3), got {pair!r}.")
        try:
            settings[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            settings[key] = raw  # a bare word such as cell=gru
    return settings


def _load_training_data(args, spec: _TaskSpec) -> tuple[tuple, tuple | None]:
    if args.corpus:
        if args.corpus not in spec.corpora:
            raise SystemExit(
                f"rnnkit: `--corpus` for {args.task} must be one of {list(spec.corpora)}, "
                f"got {args.corpus!r}."
            )
        from rnnkit import datasets

        splits = getattr(datasets, args.corpus)()
        return splits["train"], splits.get("validation")
    if not args.data:
        raise SystemExit("rnnkit: pass `--data FILE` or `--corpus NAME` to train.")
    return spec.read(args), None


def _add_reader_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading --data (see rnnkit.data)")
    group.add_argument("--text-column", default="text", help="sentiment: text column")
    group.add_argument("--label-column", default="label", help="sentiment: label column")
    group.add_argument("--source-column", default=0, type=_column, help="translation: source")
    group.add_argument("--target-column", default=1, type=_column, help="translation: target")
    group.add_argument("--format", default="conll", help="tagging: conll, conllu or word_tag")
    group.add_argument("--tag-column", default=None, type=_column, help="tagging: tag column")


def _column(value: str):
    return int(value) if value.lstrip("-").isdigit() else value


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnkit", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="fit a pipeline and save it as one .keras file")
    train.add_argument("task", choices=sorted(_TASKS))
    train.add_argument("--data", help="training file")
    train.add_argument("--corpus", help="a bundled corpus from rnnkit.datasets instead of --data")
    train.add_argument("--output", required=True, help="where to save the pipeline (.keras)")
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a pipeline option, e.g. --set epochs=3 --set cell=gru",
    )
    _add_reader_options(train)

    evaluate = sub.add_parser("evaluate", help="score a saved pipeline on labelled data")
    evaluate.add_argument("task", choices=sorted(_TASKS))
    evaluate.add_argument("--model", required=True)
    evaluate.add_argument("--data", help="labelled file")
    evaluate.add_argument("--corpus", help="a bundled corpus: its test split")
    _add_reader_options(evaluate)

    predict = sub.add_parser("predict", help="run a saved pipeline on raw text (JSON lines out)")
    predict.add_argument("task", choices=sorted(_TASKS))
    predict.add_argument("--model", required=True)
    predict.add_argument(
        "--text", action="append", default=[], help="an input (repeatable); else stdin lines"
    )

    export = sub.add_parser("export", help="export a saved pipeline as a TF SavedModel")
    export.add_argument("task", choices=sorted(_TASKS))
    export.add_argument("--model", required=True)
    export.add_argument("--output", required=True)
    export.add_argument("--overwrite", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    quiet_tensorflow_startup()
    args = _build_parser().parse_args(argv)
    spec = _TASKS[args.task]
    cls = _pipeline_class(spec)
    if args.command == "train":
        settings = _parse_settings(args.set)
        try:
            model = cls(**settings)
        except TypeError:
            valid = sorted(cls().get_params())
            raise SystemExit(f"rnnkit: unknown option in `--set`; valid options: {valid}") from None
        train, validation = _load_training_data(args, spec)
        fit_kwargs = {"validation_data": validation} if validation is not None else {}
        model.fit(*train, **fit_kwargs)
        model.save(args.output)
        print(f"saved {args.output}")
    elif args.command == "evaluate":
        model = cls.load(args.model)
        if args.corpus:
            from rnnkit import datasets

            test = getattr(datasets, args.corpus)()["test"]
        elif args.data:
            test = spec.read(args)
        else:
            raise SystemExit("rnnkit: pass `--data FILE` or `--corpus NAME` to evaluate.")
        print(json.dumps({k: float(v) for k, v in model.evaluate(*test).items()}, indent=2))
    elif args.command == "predict":
        model = cls.load(args.model)
        lines = list(args.text) or [line.rstrip("\n") for line in sys.stdin if line.strip()]
        for record in spec.predict(model, lines):
            print(json.dumps(record, ensure_ascii=False))
    elif args.command == "export":
        model = cls.load(args.model)
        print(model.export(args.output, overwrite=args.overwrite))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
