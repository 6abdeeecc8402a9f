"""The bad-input catalogue (issue #23): one table of (case, input, expected outcome).

Every case runs over each pipeline it applies to (SentimentClassifier, Translator,
SequenceTagger: tiny models fitted once per module), over their SavedModel exports (loaded back
with `tf.saved_model.load`), over the readers and over the command line. An outcome is either
an answer (checked: the right length, known labels, the export equal to the Python API) or a
clear `ValueError` / `TypeError` / `FileNotFoundError` (or, in an export, TensorFlow's
`InvalidArgumentError`) whose message names the argument or `file:line`. Cases another helper
is fixing are strict xfails naming the owner. The number of cases run is printed at the end.
"""

from __future__ import annotations

import bz2
import gzip
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from pipelines import SentimentClassifier, SequenceTagger, Translator
from rnnkit import data
from rnnkit.cli import main as cli_main
from tests.helpers import edit_saved_pipeline

# -- the tiny data and models -------------------------------------------------------------------
SENTIMENT = (["good film", "bad film", "great fun", "awful plot"] * 3, ["pos", "neg"] * 6)
TRANSLATION = (["go .", "hi .", "run !", "who ?"] * 2, ["ve .", "hola .", "corre !", "quién ?"] * 2)
TAGGING = ([["Ann", "runs"], ["Bob", "sleeps"]] * 4, [["B-PER", "O"]] * 8)
DATA = {"sentiment": SENTIMENT, "translation": TRANSLATION, "tagging": TAGGING}
TINY = {"units": 4, "embedding_dim": 4, "epochs": 1, "verbose": 0, "seed": 0}
SETTINGS = {
    "sentiment": {**TINY, "validation_split": 0.0},
    "translation": {**TINY, "batch_tokens": 64},
    "tagging": {**TINY, "char_units": 4, "char_embedding_dim": 4},
}
CLASSES = {
    "sentiment": SentimentClassifier,
    "translation": Translator,
    "tagging": SequenceTagger,
}
PIPELINES = tuple(CLASSES)
LONG = "word " * 20_000  # 100,000 characters
FACADES = "facades helper (pipelines/sentiment.py, pipelines/tagging.py)"


class World:
    """The fitted models, their files and exports, made once for the module."""

    def __init__(self, folder):
        self.folder = folder
        self.models = {n: CLASSES[n](**SETTINGS[n]).fit(*DATA[n]) for n in PIPELINES}
        self.saved = {}
        for name, model in self.models.items():
            self.saved[name] = str(folder / f"{name}.keras")
            model.save(self.saved[name])
        self._exports = {}
        files = {
            "reviews.csv": "text,label\n"
            + "".join(f"{t},{y}\n" for t, y in zip(*SENTIMENT, strict=True)),
            "pairs.tsv": "".join(f"{s}\t{t}\n" for s, t in zip(*TRANSLATION, strict=True)),
            "train.conll": "".join(
                "".join(f"{w} {t}\n" for w, t in zip(ws, ts, strict=True)) + "\n"
                for ws, ts in zip(*TAGGING, strict=True)
            ),
        }
        self.files = {}
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
            self.files[name] = str(folder / name)

    def export(self, name):
        if name not in self._exports:
            path = str(self.folder / f"{name}_export")
            self.models[name].export(path)
            self._exports[name] = tf.saved_model.load(path).signatures["serving_default"]
        return self._exports[name]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return World(tmp_path_factory.mktemp("bad_inputs"))


_RAN: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def _report_count(request):
    yield
    line = f"bad-input catalogue: ran {len(_RAN)} cases over pipelines, exports, readers, CLI"
    capture = request.config.pluginmanager.getplugin("capturemanager")
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    if capture is None or reporter is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(line)


# -- expected outcomes --------------------------------------------------------------------------
@dataclass(frozen=True)
class Raises:
    error: type[BaseException] | tuple[type[BaseException], ...]
    match: str


@dataclass(frozen=True)
class Answer:
    """An answer, checked by `check(result, ctx)` (it asserts)."""

    check: Callable[[Any, Ctx], None]
    what: str = "an answer"


@dataclass(frozen=True)
class Exit:
    """A command line run: its exit status and a pattern of its output (stderr for errors)."""

    code: int
    match: str


@dataclass
class Ctx:
    pipeline: str
    world: World
    tmp_path: Any
    monkeypatch: Any
    inputs: Any = None

    @property
    def model(self):
        return self.world.models[self.pipeline]


# Checks of answers.
def _raw_answer(result, ctx: Ctx) -> None:
    """A valid answer of the raw-text API for `ctx.inputs` (a list of strings)."""
    inputs = list(ctx.inputs)
    assert isinstance(result, list) and len(result) == len(inputs)
    if ctx.pipeline == "sentiment":
        assert all(label in list(ctx.model.classes_) for label in result)
    elif ctx.pipeline == "translation":
        assert all(isinstance(t, str) for t in result)
    else:
        for text, entities in zip(inputs, result, strict=True):
            assert all(text[e["start"] : e["end"]] == e["text"] for e in entities)


def _same_as_list(result, ctx: Ctx) -> None:
    _raw_answer(result, ctx)
    assert result == _raw(ctx)(list(ctx.inputs))


def _empty(result, ctx: Ctx) -> None:
    assert list(result) == []


def _one_string_entities(result, ctx: Ctx) -> None:
    assert isinstance(result, list) and all(isinstance(e, dict) for e in result)


def _tags_answer(result, ctx: Ctx) -> None:
    tokens = [list(t) for t in ctx.inputs]
    assert [len(t) for t in result] == [len(t) for t in tokens]
    assert all(tag in ctx.model.classes_ for row in result for tag in row)
    assert result == ctx.model.predict(tokens)


def _scores(result, ctx: Ctx) -> None:
    assert result["per_type"]["LOC"]["recall"] == 0.0 and result["per_type"]["LOC"]["support"] == 1


def _export_equals_python(result, ctx: Ctx) -> None:
    inputs = [t.decode() if isinstance(t, bytes) else t for t in ctx.inputs]
    model = ctx.model
    if ctx.pipeline == "sentiment":
        got = [label.decode() for label in result["label"].numpy().tolist()]
        assert got == [str(label) for label in model.predict(inputs)]
    elif ctx.pipeline == "translation":
        got = [t.decode() for t in result["translation"].numpy().tolist()]
        assert got == model.translate(inputs)
    else:
        lengths = result["lengths"].numpy().tolist()
        tokens = [
            [t.decode() for t in row[:n]]
            for row, n in zip(result["tokens"].numpy().tolist(), lengths, strict=True)
        ]
        tags = [
            [t.decode() for t in row[:n]]
            for row, n in zip(result["tags"].numpy().tolist(), lengths, strict=True)
        ]
        assert len(tags) == len(inputs)
        assert tags == (model.predict(tokens) if tokens else [])


VALID = Answer(_raw_answer, "a valid answer")
SAME_AS_LIST = Answer(_same_as_list, "the same answer as for a list")
EMPTY = Answer(_empty, "an empty answer")
SAME_AS_PYTHON = Answer(_export_equals_python, "what the Python API answers")
NOT_UTF8 = Raises(ValueError, r"`texts\[1\]` is not valid UTF-8")
EXPORT_NOT_UTF8 = Raises(tf.errors.InvalidArgumentError, r"`text\[i\]` is not valid UTF-8")


# -- the operations a case's input goes to ------------------------------------------------------
def _raw(ctx: Ctx) -> Callable:
    model = ctx.model
    return {
        "sentiment": lambda x: model.predict(x),
        "translation": lambda x: model.translate(x),
        "tagging": lambda x: model.predict_entities(x),
    }[ctx.pipeline]


def _do_predict(ctx: Ctx, inputs):
    ctx.inputs = inputs
    return _raw(ctx)(inputs)


def _do_tokens(ctx: Ctx, inputs):
    ctx.inputs = inputs
    return ctx.model.predict(inputs)


def _do_fit(ctx: Ctx, inputs):
    edit, settings = inputs
    cls = CLASSES[ctx.pipeline]
    return cls(**{**SETTINGS[ctx.pipeline], **settings}).fit(*edit(*DATA[ctx.pipeline]))


def _do_evaluate(ctx: Ctx, inputs):
    return ctx.model.evaluate(*inputs(*DATA[ctx.pipeline]))


def _do_export(ctx: Ctx, inputs):
    ctx.inputs = inputs
    return ctx.world.export(ctx.pipeline)(text=tf.constant(inputs, tf.string, shape=[len(inputs)]))


def _do_file(ctx: Ctx, inputs):
    return inputs(ctx)


def _do_read(ctx: Ctx, inputs):
    reader, name, content, kwargs = inputs
    path = ctx.tmp_path / name
    raw = content.encode() if isinstance(content, str) else content
    path.write_bytes(raw)
    return getattr(data, reader)(str(path), **kwargs)


def _do_cli(ctx: Ctx, inputs):
    world = ctx.world
    values = {**{f"model:{n}": p for n, p in world.saved.items()}, **world.files}
    values["tmp"] = str(ctx.tmp_path)
    argv = [re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], a) for a in inputs]
    return cli_main(argv)


OPERATIONS = {
    "predict": _do_predict,
    "tokens": _do_tokens,
    "fit": _do_fit,
    "evaluate": _do_evaluate,
    "export": _do_export,
    "file": _do_file,
    "read": _do_read,
    "cli": _do_cli,
}


# -- inputs that need files ---------------------------------------------------------------------
def _crafted_class(ctx: Ctx):
    marker = ctx.tmp_path / "marker"
    site = ctx.tmp_path / "site"
    site.mkdir()
    (site / "catalogue_evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    ctx.monkeypatch.syspath_prepend(str(site))
    path = ctx.tmp_path / "evil.keras"
    path.write_bytes(open(ctx.world.saved[ctx.pipeline], "rb").read())
    edit_saved_pipeline(path, lambda p: p.update({"class": "catalogue_evil.Evil"}))
    try:
        return CLASSES[ctx.pipeline].load(path)
    finally:
        assert not marker.exists(), "the crafted module was imported"


def _load_bytes(content: bytes | Callable[[bytes], bytes]):
    def run(ctx: Ctx):
        path = ctx.tmp_path / "m.keras"
        original = open(ctx.world.saved[ctx.pipeline], "rb").read()
        path.write_bytes(content(original) if callable(content) else content)
        return CLASSES[ctx.pipeline].load(path)

    return run


def _without_state(original: bytes) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as src, zipfile.ZipFile(buffer, "w") as dst:
        for name in src.namelist():
            if name != "rnnkit.json":
                dst.writestr(name, src.read(name))
    return buffer.getvalue()


def _load_folder(ctx: Ctx):
    return CLASSES[ctx.pipeline].load(ctx.tmp_path)


def _load_other_pipeline(ctx: Ctx):
    other = {"sentiment": "translation", "translation": "tagging", "tagging": "sentiment"}
    return CLASSES[ctx.pipeline].load(ctx.world.saved[other[ctx.pipeline]])


def _save_existing(ctx: Ctx):
    path = ctx.tmp_path / "m.keras"
    path.write_text("keep me")
    try:
        ctx.model.save(path)
    finally:
        assert path.read_text() == "keep me"


def _save_suffix(ctx: Ctx):
    return ctx.model.save(ctx.tmp_path / "m.h5")


def _truncated(raw: bytes) -> bytes:
    return raw[: len(raw) // 2]


def _gz_truncated():
    raw = gzip.compress(("text,label\n" + "a film,pos\n" * 3000).encode())
    return raw[: len(raw) // 2]


def _two_files(ctx: Ctx):
    source, target = ctx.tmp_path / "a.es", ctx.tmp_path / "a.en"
    source.write_text("Hola.\n¿Qué?\nAdiós.\n")
    target.write_text("Hello.\nWhat?\n")
    return data.read_pairs((source, target))


try:
    import pandas as _pandas
except ImportError:  # pragma: no cover - pandas is an optional dependency
    _pandas = None
_NO_PANDAS = None if _pandas is not None else "pandas is not installed"


def _series(values):
    return None if _pandas is None else _pandas.Series(values)


# -- the catalogue ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    name: str
    operation: str  # a key of OPERATIONS
    input: Any
    expect: Any  # Raises / Answer / Exit, or {pipeline: one of them}
    pipelines: tuple[str, ...] = PIPELINES  # ("-",) for readers and the command line
    owner: dict[str, str] = field(default_factory=dict)  # pipeline -> who fixes it (xfail)
    skip: str | None = None  # why the case cannot run here


def _per(sentiment, translation, tagging):
    return {"sentiment": sentiment, "translation": translation, "tagging": tagging}


def _drop_last(x, y):
    return x, y[:-1]


TEXTS = Raises(TypeError, r"`texts` must be a list")
FIT_NONE = Raises(TypeError, r"`(texts|sources|token_lists)` must be a list")
FIT_EMPTY = Raises(ValueError, r"`(texts|sources|token_lists)` is empty")
LENGTHS = Raises(ValueError, r"must (have the same length|hold the same number of sentences)")
RATE = Raises(ValueError, r"`learning_rate` must be a finite number")
SEED = Raises(ValueError, r"`seed` must be None or an integer in \[0, 2\*\*32 - 1\]")
BAD_FILE = Raises(ValueError, r"Cannot load '.*m\.keras': ")
ANY = ("-",)

CATALOGUE: list[Case] = [
    # Raw text to every pipeline (predict / translate / predict_entities).
    Case("empty list", "predict", [], EMPTY),
    Case("None", "predict", None, TEXTS),
    Case(
        "a single string",
        "predict",
        "good film",
        _per(
            Raises(TypeError, "wrap it in a list"),
            Raises(TypeError, "wrap it in a list"),
            Answer(_one_string_entities, "the entities of that string"),
        ),
    ),
    Case(
        "numbers instead of strings",
        "predict",
        [1, 2],
        Raises(TypeError, r"`texts\[0\]` must be a string, got int"),
    ),
    Case(
        "None inside the list",
        "predict",
        ["ok", None],
        Raises(TypeError, r"`texts\[1\]` must be a string, got NoneType"),
    ),
    Case("invalid UTF-8 bytes", "predict", [b"ok", b"caf\xe9"], NOT_UTF8),
    Case("valid UTF-8 bytes", "predict", [b"good film", "caf\u00e9".encode()], VALID),
    Case("empty string", "predict", [""], VALID),
    Case("whitespace only", "predict", ["  \t "], VALID),
    Case("emoji", "predict", ["😀 film 🎬", "🤖"], VALID),
    Case("right-to-left text", "predict", ["فيلم جيد", "סרט טוב"], VALID),
    Case("a 100,000-character input", "predict", [LONG], VALID),
    Case(
        "control characters",
        "predict",
        ["a\x00b\x1f\u200b"],
        VALID,
    ),
    Case("NumPy string array", "predict", np.array(["good film", "bad plot"]), SAME_AS_LIST),
    Case("NumPy object array", "predict", np.array(["good film", "x"], dtype=object), SAME_AS_LIST),
    Case(
        "pandas Series",
        "predict",
        _series(["good film", "bad plot"]),
        SAME_AS_LIST,
        skip=_NO_PANDAS,
    ),
    # Token lists to the tagger.
    Case("tokens: empty list", "tokens", [], EMPTY, ("tagging",)),
    Case(
        "tokens: None",
        "tokens",
        None,
        Raises(TypeError, r"`token_lists` must be a list of token lists"),
        ("tagging",),
    ),
    Case(
        "tokens: a string instead of a token list",
        "tokens",
        [["a"], "b c"],
        Raises(TypeError, r"`token_lists\[1\]` must be a list of tokens"),
        ("tagging",),
    ),
    Case(
        "tokens: numbers",
        "tokens",
        [["a", 3]],
        Raises(TypeError, r"`token_lists\[0\]\[1\]` must be a string"),
        ("tagging",),
    ),
    Case(
        "tokens: invalid UTF-8",
        "tokens",
        [[b"\xff"]],
        Raises(ValueError, r"`token_lists\[0\]\[0\]` is not valid UTF-8"),
        ("tagging",),
    ),
    Case("tokens: an empty sentence", "tokens", [[], ["Ann"]], Answer(_tags_answer), ("tagging",)),
    Case(
        "tokens: ragged sentences",
        "tokens",
        [["Ann"], ["Bob", "runs", "fast", "."]],
        Answer(_tags_answer),
        ("tagging",),
    ),
    Case(
        "tokens: emoji and right-to-left",
        "tokens",
        [["😀", "فيلم"]],
        Answer(_tags_answer),
        ("tagging",),
    ),
    Case(
        "tokens: a 100,000-character token",
        "tokens",
        [["x" * 100_000]],
        Answer(_tags_answer),
        ("tagging",),
    ),
    Case(
        "tokens: NumPy 2-D array",
        "tokens",
        np.array([["Ann", "runs"]]),
        Answer(_tags_answer),
        ("tagging",),
    ),
    # Training data and settings (every case is refused before any training).
    Case("fit: empty lists", "fit", (lambda x, y: ([], []), {}), FIT_EMPTY),
    Case("fit: None", "fit", (lambda x, y: (None, None), {}), FIT_NONE),
    Case("fit: mismatched lengths", "fit", (_drop_last, {}), LENGTHS),
    Case(
        "fit: numbers instead of strings",
        "fit",
        (lambda x, y: ([1] * len(x), y), {}),
        Raises(
            TypeError,
            r"`(texts|sources|token_lists)\[0\]` must be a string|`token_lists\[0\]` must be a list",
        ),
    ),
    Case(
        "fit: a single class",
        "fit",
        (lambda x, y: (x, [y[0]] * len(y)), {}),
        _per(
            Raises(ValueError, "at least two classes"),
            None,
            Raises(ValueError, r"`tag_lists`"),
        ),
        ("sentiment", "tagging"),
        {"tagging": FACADES + ": a tagger with one tag learns nothing"},
    ),
    Case(
        "fit: mixed label types",
        "fit",
        (lambda x, y: (x, [1] + list(y[1:])), {}),
        _per(
            Raises(TypeError, "mutually sortable"),
            Raises(TypeError, r"`targets\[0\]` must be a string"),
            Raises(TypeError, r"`tag_lists\[0\]` must be a list"),
        ),
    ),
    Case(
        "fit: NaN labels",
        "fit",
        (lambda x, y: (x, [1.0, float("nan")] * (len(y) // 2)), {}),
        Raises((ValueError, TypeError), r"`labels\[1\]`"),
        ("sentiment",),
    ),
    Case(
        "fit: None labels",
        "fit",
        (lambda x, y: (x, [None] + list(y[1:])), {}),
        _per(
            Raises((TypeError, ValueError), r"`labels"),
            Raises(TypeError, r"`targets\[0\]` must be a string"),
            Raises(TypeError, r"`tag_lists\[0\]` must be a list"),
        ),
    ),
    Case(
        "fit: ragged token/tag lists",
        "fit",
        (lambda x, y: (x, [t[:1] for t in y]), {}),
        Raises(ValueError, r"`token_lists\[0\]` has 2 tokens but `tag_lists\[0\]` has 1"),
        ("tagging",),
    ),
    Case(
        "fit: learning_rate=inf",
        "fit",
        (lambda x, y: (x, y), {"learning_rate": float("inf")}),
        RATE,
    ),
    Case(
        "fit: learning_rate=nan",
        "fit",
        (lambda x, y: (x, y), {"learning_rate": float("nan")}),
        RATE,
    ),
    Case("fit: learning_rate=1e3", "fit", (lambda x, y: (x, y), {"learning_rate": 1e3}), RATE),
    Case("fit: learning_rate=0", "fit", (lambda x, y: (x, y), {"learning_rate": 0}), RATE),
    Case(
        "fit: seed=-1",
        "fit",
        (lambda x, y: (x, y), {"seed": -1}),
        SEED,
    ),
    Case(
        "fit: seed=1.5",
        "fit",
        (lambda x, y: (x, y), {"seed": 1.5}),
        SEED,
    ),
    Case(
        "fit: seed='x'",
        "fit",
        (lambda x, y: (x, y), {"seed": "x"}),
        SEED,
    ),
    Case(
        "fit: seed=-1 with a validation split",
        "fit",
        (lambda x, y: (x, y), {"seed": -1, "validation_split": 0.25}),
        SEED,
        ("sentiment",),
    ),
    # Evaluation data.
    Case("evaluate: mismatched lengths", "evaluate", _drop_last, LENGTHS),
    Case("evaluate: empty lists", "evaluate", lambda x, y: ([], []), Raises(ValueError, "empty")),
    Case(
        "evaluate: unseen labels",
        "evaluate",
        lambda x, y: (x[:2], ["meh", y[1]]),
        Raises(ValueError, r"never seen in `fit`: \[\"'meh'\"\]"),
        ("sentiment",),
    ),
    Case(
        "evaluate: unseen tags score zero for their type",
        "evaluate",
        lambda x, y: ([["Ann"]], [["B-LOC"]]),
        Answer(_scores),
        ("tagging",),
    ),
    Case(
        "evaluate: ragged token/tag lists",
        "evaluate",
        lambda x, y: ([["Ann", "runs"]], [["B-PER"]]),
        Raises(ValueError, r"has 2 tokens but `tag_lists\[0\]` has 1"),
        ("tagging",),
    ),
    # The SavedModel exports, against the Python API.
    Case(
        "export: empty batch",
        "export",
        [],
        SAME_AS_PYTHON,
    ),
    Case(
        "export: empty string",
        "export",
        [""],
        SAME_AS_PYTHON,
    ),
    Case("export: whitespace only", "export", ["   "], SAME_AS_PYTHON),
    Case("export: emoji", "export", ["😀 film 🎬"], SAME_AS_PYTHON),
    Case("export: right-to-left text", "export", ["فيلم جيد"], SAME_AS_PYTHON),
    Case("export: a 100,000-character input", "export", [LONG], SAME_AS_PYTHON),
    Case(
        "export: invalid UTF-8",
        "export",
        [b"ok", b"caf\xe9"],
        EXPORT_NOT_UTF8,
    ),
    # Loading and saving files.
    Case(
        "load: a crafted class name is never imported",
        "file",
        _crafted_class,
        Raises(ValueError, r"'catalogue_evil.Evil', which is not an rnnkit pipeline"),
    ),
    Case("load: not a zip file", "file", _load_bytes(b"text,label\ngood,pos\n"), BAD_FILE),
    Case("load: an empty file", "file", _load_bytes(b""), BAD_FILE),
    Case("load: a truncated file", "file", _load_bytes(lambda raw: raw[: len(raw) // 2]), BAD_FILE),
    Case(
        "load: a plain Keras file",
        "file",
        _load_bytes(_without_state),
        Raises(ValueError, r"has no rnnkit.json.*keras.saving.load_model"),
    ),
    Case(
        "load: a folder",
        "file",
        _load_folder,
        Raises(ValueError, r"is a folder, not a `.keras` file"),
    ),
    Case(
        "load: another pipeline's file",
        "file",
        _load_other_pipeline,
        Raises(ValueError, r"holds a `pipelines\.\w+\.\w+`, not a"),
    ),
    Case(
        "load: a missing file",
        "file",
        lambda ctx: CLASSES[ctx.pipeline].load(ctx.tmp_path / "no.keras"),
        Raises(FileNotFoundError, "does not exist"),
    ),
    Case(
        "save: an existing file",
        "file",
        _save_existing,
        Raises(FileExistsError, r"already exists; pass `overwrite=True`"),
    ),
    Case(
        "save: not .keras",
        "file",
        _save_suffix,
        Raises(ValueError, r"`path` must end with `.keras`"),
    ),
    # Readers.
    Case(
        "CoNLL: one column",
        "read",
        ("read_tagged", "a.conll", "EU\nrejects\n", {}),
        Raises(ValueError, r"a\.conll:1: a CoNLL line needs a token and a tag"),
        ANY,
    ),
    Case(
        "CoNLL: 3 then 2 columns",
        "read",
        ("read_tagged", "a.conll", "EU NNP B-ORG\nrejects O\n", {}),
        Raises(ValueError, r"a\.conll:2: expected 3 columns \(as on line 1\), found 2"),
        ANY,
    ),
    Case(
        "CoNLL-U read as CoNLL",
        "read",
        (
            "read_tagged",
            "a.txt",
            "# text = Hi\n1\tHi\thi\tINTJ\t_\t_\t0\troot\t_\t_\n",
            {"format": "conll"},
        ),
        Raises(ValueError, r"a\.txt:1: this is a CoNLL-U file.*format='conllu'"),
        ANY,
    ),
    Case(
        "CoNLL-U recognised by content",
        "read",
        ("read_tagged", "a.txt", "# text = Hi\n1\tHi\thi\tINTJ\t_\t_\t0\troot\t_\t_\n", {}),
        Answer(lambda r, c: r == ([["Hi"]], [["INTJ"]])),
        ANY,
    ),
    Case(
        "an empty label",
        "read",
        ("read_texts", "r.csv", "text,label\nok,pos\ngood,\n", {}),
        Raises(ValueError, r"r\.csv:3: the field for `label_column` is empty"),
        ANY,
    ),
    Case(
        "an empty target",
        "read",
        ("read_pairs", "p.tsv", "Hi.\tHola.\nGo.\t\n", {}),
        Raises(ValueError, r"p\.tsv:2: the field for `target_column` is empty"),
        ANY,
    ),
    Case(
        "a truncated .csv.gz",
        "read",
        ("read_texts", "r.csv.gz", _gz_truncated(), {}),
        Raises(ValueError, r"r\.csv\.gz: the compressed file is truncated"),
        ANY,
    ),
    Case(
        "a truncated .bz2",
        "read",
        ("read_pairs", "p.tsv.bz2", _truncated(bz2.compress(b"a\tb\n" * 5000)), {}),
        Raises(ValueError, r"p\.tsv\.bz2: the compressed file is truncated"),
        ANY,
    ),
    Case(
        "non-UTF-8 bytes in a file",
        "read",
        ("read_texts", "r.csv", b"text,label\ncaf\xe9,pos\n", {}),
        Raises(ValueError, r"r\.csv:2: cannot decode"),
        ANY,
    ),
    Case(
        "read_pairs: two files of different lengths",
        "file",
        _two_files,
        Raises(ValueError, r"'.*a\.es' has 3 lines, `target` '.*a\.en' has 2"),
        ANY,
    ),
    Case(
        "a missing file",
        "file",
        lambda ctx: data.read_pairs(ctx.tmp_path / "no.tsv"),
        Raises(FileNotFoundError, r"no\.tsv"),
        ANY,
    ),
    # The command line (saved models and files from the module's world).
    Case(
        "cli: --dat is not --data",
        "cli",
        ["train", "sentiment", "--dat", "{reviews.csv}", "--output", "{tmp}/x.keras"],
        Exit(2, r"unrecognized arguments: --dat"),
        ANY,
    ),
    Case(
        "cli: train tagging without --data or --corpus",
        "cli",
        ["train", "tagging", "--output", "{tmp}/x.keras"],
        Exit(2, r"`--data FILE` or `--corpus NAME`"),
        ANY,
    ),
    Case(
        "cli: --corpus of another task",
        "cli",
        ["evaluate", "tagging", "--model", "{model:tagging}", "--corpus", "rotten_tomatoes"],
        Exit(2, r"invalid choice: 'rotten_tomatoes'"),
        ANY,
    ),
    Case(
        "cli: an existing --output",
        "cli",
        ["train", "sentiment", "--data", "{reviews.csv}", "--output", "{model:sentiment}"],
        Exit(1, r"already exists; pass `--overwrite`"),
        ANY,
    ),
    Case(
        "cli: a missing --model",
        "cli",
        ["predict", "translation", "--model", "{tmp}/no.keras", "--text", "hi"],
        Exit(1, r"`--model` '.*no\.keras' does not exist"),
        ANY,
    ),
    Case(
        "cli: a damaged --model",
        "cli",
        ["predict", "sentiment", "--model", "{reviews.csv}", "--text", "hi"],
        Exit(1, r"Cannot load .*not a `.keras` archive"),
        ANY,
    ),
    Case(
        "cli: evaluate tagging",
        "cli",
        ["evaluate", "tagging", "--model", "{model:tagging}", "--data", "{train.conll}"],
        Exit(0, r'"per_type"'),
        ANY,
    ),
    Case(
        "cli: evaluate sentiment",
        "cli",
        ["evaluate", "sentiment", "--model", "{model:sentiment}", "--data", "{reviews.csv}"],
        Exit(0, r'"accuracy"'),
        ANY,
    ),
    Case(
        "cli: evaluate translation",
        "cli",
        ["evaluate", "translation", "--model", "{model:translation}", "--data", "{pairs.tsv}"],
        Exit(0, r'"bleu"'),
        ANY,
    ),
    Case(
        "cli: predict tagging",
        "cli",
        ["predict", "tagging", "--model", "{model:tagging}", "--text", "Ann runs", "--text", "😀"],
        Exit(0, r'"entities"'),
        ANY,
    ),
    Case(
        "cli: predict sentiment",
        "cli",
        ["predict", "sentiment", "--model", "{model:sentiment}", "--text", "فيلم جيد"],
        Exit(0, r'"label"'),
        ANY,
    ),
    Case(
        "cli: predict translation",
        "cli",
        ["predict", "translation", "--model", "{model:translation}", "--text", "go ."],
        Exit(0, r'"translation"'),
        ANY,
    ),
    Case(
        "cli: a bad --set value",
        "cli",
        [
            "train",
            "translation",
            "--data",
            "{pairs.tsv}",
            "--output",
            "{tmp}/t.keras",
            "--set",
            "learning_rate=inf",
        ],
        Exit(1, r"`learning_rate` must be a finite number"),
        ANY,
    ),
]


def _params():
    params = []
    for case in CATALOGUE:
        for pipeline in case.pipelines:
            marks = [pytest.mark.skip(reason=case.skip)] if case.skip else []
            if pipeline in case.owner:
                marks.append(pytest.mark.xfail(strict=True, reason=case.owner[pipeline]))
            label = case.name if pipeline == "-" else f"{pipeline}: {case.name}"
            params.append(pytest.param(case, pipeline, id=label, marks=marks))
    return params


@pytest.mark.parametrize("case, pipeline", _params())
def test_case(case: Case, pipeline: str, request, tmp_path, monkeypatch, capsys):
    _RAN.append(f"{pipeline}: {case.name}")
    # Readers need no fitted models: they run (and fail) on their own.
    needs_world = case.pipelines != ANY or case.operation == "cli"
    world = request.getfixturevalue("world") if needs_world else None
    expect = case.expect[pipeline] if isinstance(case.expect, dict) else case.expect
    ctx = Ctx(pipeline, world, tmp_path, monkeypatch)
    run = OPERATIONS[case.operation]
    if isinstance(expect, Raises):
        with pytest.raises(expect.error, match=expect.match) as info:
            run(ctx, case.input)
        if not isinstance(info.value, tf.errors.OpError):  # one message, no chained trace
            assert info.value.__cause__ is None
        return
    if isinstance(expect, Exit):
        code = run(ctx, case.input)
        out, err = capsys.readouterr()
        assert code == expect.code, err
        text = out if code == 0 else err
        assert re.search(expect.match, text), text
        if code:
            assert err.startswith("rnnkit: error: ") and err.count("\n") == 1
        elif out.startswith("{\n"):
            json.loads(out)  # evaluate: one JSON object
        else:
            [json.loads(line) for line in out.splitlines()]  # predict: JSON lines
        return
    result = run(ctx, case.input)
    expect.check(result, ctx)


def test_the_catalogue_covers_the_issue():
    names = {case.name for case in CATALOGUE}
    for needed in (
        "empty list",
        "None",
        "numbers instead of strings",
        "emoji",
        "right-to-left text",
        "a 100,000-character input",
        "fit: mismatched lengths",
        "fit: a single class",
        "fit: mixed label types",
        "evaluate: unseen labels",
        "fit: ragged token/tag lists",
        "NumPy string array",
        "pandas Series",
        "fit: NaN labels",
        "export: invalid UTF-8",
        "load: a crafted class name is never imported",
        "CoNLL: one column",
        "a truncated .csv.gz",
        "cli: evaluate tagging",
    ):
        assert needed in names, needed
