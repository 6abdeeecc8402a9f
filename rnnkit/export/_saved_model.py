"""Writes TensorFlow SavedModels that run with plain TensorFlow (no rnnkit needed to load them)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

import keras
import tensorflow as tf

from rnnkit._files import atomic_path, check_target


def export_saved_model(
    path: str | os.PathLike,
    endpoints: Mapping[str, tuple[Callable, Sequence[tf.TensorSpec]]],
    *,
    track: Sequence[object],
    overwrite: bool = False,
    verbose: bool = False,
) -> str:
    """Exports functions of Keras objects as one TensorFlow SavedModel, atomically.

    The SavedModel is written to a temporary sibling folder first, flushed to disk and moved
    into place only once complete, so an interrupted export never leaves a half-written model
    behind (a temporary left by a killed process is removed by the next export to the same
    folder), and an existing export is replaced only when `overwrite=True`. Files get the
    permissions the umask gives.

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
    check_target(path, overwrite=overwrite, folder=True)  # before tracing anything
    archive = keras.export.ExportArchive()
    for obj in track:
        archive.track(obj)
    for name, (fn, signature) in endpoints.items():
        archive.add_endpoint(name, fn, input_signature=list(signature))
    with atomic_path(path, overwrite=overwrite, folder=True) as tmp:
        archive.write_out(tmp, verbose=verbose)
    return path
