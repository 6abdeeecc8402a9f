"""Low-level file helpers shared by the readers: compressed files, exact `path:line` errors."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import warnings
import zlib
from collections.abc import Iterator
from typing import IO

PathLike = str | os.PathLike


def open_binary(path: PathLike) -> IO[bytes]:
    """Opens `path` for binary reading, decompressing `.gz`, `.bz2` and `.xz` files."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"No such file: {name!r}. Check the path you passed.")
    if os.path.isdir(name):
        raise IsADirectoryError(f"Expected a file, received the directory {name!r}.")
    if name.endswith(".gz"):
        return gzip.open(name, "rb")
    if name.endswith(".bz2"):
        return bz2.open(name, "rb")
    if name.endswith(".xz"):
        return lzma.open(name, "rb")
    return open(name, "rb")


def iter_lines(path: PathLike, encoding: str = "utf-8", keepends: bool = False) -> Iterator[str]:
    """Yields the decoded lines of a file, one at a time (the file is streamed, never loaded whole).

    A byte sequence that does not decode raises a `ValueError` naming `path:line`, and so does a
    compressed file that ends early; a UTF-8 byte order mark on the first line is removed. Line numbers are 1-based and equal the position in the file.
    """
    name = os.fspath(path)
    with open_binary(name) as handle:
        for number, raw in enumerate(_raw_lines(handle, name), 1):
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as error:
                bad = raw[error.start : error.start + 4]
                raise ValueError(
                    f"{name}:{number}: cannot decode the bytes {bad!r} (byte {error.start} of the "
                    f"line) as {encoding}. Pass the file's real `encoding=` (for example "
                    "'latin-1' or 'cp1252') or fix the file."
                ) from None
            except LookupError:
                raise ValueError(
                    f"Unknown `encoding`: {encoding!r}. Use a Python codec name such as 'utf-8'."
                ) from None
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            if not keepends:
                line = line.rstrip("\r\n")
            yield line


def _raw_lines(handle: IO[bytes], name: str) -> Iterator[bytes]:
    """The file's byte lines; a compressed file that ends early or is damaged is named."""
    number = 0
    while True:
        try:
            raw = handle.readline()
        except (EOFError, OSError, lzma.LZMAError, zlib.error) as error:
            raise ValueError(
                f"{name}: the compressed file is truncated or damaged after line {number:,} "
                f"({error}). Download or compress it again."
            ) from None
        if not raw:
            return
        number += 1
        yield raw


def warn_dropped(count: int, what: str, where: str) -> None:
    """Reports records a reader skipped, with their count (nothing is dropped silently)."""
    if count:
        warnings.warn(f"{where}: skipped {count:,} {what}.", UserWarning, stacklevel=3)
