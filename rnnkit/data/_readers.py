"""Readers that turn the files users already have into plain Python records.

Every reader streams its input line by line, returns plain lists of `str` (never tensors), and
raises a `ValueError` naming `path:line` for malformed input. Nothing is dropped silently: skipped
records are reported with a `UserWarning` that gives their count.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from rnnkit.checks import as_text_list, check_choice, is_int
from rnnkit.data._io import PathLike, iter_lines, warn_dropped

Column = int | str

_TEXT_FORMATS = ("csv", "tsv", "jsonl")
_TAGGED_FORMATS = ("conll", "conllu", "word_tag")
_CAPTION_FORMATS = ("flickr8k", "coco")
CONLLU_FIELDS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")

# Long fields (whole reviews) exceed the csv module's 128 KiB default.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def _strip_compression(name: str) -> str:
    for suffix in (".gz", ".bz2", ".xz"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _infer_format(path: str, allowed: Sequence[str], argument: str = "format") -> str:
    suffix = os.path.splitext(_strip_compression(path))[1].lstrip(".").lower()
    aliases = {"json": "jsonl", "ndjson": "jsonl", "txt": "tsv", "tab": "tsv"}
    fmt = aliases.get(suffix, suffix)
    if fmt not in allowed:
        raise ValueError(
            f"Cannot infer `{argument}` from the file name {path!r}. Pass `{argument}=` "
            f"one of {list(allowed)}."
        )
    return fmt


def _resolve_column(column: Column, header: Sequence[str] | None, where: str, argument: str) -> int:
    """Turns a column name or index into an index, listing the valid names when it is unknown."""
    if isinstance(column, bool) or not isinstance(column, int | str):
        raise TypeError(
            f"`{argument}` must be a column name (str) or index (int); received "
            f"{type(column).__name__} {column!r}."
        )
    if isinstance(column, int):
        if header is not None and not -len(header) <= column < len(header):
            raise ValueError(
                f"{where}: `{argument}`={column} is out of range; the file has {len(header)} "
                f"columns {list(header)}."
            )
        return column
    if header is None:
        raise ValueError(
            f"{where}: `{argument}`={column!r} is a column name, but the file has no header "
            "row. Pass the column index (an int) instead, or `header=True` if the first line "
            "names the columns."
        )
    if column not in header:
        raise ValueError(
            f"{where}: no column named {column!r} (`{argument}`). Valid columns: {list(header)}."
        )
    return list(header).index(column)


def _field(row: Sequence[str], index: int, where: str, argument: str) -> str:
    try:
        return row[index]
    except IndexError:
        raise ValueError(
            f"{where}: expected at least {index + 1 if index >= 0 else -index} columns for "
            f"`{argument}`={index}, found {len(row)}: {list(row)!r}. Fix the line or choose "
            "another column."
        ) from None


def _filled(value: str, where: str, argument: str) -> str:
    """A field that holds something: an empty label, text or target is a broken record."""
    if not value.strip():
        raise ValueError(
            f"{where}: the field for `{argument}` is empty. Fill it in or delete the line."
        )
    return value


# --------------------------------------------------------------------------- text classification


def _label_list(values: Any, argument: str) -> list[str]:
    if isinstance(values, str | bytes):
        raise TypeError(
            f"`{argument}` must be a sequence of labels, received a single string {values!r}."
        )
    if hasattr(values, "tolist") and not isinstance(values, list):
        values = values.tolist()
    out = []
    for index, value in enumerate(values):
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if value is None or (isinstance(value, float) and np.isnan(value)):
            raise ValueError(f"`{argument}`[{index}] is missing ({value!r}); every text needs one.")
        out.append(str(value))
    return out


def _iter_csv_rows(path: str, delimiter: str, encoding: str) -> Iterator[tuple[int, list[str]]]:
    lines = iter_lines(path, encoding=encoding, keepends=True)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ValueError(
                f"{path}:{reader.line_num}: malformed {delimiter!r}-separated line: {error}."
            ) from None
        yield reader.line_num, row


def _read_delimited_texts(
    path: str,
    fmt: str,
    text_column: Column,
    label_column: Column | None,
    delimiter: str | None,
    encoding: str,
    header: bool,
) -> tuple[list[str], list[str] | None]:
    delimiter = delimiter or ("," if fmt == "csv" else "\t")
    rows = _iter_csv_rows(path, delimiter, encoding)
    names: list[str] | None = None
    if header:
        first = next(rows, None)
        if first is None:
            raise ValueError(f"{path} is empty: expected a header row and records.")
        names = [name.strip() for name in first[1]]
    text_index = _resolve_column(text_column, names, path, "text_column")
    label_index = (
        None if label_column is None else _resolve_column(label_column, names, path, "label_column")
    )
    texts: list[str] = []
    labels: list[str] = []
    blank = 0
    for line, row in rows:
        if not row or (len(row) == 1 and not row[0].strip() and names and len(names) > 1):
            blank += 1
            continue
        if names is not None and len(row) != len(names):
            raise ValueError(
                f"{path}:{line}: expected {len(names)} fields ({names}), found {len(row)}: "
                f"{row!r}. Quote fields that contain {delimiter!r}."
            )
        where = f"{path}:{line}"
        texts.append(_filled(_field(row, text_index, where, "text_column"), where, "text_column"))
        if label_index is not None:
            label = _field(row, label_index, where, "label_column")
            labels.append(_filled(label, where, "label_column"))
    warn_dropped(blank, "blank lines", path)
    if not texts:
        raise ValueError(f"{path} has no records (only a header or blank lines).")
    return texts, (labels if label_index is not None else None)


def _read_jsonl_texts(
    path: str, text_column: Column, label_column: Column | None, encoding: str
) -> tuple[list[str], list[str] | None]:
    texts: list[str] = []
    labels: list[str] = []
    blank = 0
    for line_number, line in enumerate(iter_lines(path, encoding=encoding), 1):
        if not line.strip():
            blank += 1
            continue
        where = f"{path}:{line_number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: invalid JSON ({error.msg}): {line[:80]!r}.") from None
        if not isinstance(record, dict):
            raise ValueError(f"{where}: expected a JSON object per line, found {line[:80]!r}.")
        for column, argument, sink in (
            (text_column, "text_column", texts),
            (label_column, "label_column", labels),
        ):
            if column is None:
                continue
            if column not in record:
                raise ValueError(
                    f"{where}: no field named {column!r} (`{argument}`). Valid fields: "
                    f"{sorted(record)}."
                )
            value = record[column]
            if argument == "text_column" and not isinstance(value, str):
                raise ValueError(f"{where}: field {column!r} must be a string, found {value!r}.")
            if value is None:
                raise ValueError(f"{where}: field {column!r} is null.")
            if isinstance(value, str):
                _filled(value, where, argument)
            sink.append(value if isinstance(value, str) else json.dumps(value))
    warn_dropped(blank, "blank lines", path)
    if not texts:
        raise ValueError(f"{path} is empty: it has no JSON records.")
    return texts, (labels if label_column is not None else None)


def _read_text_directory(
    directory: str, classes: Sequence[str] | None, pattern: str, encoding: str
) -> tuple[list[str], list[str]]:
    import fnmatch

    found = sorted(
        entry.name
        for entry in os.scandir(directory)
        if entry.is_dir() and not entry.name.startswith(".")
    )
    if classes is None:
        classes = found
    else:
        classes = as_text_list(classes, "classes")
        unknown = [name for name in classes if name not in found]
        if unknown:
            raise ValueError(
                f"`classes` names sub-folders that {directory!r} does not have: {unknown}. "
                f"Valid sub-folders: {found}."
            )
    texts: list[str] = []
    labels: list[str] = []
    for label in classes:
        folder = os.path.join(directory, label)
        files = sorted(name for name in os.listdir(folder) if fnmatch.fnmatch(name, pattern))
        for name in files:
            path = os.path.join(folder, name)
            texts.append("\n".join(iter_lines(path, encoding=encoding)))
            labels.append(label)
    if not texts:
        raise ValueError(
            f"{directory!r} holds no {pattern!r} files in one sub-folder per label "
            f"(sub-folders found: {found}). Expected e.g. {directory}/pos/1.txt, "
            f"{directory}/neg/2.txt."
        )
    return texts, labels


def read_texts(
    source: PathLike | Sequence[str] | Any,
    labels: Sequence[Any] | None = None,
    *,
    text_column: Column = "text",
    label_column: Column | None = "label",
    format: str | None = None,
    delimiter: str | None = None,
    header: bool = True,
    classes: Sequence[str] | None = None,
    pattern: str = "*.txt",
    encoding: str = "utf-8",
) -> tuple[list[str], list[str] | None]:
    """Reads labelled texts for text classification.

    `source` may be:
    - a CSV, TSV or JSON-lines file (optionally `.gz`/`.bz2`/`.xz`), with the text and label in
      the columns (fields) named by `text_column` and `label_column`;
    - a directory with one sub-folder per label holding one text per file (the aclImdb layout,
      `train/pos/*.txt`, `train/neg/*.txt`); the label is the sub-folder name;
    - in-memory texts (a list, tuple, NumPy array or pandas Series of `str`) with `labels`.

    Args:
        source: a path, a directory or a sequence of texts.
        labels: labels for in-memory `source` (any values; returned as `str`). Ignored for files.
        text_column: column name (with a header) or 0-based index holding the text.
        label_column: column holding the label, or `None` for unlabelled data.
        format: `"csv"`, `"tsv"` or `"jsonl"`; inferred from the file suffix when `None`.
        delimiter: field separator; defaults to `,` for CSV and a tab for TSV.
        header: whether the first line of a CSV/TSV file names the columns.
        classes: for a directory, the sub-folders to read (e.g. `["neg", "pos"]` to leave out
            aclImdb's `unsup`); all sub-folders when `None`.
        pattern: for a directory, the glob that selects text files in each sub-folder.
        encoding: the files' text encoding.

    Returns:
        `(texts, labels)`: two lists of `str` of equal length (`labels` is `None` when there
        are none).

    Example:
    >>> texts, labels = read_texts(["good film", "dull"], ["pos", "neg"])
    >>> texts, labels
    (['good film', 'dull'], ['pos', 'neg'])
    """
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if os.path.isdir(path):
            return _read_text_directory(path, classes, pattern, encoding)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"No such file or directory: {path!r}. To classify in-memory texts pass a list: "
                "read_texts([text, ...], [label, ...])."
            )
        fmt = (
            _infer_format(path, _TEXT_FORMATS)
            if format is None
            else check_choice(format, "format", _TEXT_FORMATS)
        )
        if fmt == "jsonl":
            return _read_jsonl_texts(path, text_column, label_column, encoding)
        return _read_delimited_texts(
            path, fmt, text_column, label_column, delimiter, encoding, header
        )
    texts = as_text_list(source, "source")
    if labels is None:
        return texts, None
    label_list = _label_list(labels, "labels")
    if len(label_list) != len(texts):
        raise ValueError(
            f"`source` has {len(texts)} texts but `labels` has {len(label_list)} labels; they "
            "must be aligned one to one."
        )
    return texts, label_list


# --------------------------------------------------------------------------- parallel text


def _all_lines(path: str, encoding: str) -> list[str]:
    return list(iter_lines(path, encoding=encoding))


def read_pairs(
    source: PathLike | tuple[PathLike, PathLike],
    target: PathLike | None = None,
    *,
    source_column: Column = 0,
    target_column: Column = 1,
    delimiter: str = "\t",
    header: bool = False,
    encoding: str = "utf-8",
) -> tuple[list[str], list[str]]:
    """Reads parallel text: a TSV of pairs (Tatoeba/Anki style) or two line-aligned files.

    With one file, each line holds the pair in the columns chosen by `source_column` and
    `target_column`; extra columns (e.g. Tatoeba's attribution) are ignored. Blank lines are
    skipped and counted in a warning; a pair with an empty side is an error. With two files
    (`read_pairs((source_file, target_file))`, or `target` given), line `i` of the source file
    translates line `i` of the target file; different line counts or an empty line are errors.

    Args:
        source: TSV file of pairs, a `(source_file, target_file)` pair of aligned files, or
            the source-language file of an aligned pair.
        target: the target-language file, aligned line by line with `source`.
        source_column: column name (with `header=True`) or 0-based index of the source text.
        target_column: column of the target text.
        delimiter: the column separator (a tab by default).
        header: whether the first line names the columns.
        encoding: the files' text encoding.

    Returns:
        `(sources, targets)`: two aligned lists of `str`.

    Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "spa.tsv")
    >>> _ = open(path, "w").write("Go.\\tVe.\\tCC-BY\\nHi.\\tHola.\\tCC-BY\\n")
    >>> read_pairs(path, source_column=1, target_column=0)
    (['Ve.', 'Hola.'], ['Go.', 'Hi.'])
    """
    if isinstance(source, tuple | list):
        if target is not None or len(source) != 2:
            raise TypeError(
                "`source` as a sequence must be `(source_file, target_file)` (two aligned "
                f"files) with no `target`; received {len(source)} items"
                + (" and a `target`." if target is not None else ".")
            )
        source, target = source
    if target is not None:
        src_path, tgt_path = os.fspath(source), os.fspath(target)
        sources = _all_lines(src_path, encoding)
        targets = _all_lines(tgt_path, encoding)
        if len(sources) != len(targets):
            raise ValueError(
                f"Aligned files have different line counts: `source` {src_path!r} has "
                f"{len(sources):,} lines, `target` {tgt_path!r} has {len(targets):,}. Line i of "
                "one must translate line i of the other."
            )
        if not sources:
            raise ValueError(f"{src_path} and {tgt_path} are empty.")
        for lines, name in ((sources, src_path), (targets, tgt_path)):
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    raise ValueError(
                        f"{name}:{number}: the line is empty, so line {number} of the other "
                        "file has no translation. Fill it in or delete the line in both files."
                    )
        return sources, targets
    path = os.fspath(source)
    lines = iter_lines(path, encoding=encoding)
    names = None
    if header:
        first = next(lines, None)
        if first is None:
            raise ValueError(f"{path} is empty: expected a header row and pairs.")
        names = first.split(delimiter)
    src_index = _resolve_column(source_column, names, path, "source_column")
    tgt_index = _resolve_column(target_column, names, path, "target_column")
    start = 2 if header else 1
    sources, targets = [], []
    blank = 0
    for number, line in enumerate(lines, start):
        if not line.strip():
            blank += 1
            continue
        row = line.split(delimiter)
        where = f"{path}:{number}"
        sources.append(
            _filled(_field(row, src_index, where, "source_column"), where, "source_column")
        )
        targets.append(
            _filled(_field(row, tgt_index, where, "target_column"), where, "target_column")
        )
    warn_dropped(blank, "blank lines", path)
    if not sources:
        raise ValueError(f"{path} is empty: it has no {delimiter!r}-separated pairs.")
    return sources, targets


# --------------------------------------------------------------------------- tagged sentences


def _conll_columns(line: str) -> list[str]:
    return line.split("\t") if "\t" in line else line.split()


# CoNLL-U comment lines ("# sent_id = 1", "# text = ...") and word lines ("3-4\tal\t_...").
_CONLLU_COMMENT = re.compile(r"^#\s*(sent_id|text|newdoc|newpar|global\.columns)\b")
_CONLLU_ID = re.compile(r"^\d+([-.]\d+)?$")


def _looks_like_conllu(line: str) -> bool:
    if _CONLLU_COMMENT.match(line):
        return True
    columns = line.rstrip("\r\n").split("\t")
    return len(columns) == 10 and _CONLLU_ID.match(columns[0]) is not None


def _sniff_conllu(path: str, encoding: str) -> int | None:
    """The line number of the first non-blank line when it is CoNLL-U, else None."""
    for number, line in enumerate(iter_lines(path, encoding=encoding), 1):
        if line.strip():
            return number if _looks_like_conllu(line) else None
    return None


def _iter_conll(
    path: str, token_column: int, tag_column: int, encoding: str
) -> Iterator[tuple[list[str], list[str]]]:
    tokens: list[str] = []
    tags: list[str] = []
    width: tuple[int, int] | None = None  # (columns, line) of the first token line
    for number, line in enumerate(iter_lines(path, encoding=encoding), 1):
        if not line.strip():
            if tokens:
                yield tokens, tags
                tokens, tags = [], []
            continue
        columns = _conll_columns(line.strip("\r\n"))
        if columns[0] == "-DOCSTART-":
            continue
        where = f"{path}:{number}"
        if _CONLLU_COMMENT.match(line):
            raise ValueError(
                f"{where}: {line[:60]!r} is a CoNLL-U comment; this file is CoNLL-U: pass "
                "`format='conllu'`."
            )
        if width is None:
            if len(columns) < 2:
                raise ValueError(
                    f"{where}: a CoNLL line needs a token and a tag (2 or more columns), found "
                    f"{len(columns)}: {line[:80]!r}. Separate the columns by tabs or spaces."
                )
            width = (len(columns), number)
        elif len(columns) != width[0]:
            raise ValueError(
                f"{where}: expected {width[0]} columns (as on line {width[1]}), found "
                f"{len(columns)}: {line[:80]!r}. Every token line needs the same columns."
            )
        tokens.append(
            _filled(_field(columns, token_column, where, "token_column"), where, "token_column")
        )
        tags.append(_filled(_field(columns, tag_column, where, "tag_column"), where, "tag_column"))
    if tokens:
        yield tokens, tags


def _iter_conllu(
    path: str, token_index: int, tag_index: int, encoding: str
) -> Iterator[tuple[list[str], list[str]]]:
    tokens: list[str] = []
    tags: list[str] = []
    for number, line in enumerate(iter_lines(path, encoding=encoding), 1):
        if not line.strip():
            if tokens:
                yield tokens, tags
                tokens, tags = [], []
            continue
        if line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) != 10:
            raise ValueError(
                f"{path}:{number}: a CoNLL-U word line has 10 tab-separated fields, found "
                f"{len(columns)}: {line[:80]!r}."
            )
        word_id = columns[0]
        # Multi-word token ranges ("3-4") and empty nodes ("5.1") are not syntactic words: the
        # words they span follow on their own lines.
        if "-" in word_id or "." in word_id:
            continue
        if not word_id.isdigit():
            raise ValueError(f"{path}:{number}: invalid word id {word_id!r} in column 1.")
        tokens.append(columns[token_index])
        tags.append(columns[tag_index])
    if tokens:
        yield tokens, tags


def _iter_word_tag(
    path: str, separator: str, encoding: str
) -> Iterator[tuple[list[str], list[str]]]:
    for number, line in enumerate(iter_lines(path, encoding=encoding), 1):
        if not line.strip():
            continue
        tokens, tags = [], []
        for item in line.split():
            word, sep, tag = item.rpartition(separator)
            if not sep or not word or not tag:
                raise ValueError(
                    f"{path}:{number}: {item!r} is not `word{separator}TAG`. Every "
                    f"whitespace-separated item must end with {separator!r} and a tag."
                )
            tokens.append(word)
            tags.append(tag)
        yield tokens, tags


def read_tagged(
    path: PathLike,
    *,
    format: str | None = None,
    tag_column: Column = -1,
    token_column: Column = 0,
    separator: str = "/",
    encoding: str = "utf-8",
) -> tuple[list[list[str]], list[list[str]]]:
    """Reads tagged sentences (NER, POS) from CoNLL, CoNLL-U or `word/TAG` files.

    Formats (`format=None`: `"conllu"` for a `.conllu` file or one whose first line is
    CoNLL-U, else `"conll"`):
    - `"conll"`: one token per line, whitespace- or tab-separated columns (CoNLL-2003, WNUT),
      blank lines between sentences, `-DOCSTART-` lines skipped. `token_column` and `tag_column`
      are 0-based indices (default: first and last column). Every token line must have the
      same number of columns (at least 2); a CoNLL-U file is refused.
    - `"conllu"`: Universal Dependencies CoNLL-U. Comment lines, multi-word token ranges
      (`3-4`) and empty nodes (`5.1`) are skipped, so tokens are the syntactic words. Columns
      are named by CoNLL-U field (`"upos"`, `"xpos"`, `"form"`, `"lemma"`, ...) or index; with
      this format `tag_column=-1` means `"upos"`.
    - `"word_tag"`: one sentence per line of `word/TAG` items (the last `separator` splits).

    Args:
        path: the file (optionally `.gz`/`.bz2`/`.xz`).
        format: `"conll"`, `"conllu"`, `"word_tag"`, or None to infer it (see above).
        tag_column: which column holds the tag.
        token_column: which column holds the token.
        separator: for `"word_tag"`, the character between word and tag.
        encoding: the file's text encoding.

    Returns:
        `(tokens, tags)`: two lists of sentences, each a list of `str`, with equal lengths.

    Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "pos.txt")
    >>> _ = open(path, "w").write("The/DET cat/NOUN\\n")
    >>> read_tagged(path, format="word_tag")
    ([['The', 'cat']], [['DET', 'NOUN']])
    """
    name = os.fspath(path)
    if format is None:
        conllu = _strip_compression(name).lower().endswith(".conllu")
        format = "conllu" if conllu or _sniff_conllu(name, encoding) else "conll"
    else:
        check_choice(format, "format", _TAGGED_FORMATS)
        if format == "conll":
            line = _sniff_conllu(name, encoding)
            if line is not None:
                raise ValueError(
                    f"{name}:{line}: this is a CoNLL-U file (comment lines or 10 tab-separated "
                    "fields with word ids), not CoNLL: pass `format='conllu'` (or "
                    "`format=None` to infer it)."
                )
    if format == "conll":
        for value, argument in ((tag_column, "tag_column"), (token_column, "token_column")):
            if not is_int(value):
                raise TypeError(
                    f"`{argument}` must be a 0-based column index (int) for `format='conll'`; "
                    f"received {value!r}."
                )
        sentences = _iter_conll(name, token_column, tag_column, encoding)
    elif format == "conllu":
        tag = "upos" if tag_column == -1 else tag_column
        token = "form" if token_column == 0 else token_column
        sentences = _iter_conllu(
            name,
            _resolve_column(token, CONLLU_FIELDS, name, "token_column"),
            _resolve_column(tag, CONLLU_FIELDS, name, "tag_column"),
            encoding,
        )
    else:
        sentences = _iter_word_tag(name, separator, encoding)
    tokens: list[list[str]] = []
    tags: list[list[str]] = []
    for sentence_tokens, sentence_tags in sentences:
        tokens.append(sentence_tokens)
        tags.append(sentence_tags)
    if not tokens:
        raise ValueError(f"{name} is empty: it has no tagged sentences in {format!r} format.")
    return tokens, tags


# --------------------------------------------------------------------------- image captions


def _read_flickr8k(path: str, encoding: str) -> tuple[list[str], list[str]]:
    images, captions = [], []
    blank = 0
    for number, line in enumerate(iter_lines(path, encoding=encoding), 1):
        if not line.strip():
            blank += 1
            continue
        where = f"{path}:{number}"
        if "\t" in line:
            key, caption = line.split("\t", 1)
        elif "," in line and number > 1:  # Kaggle's captions.txt: "image,caption" with a header
            key, caption = line.split(",", 1)
        elif number == 1 and line.strip().lower() == "image,caption":
            continue
        else:
            raise ValueError(f"{where}: expected `image.jpg#n<TAB>caption`, found {line[:80]!r}.")
        image = key.split("#", 1)[0].strip()
        if not image:
            raise ValueError(f"{where}: empty image name in {line[:80]!r}.")
        images.append(image)
        captions.append(caption.strip())
    warn_dropped(blank, "blank lines", path)
    return images, captions


def _read_coco(path: str, encoding: str) -> tuple[list[str], list[str]]:
    text = "\n".join(iter_lines(path, encoding=encoding))
    if not text.strip():
        raise ValueError(f"{path} is empty: expected a COCO captions JSON object.")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}:{error.lineno}: invalid JSON ({error.msg}).") from None
    for key in ("images", "annotations"):
        if not isinstance(document, dict) or key not in document:
            found = sorted(document) if isinstance(document, dict) else type(document).__name__
            raise ValueError(
                f"{path}: a COCO captions file has 'images' and 'annotations'; found {found}."
            )
    files = {}
    for index, image in enumerate(document["images"]):
        try:
            files[image["id"]] = image["file_name"]
        except (KeyError, TypeError):
            raise ValueError(
                f"{path}: images[{index}] needs 'id' and 'file_name'; found {image!r}."
            ) from None
    images, captions = [], []
    for index, annotation in enumerate(document["annotations"]):
        try:
            image_id, caption = annotation["image_id"], annotation["caption"]
        except (KeyError, TypeError):
            raise ValueError(
                f"{path}: annotations[{index}] needs 'image_id' and 'caption'; found "
                f"{annotation!r}."
            ) from None
        if image_id not in files:
            raise ValueError(
                f"{path}: annotations[{index}] refers to image_id {image_id!r}, which is not in "
                "'images'."
            )
        images.append(files[image_id])
        captions.append(str(caption).strip())
    return images, captions


def read_captions(
    path: PathLike,
    *,
    format: str = "flickr8k",
    image_dir: PathLike | None = None,
    encoding: str = "utf-8",
) -> tuple[list[str], list[str]]:
    """Reads image-caption pairs: Flickr8k token files or COCO captions JSON.

    Formats:
    - `"flickr8k"`: lines `image.jpg#n<TAB>caption` (`Flickr8k.token.txt`); Kaggle's
      `captions.txt` (`image,caption` with a header) is read too.
    - `"coco"`: a COCO `captions_*.json` with `images` (`id`, `file_name`) and `annotations`
      (`image_id`, `caption`).

    One record per caption, so an image with five captions appears five times. With
    `image_dir`, paths are joined to it and captions whose image file is missing are dropped
    with a warning giving their count. Load the pixels with `load_images`.

    Args:
        path: the captions file.
        format: `"flickr8k"` or `"coco"`.
        image_dir: folder holding the images; when given, returned paths include it.
        encoding: the file's text encoding.

    Returns:
        `(images, captions)`: image paths (or file names without `image_dir`) and captions,
        two lists of `str` of equal length.

    Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "Flickr8k.token.txt")
    >>> _ = open(path, "w").write("1.jpg#0\\tA dog runs .\\n1.jpg#1\\tA dog .\\n")
    >>> read_captions(path)
    (['1.jpg', '1.jpg'], ['A dog runs .', 'A dog .'])
    """
    name = os.fspath(path)
    check_choice(format, "format", _CAPTION_FORMATS)
    reader = _read_flickr8k if format == "flickr8k" else _read_coco
    images, captions = reader(name, encoding)
    if not images:
        raise ValueError(f"{name} is empty: it has no captions in {format!r} format.")
    if image_dir is not None:
        folder = os.fspath(image_dir)
        if not os.path.isdir(folder):
            raise ValueError(f"`image_dir` {folder!r} is not a directory.")
        present = set(os.listdir(folder))
        kept_images, kept_captions = [], []
        for image, caption in zip(images, captions, strict=True):
            if image in present:
                kept_images.append(os.path.join(folder, image))
                kept_captions.append(caption)
        missing = len(images) - len(kept_images)
        if missing == len(images):
            raise ValueError(
                f"None of the {len(images):,} images named in {name} is in `image_dir` "
                f"{folder!r} (first: {images[0]!r})."
            )
        warn_dropped(missing, f"captions whose image is not in {folder!r}", name)
        images, captions = kept_images, kept_captions
    return images, captions


def load_images(paths: Sequence[PathLike], image_size: tuple[int, int] | int) -> np.ndarray:
    """Decodes and resizes image files into one `uint8` array `[N, height, width, 3]`.

    Args:
        paths: image files (JPEG, PNG, GIF, BMP).
        image_size: `(height, width)` or one int for square images.

    Returns:
        `np.ndarray` of dtype `uint8` and shape `[len(paths), height, width, 3]`.

    Example:
    >>> load_images([], 8).shape
    (0, 8, 8, 3)
    """
    import tensorflow as tf

    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    height, width = image_size
    out = np.zeros((len(paths), height, width, 3), np.uint8)
    for index, path in enumerate(paths):
        try:
            raw = tf.io.read_file(os.fspath(path))
            image = tf.io.decode_image(raw, channels=3, expand_animations=False)
        except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError) as error:
            raise ValueError(f"Cannot read image {os.fspath(path)!r}: {error.message}") from None
        resized = tf.image.resize(image, (height, width), antialias=True)
        out[index] = np.clip(np.round(resized.numpy()), 0, 255).astype(np.uint8)
    return out
