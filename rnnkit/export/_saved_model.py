"""Writes TensorFlow SavedModels that run with plain TensorFlow (no rnnkit needed to load them)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence

import keras
import tensorflow as tf


def export_saved_model(
    path: str | os.PathLike,
    endpoints: Mapping[str, tuple[Callable, Sequence[tf.TensorSpec]]],
    *,
    track: Sequence[object],
    overwrite: bool = False,
    verbose: bool = False,
) -> str:
    """Exports functions of Keras objects as one TensorFlow SavedModel, atomically.

    The SavedModel is written to a temporary sibling folder first and moved into place only
    once complete, so an interrupted export never leaves a half-written model behind, and an
    existing export is replaced only when `overwrite=True`.

    Args:
        path: folder to write.
        endpoints: signature name -> `(fn, input_signature)`. `fn` takes tensors matching
            `input_signature` and returns a dict of tensors (the signature's outputs). Name
            one `"serving_default"` so `saved_model_cli` and TF Serving find it.
        track: the Keras layers/models whose variables and lookup tables `fn` uses.
        overwrite: replace an existing folder at `path`.
        verbose: let Keras print the endpoint summary.

    Returns:
        The path written, as a string.

    Example:
    >>> import keras, tensorflow as tf, tempfile, os
    >>> dense = keras.layers.Dense(2)
    >>> _ = dense(tf.zeros((1, 3)))
    >>> path = os.path.join(tempfile.mkdtemp(), "m")
    >>> spec = [tf.TensorSpec([None, 3], tf.float32, name="x")]
    >>> _ = export_saved_model(path, {"serving_default": (lambda x: {"y": dense(x)}, spec)},
    ...                        track=[dense])
    >>> sorted(tf.saved_model.load(path).signatures)
    ['serving_default']
    """
    path = os.fspath(path)
    if not endpoints:
        raise ValueError("`endpoints` is empty: pass at least one `name: (fn, input_signature)`.")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(
            f"`path` {path!r} already exists; pass `overwrite=True` to replace it, or choose "
            "another path."
        )
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    archive = keras.export.ExportArchive()
    for obj in track:
        archive.track(obj)
    for name, (fn, signature) in endpoints.items():
        archive.add_endpoint(name, fn, input_signature=list(signature))
    tmp = tempfile.mkdtemp(prefix=".export-", dir=parent)
    try:
        archive.write_out(tmp, verbose=verbose)
        if os.path.exists(path):
            backup = tempfile.mkdtemp(prefix=".replaced-", dir=parent)
            os.rmdir(backup)
            os.replace(path, backup)
            os.replace(tmp, path)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return path
