"""Checks of the inputs an exported model receives, in the TensorFlow graph."""

from __future__ import annotations

import tensorflow as tf

__all__ = ["require_utf8"]


def require_utf8(texts: tf.Tensor, name: str = "text") -> tf.Tensor:
    """`texts` unchanged if every string is valid UTF-8, else an `InvalidArgumentError`.

    For serving signatures: the Python API refuses bytes that are not UTF-8 (naming
    `texts[i]`), and an export must refuse them too instead of answering for garbage. The
    error names the input and the index of the first invalid string.

    Args:
        texts: `tf.string` tensor of any shape.
        name: the input's name in the message.

    Returns:
        `texts`, once checked.

    Example:
    >>> import tensorflow as tf
    >>> require_utf8(tf.constant(["ok", "é"])).shape
    TensorShape([2])
    >>> require_utf8(tf.constant([b"ok", b"\\xff"]))
    Traceback (most recent call last):
    ...
    tensorflow.python.framework.errors_impl.InvalidArgumentError: ...
    """
    # Replacement changes exactly the strings that hold invalid sequences (a valid U+FFFD
    # stays as it is).
    repaired = tf.strings.unicode_transcode(
        texts,
        "UTF-8",
        "UTF-8",
        errors="replace",
        replacement_char=0xFFFD,
        replace_control_characters=False,
    )
    bad = tf.reshape(tf.not_equal(repaired, texts), [-1])
    first = tf.concat([tf.cast(tf.where(bad)[:, 0], tf.int32), [-1]], 0)[0]
    check = tf.debugging.Assert(
        tf.logical_not(tf.reduce_any(bad)),
        [f"`{name}[i]` is not valid UTF-8: decode it with the right encoding first; i =", first],
    )
    with tf.control_dependencies([check]):
        return tf.identity(texts)
