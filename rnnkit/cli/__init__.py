"""The `rnnkit` command line: one runner for train / evaluate / predict / export of every pipeline.

Example:
    rnnkit train sentiment --corpus rotten_tomatoes --output sentiment.keras --set epochs=3
    rnnkit evaluate sentiment --model sentiment.keras --data reviews.csv --text-column text
    rnnkit predict sentiment --model sentiment.keras --text "a gorgeous, witty film"
    rnnkit export sentiment --model sentiment.keras --output sentiment_savedmodel

Every command is `rnnkit COMMAND TASK [options]`; `rnnkit COMMAND TASK --help` lists the
options. A user error prints one line `rnnkit: error: ...` and exits with status 2 (a wrong
command line) or 1 (the command failed: a bad file, a bad setting); `--debug` shows the
traceback instead.

Extending it:
- a task: add a `TaskSpec` to `_TASKS` (its pipeline class, bundled corpora, its `--data`
  options and reader, and how `predict` prints one input);
- a training option: add the flag in `_add_training_options` and pass it on in
  `_fit_kwargs` (or `_pipeline_settings` for a pipeline setting).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rnnkit._quiet import quiet_tensorflow_startup

__all__ = ["main"]


class UsageError(Exception):
    """A wrong command line: exit status 2."""


class _Parser(argparse.ArgumentParser):
    """No abbreviated flags (`--dat` is not `--data`); errors in one line, raised not printed."""

    def __init__(self, *args, **kwargs):
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        raise UsageError(f"{message} (see `{self.prog} --help`)")


@dataclass(frozen=True)
class TaskSpec:
    """What the command line needs to know about one pipeline."""

    pipeline: str  # "module:Class"
    corpora: tuple[str, ...]  # loaders in rnnkit.datasets (`--corpus`)
    add_data_options: Callable[[argparse.ArgumentParser], None]  # `--data` and how to read it
    read: Callable[[argparse.Namespace], tuple]  # --data -> the arguments of fit / evaluate
    predict: Callable[[Any, list[str]], list[dict]]  # raw input lines -> JSON records


def _column(value: str) -> int | str:
    return int(value) if value.lstrip("-").isdigit() else value


# -- sentiment ------------------------------------------------------------------------------------
def _sentiment_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", metavar="FILE", help="CSV, TSV or JSON-lines file (or a folder per label)"
    )
    group = parser.add_argument_group("reading --data (see rnnkit.data.read_texts)")
    group.add_argument("--text-column", default="text", type=_column, help="default: text")
    group.add_argument("--label-column", default="label", type=_column, help="default: label")
    group.add_argument("--format", choices=["csv", "tsv", "jsonl"], help="default: from the name")


def _read_texts(args: argparse.Namespace) -> tuple:
    from rnnkit import data

    return data.read_texts(
        args.data, text_column=args.text_column, label_column=args.label_column, format=args.format
    )


def _predict_sentiment(model, lines: list[str]) -> list[dict]:
    probs = model.predict_proba(lines)
    return [
        {"text": t, "label": _plain(model.classes_[i]), "score": float(p[i])}
        for t, p, i in zip(lines, probs, probs.argmax(axis=1), strict=True)
    ]


# -- translation ----------------------------------------------------------------------------------
def _translation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        nargs="+",
        metavar="FILE",
        help="a TSV of pairs, or two line-aligned files: --data train.es train.en",
    )
    group = parser.add_argument_group("reading --data (see rnnkit.data.read_pairs)")
    group.add_argument("--source-column", default=0, type=_column, help="TSV: default 0")
    group.add_argument("--target-column", default=1, type=_column, help="TSV: default 1")


def _read_pairs(args: argparse.Namespace) -> tuple:
    from rnnkit import data

    if len(args.data) > 2:
        raise UsageError(
            f"`--data` takes one TSV of pairs or two aligned files, got {len(args.data)} files."
        )
    if len(args.data) == 2:
        return data.read_pairs(tuple(args.data))
    return data.read_pairs(
        args.data[0], source_column=args.source_column, target_column=args.target_column
    )


def _predict_translation(model, lines: list[str]) -> list[dict]:
    return [
        {"source": s, "translation": t} for s, t in zip(lines, model.translate(lines), strict=True)
    ]


# -- tagging --------------------------------------------------------------------------------------
def _tagging_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="FILE", help="CoNLL, CoNLL-U or word/TAG file")
    group = parser.add_argument_group("reading --data (see rnnkit.data.read_tagged)")
    group.add_argument(
        "--format",
        choices=["conll", "conllu", "word_tag"],
        help="default: conllu for .conllu files or CoNLL-U content, else conll",
    )
    group.add_argument(
        "--tag-column", type=_column, help="default: the last column (CoNLL-U: upos)"
    )
    group.add_argument(
        "--token-column", type=_column, help="default: the first column (CoNLL-U: form)"
    )


def _read_tagged(args: argparse.Namespace) -> tuple:
    from rnnkit import data

    options = {
        name: getattr(args, name)
        for name in ("format", "tag_column", "token_column")
        if getattr(args, name) is not None
    }
    return data.read_tagged(args.data, **options)


def _predict_tagging(model, lines: list[str]) -> list[dict]:
    if model.scheme_ is not None:  # entity tags: spans with character offsets
        entities = model.predict_entities(lines) if lines else []
        return [{"text": t, "entities": e} for t, e in zip(lines, entities, strict=True)]
    tokens = [line.split() for line in lines]
    tags = model.predict(tokens) if lines else []
    return [
        {"text": t, "tokens": w, "tags": g} for t, w, g in zip(lines, tokens, tags, strict=True)
    ]


# -- captioning -----------------------------------------------------------------------------------
def _captioning_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", metavar="FILE", help="a Flickr8k token file or COCO captions JSON"
    )
    group = parser.add_argument_group("reading --data (see rnnkit.data.read_captions)")
    group.add_argument("--format", choices=["flickr8k", "coco"], default="flickr8k")
    group.add_argument("--image-dir", metavar="FOLDER", help="the folder holding the images")


def _read_captions(args: argparse.Namespace) -> tuple:
    from rnnkit import data

    paths, captions = data.read_captions(args.data, format=args.format, image_dir=args.image_dir)
    references: dict[str, list[str]] = {}  # every caption of an image, in file order
    for path, caption in zip(paths, captions, strict=True):
        references.setdefault(path, []).append(caption)
    return list(references), list(references.values())


def _predict_captioning(model, lines: list[str]) -> list[dict]:
    captions = model.caption(lines) if lines else []
    return [{"image": p, "caption": c} for p, c in zip(lines, captions, strict=True)]


_TASKS: dict[str, TaskSpec] = {
    "captioning": TaskSpec(
        "pipelines.captioning:ImageCaptioner",
        (),
        _captioning_options,
        _read_captions,
        _predict_captioning,
    ),
    "sentiment": TaskSpec(
        "pipelines.sentiment:SentimentClassifier",
        ("rotten_tomatoes",),
        _sentiment_options,
        _read_texts,
        _predict_sentiment,
    ),
    "translation": TaskSpec(
        "pipelines.translation:Translator",
        ("tatoeba",),
        _translation_options,
        _read_pairs,
        _predict_translation,
    ),
    "tagging": TaskSpec(
        "pipelines.tagging:SequenceTagger",
        ("wnut16", "turkish_treebank"),
        _tagging_options,
        _read_tagged,
        _predict_tagging,
    ),
}


# -- shared plumbing ------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """NumPy scalars and arrays inside results as plain Python (for JSON)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _pipeline_class(spec: TaskSpec) -> type:
    module, _, name = spec.pipeline.partition(":")
    return getattr(importlib.import_module(module), name)


def _parse_settings(pairs: Sequence[str]) -> dict:
    settings = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.isidentifier():
            raise UsageError(f"`--set` takes KEY=VALUE (e.g. --set epochs=3), got {pair!r}.")
        try:
            settings[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            settings[key] = raw  # a bare word such as cell=gru
    return settings


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    """Options of `train` common to every task."""
    parser.add_argument(
        "--output", required=True, metavar="FILE", help="where to save the pipeline (.keras)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a pipeline setting, e.g. --set epochs=3 --set cell=gru (see the pipeline's docs)",
    )


def _pipeline_settings(args: argparse.Namespace, cls: type) -> dict:
    """The pipeline's constructor arguments from `--set` (and any flag that maps to one)."""
    settings = _parse_settings(args.set)
    valid = sorted(cls._get_param_names())
    unknown = sorted(set(settings) - set(valid))
    if unknown:
        raise UsageError(f"unknown `--set` option(s) {unknown} for {args.task}; valid: {valid}.")
    return settings


def _fit_kwargs(args: argparse.Namespace, validation: tuple | None) -> dict:
    """Keyword arguments of `fit` from the flags."""
    return {} if validation is None else {"validation_data": validation}


def _add_source_options(parser: argparse.ArgumentParser, spec: TaskSpec, what: str) -> None:
    spec.add_data_options(parser)
    if spec.corpora:  # a task without bundled corpora gets no --corpus flag
        parser.add_argument(
            "--corpus", choices=spec.corpora, help=f"a bundled corpus (rnnkit.datasets): {what}"
        )


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rnnkit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    helps = {
        "train": "fit a pipeline and save it as one .keras file",
        "evaluate": "score a saved pipeline on labelled data (JSON out)",
        "predict": "run a saved pipeline on raw text (JSON lines out)",
        "export": "export a saved pipeline as a TensorFlow SavedModel",
    }
    for command, help_text in helps.items():
        tasks = commands.add_parser(command, help=help_text, description=help_text)
        tasks = tasks.add_subparsers(
            dest="task", required=True, metavar="TASK", parser_class=_Parser
        )
        for name, spec in _TASKS.items():
            leaf = tasks.add_parser(name, help=spec.pipeline.partition(":")[2])
            leaf.add_argument(
                "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
            )
            if command == "train":
                _add_source_options(leaf, spec, "its train and validation splits")
                _add_training_options(leaf)
            elif command == "evaluate":
                leaf.add_argument("--model", required=True, metavar="FILE")
                _add_source_options(leaf, spec, "its test split")
            elif command == "predict":
                leaf.add_argument("--model", required=True, metavar="FILE")
                leaf.add_argument(
                    "--text", action="append", default=[], help="an input (repeatable); else stdin"
                )
            else:
                leaf.add_argument("--model", required=True, metavar="FILE")
                leaf.add_argument("--output", required=True, metavar="FOLDER")
                leaf.add_argument("--overwrite", action="store_true")
    return parser


def _labelled_data(args: argparse.Namespace, spec: TaskSpec, split: str) -> tuple:
    corpus = getattr(args, "corpus", None)
    if not spec.corpora and args.data is None:
        raise UsageError(f"pass `--data FILE` to {args.command}.")
    if (args.data is None) == (corpus is None):
        raise UsageError(f"pass either `--data FILE` or `--corpus NAME` to {args.command}.")
    if args.data is not None:
        for path in args.data if isinstance(args.data, list) else [args.data]:
            if not os.path.exists(path):
                raise FileNotFoundError(f"`--data` {path!r} does not exist.")
        return spec.read(args), None
    from rnnkit import datasets

    splits = getattr(datasets, corpus)()
    return splits[split], (splits.get("validation") if split == "train" else None)


def _check_output(path: str, *, overwrite: bool, folder: bool) -> None:
    from rnnkit._files import check_target

    check_target(path, overwrite=overwrite, folder=folder, advice="pass `--overwrite`")


def _run(args: argparse.Namespace) -> None:
    spec = _TASKS[args.task]
    cls = _pipeline_class(spec)
    if args.command == "train":
        if not args.output.endswith(".keras"):
            raise UsageError(f"`--output` must end with `.keras`, got {args.output!r}.")
        _check_output(args.output, overwrite=args.overwrite, folder=False)  # before training
        model = cls(**_pipeline_settings(args, cls))
        train, validation = _labelled_data(args, spec, "train")
        model.fit(*train, **_fit_kwargs(args, validation))
        model.save(args.output, overwrite=args.overwrite)
        print(f"saved {args.output}")
    elif args.command == "evaluate":
        model = cls.load(args.model)
        test, _ = _labelled_data(args, spec, "test")
        print(json.dumps(_plain(model.evaluate(*test)), indent=2, ensure_ascii=False))
    elif args.command == "predict":
        model = cls.load(args.model)
        lines = list(args.text)
        if not lines:
            if sys.stdin is None or sys.stdin.isatty():
                raise UsageError("pass `--text TEXT` (repeatable) or pipe one input per line.")
            lines = [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
        for record in spec.predict(model, lines):
            print(json.dumps(_plain(record), ensure_ascii=False))
    else:
        _check_output(args.output, overwrite=args.overwrite, folder=True)
        model = cls.load(args.model)
        print(model.export(args.output, overwrite=args.overwrite))


# The Python API's advice, in the command line's words: `overwrite=True` -> `--overwrite`.
_FLAGS = {
    "overwrite": "--overwrite",
    "format": "--format",
    "text_column": "--text-column",
    "label_column": "--label-column",
    "source_column": "--source-column",
    "target_column": "--target-column",
    "tag_column": "--tag-column",
    "token_column": "--token-column",
    "image_dir": "--image-dir",
    "path": "--model",
}
_ADVICE = re.compile(r"`(\w+)=(?:True|'([^'`]*)'|\"([^\"`]*)\"|([^`]*))`")


def _in_cli_words(message: str) -> str:
    def flag(match: re.Match) -> str:
        name = match.group(1)
        if name not in _FLAGS:
            return match.group(0)
        value = next((g for g in match.groups()[1:] if g is not None), "")
        if match.group(0).endswith("=True`") or not value:
            return f"`{_FLAGS[name]}`"
        return f"`{_FLAGS[name]} {value}`"

    message = _ADVICE.sub(flag, message)
    message = re.sub(
        r"`(\w+)`",
        lambda m: f"`{_FLAGS[m.group(1)]}`" if m.group(1) in _FLAGS else m.group(0),
        message,
    )
    return " ".join(message.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 done, 1 failed, 2 bad usage)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv[: argv.index("--")] if "--" in argv else "--debug" in argv
    quiet_tensorflow_startup()
    try:
        args = _build_parser().parse_args(argv)
        _run(args)
    except UsageError as error:
        if debug:
            raise
        print(f"rnnkit: error: {_in_cli_words(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            raise
        print("rnnkit: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if debug:
            raise
        user_error = isinstance(error, ValueError | TypeError | OSError | ImportError)
        message = _in_cli_words(str(error)) or type(error).__name__
        if not user_error:
            message = (
                f"{type(error).__name__}: {message} (this looks like a bug in rnnkit; rerun "
                "with --debug for the traceback and report it)"
            )
        print(f"rnnkit: error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
