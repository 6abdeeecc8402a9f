"""Tag ids of one chunk scheme to tag strings of another, in the TensorFlow graph."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from rnnkit.metrics._entities import normalize_scheme, split_tag

__all__ = ["tag_ids_to_strings"]

_PREFIX_CODES = {"O": 0, "B": 1, "I": 2, "E": 3, "S": 4}


def _codes(classes: Sequence[str]) -> tuple[list[str], list[int], list[int]]:
    types = ["_"]
    prefix_codes, type_codes = [], []
    for tag in classes:
        prefix, type_ = split_tag(tag)
        if prefix == "O":
            type_ = "_"
        if type_ not in types:
            types.append(type_)
        prefix_codes.append(_PREFIX_CODES.get(prefix, 0))
        type_codes.append(types.index(type_))
    return types, prefix_codes, type_codes


def _shift(x: tf.Tensor, right: bool) -> tf.Tensor:
    pad = tf.zeros_like(x[:, :1])
    return tf.concat([pad, x[:, :-1]], 1) if right else tf.concat([x[:, 1:], pad], 1)


def tag_ids_to_strings(
    ids: tf.Tensor,
    mask: tf.Tensor,
    classes: Sequence[str],
    source_scheme: str | None = None,
    target_scheme: str | None = None,
) -> tf.Tensor:
    """Tag ids `[B, T]` (indices into `classes`, in `source_scheme`) -> tag strings.

    The same rules as `convert_scheme`, position by position, in TensorFlow ops (for
    exported models): under the lenient (conlleval) reading every non-`O` token belongs to
    exactly one entity, and whether it starts or ends one depends only on its neighbours'
    tags. Without a conversion (`source_scheme` None or equal to `target_scheme`) the ids are
    looked up in `classes`.

    Args:
        ids: int tensor `[B, T]`.
        mask: bool tensor `[B, T]`, True at real tokens; padded positions give `""`.
        classes: the tag of each id.
        source_scheme: the scheme of `classes` (`"BIOES"`, ...), or None for plain labels.
        target_scheme: the scheme to return.

    Returns:
        `tf.string [B, T]`.

    Example:
    >>> import tensorflow as tf
    >>> classes = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]
    >>> out = tag_ids_to_strings(tf.constant([[1, 3, 0, 4]]), tf.constant([[True] * 4]),
    ...                          classes, "BIOES", "BIO")
    >>> out.numpy().tolist()
    [[b'B-PER', b'I-PER', b'O', b'B-PER']]
    """
    source = normalize_scheme(source_scheme, "source_scheme")
    target = normalize_scheme(target_scheme, "target_scheme")
    ids = tf.cast(ids, tf.int32)
    if source is None or source == target:
        tags = tf.gather(tf.constant(list(classes), tf.string), ids)
        return tf.where(mask, tags, "")
    types, prefix_codes, type_codes = _codes(classes)
    prefix = tf.where(mask, tf.gather(tf.constant(prefix_codes, tf.int32), ids), 0)
    type_ = tf.where(mask, tf.gather(tf.constant(type_codes, tf.int32), ids), 0)
    o, b, i, e, s = (tf.constant(v, tf.int32) for v in range(5))

    def starts(prev_p, p, prev_t, t):
        return (p != o) & (
            (p == b)
            | (p == s)
            | (((prev_p == e) | (prev_p == s) | (prev_p == o)) & ((p == e) | (p == i)))
            | (prev_t != t)
        )

    prev_p, prev_t = _shift(prefix, True), _shift(type_, True)
    next_p, next_t = _shift(prefix, False), _shift(type_, False)
    start = starts(prev_p, prefix, prev_t, type_)
    last = (next_p == o) | starts(prefix, next_p, type_, next_t)
    if target == "BIO":
        out = tf.where(start, b, i)
    elif target == "IO":
        out = tf.fill(tf.shape(prefix), i)
    elif target == "IOB1":
        out = tf.where(start & (prev_p != o) & (prev_t == type_), b, i)
    else:
        out = tf.where(start, tf.where(last, s, b), tf.where(last, e, i))
    letters = tf.gather(tf.constant(["O", "B", "I", "E", "S"]), out)
    names = tf.gather(tf.constant(types), type_)
    tags = tf.where(prefix == o, "O", tf.strings.join([letters, names], separator="-"))
    return tf.where(mask, tags, "")
