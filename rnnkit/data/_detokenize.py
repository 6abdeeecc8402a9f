"""Word tokens back into text, in TensorFlow ops (so it runs inside exported SavedModels)."""

from __future__ import annotations

import tensorflow as tf

# Word-level outputs are tokens joined by spaces ("i don ' t know , tom ."): these rules join
# them back into ordinary text ("i don't know, tom."). Pure TF ops, so they run inside the
# exported SavedModel too. Applied in order; some twice because matches cannot overlap.
_DETOKENIZE_RULES = (
    (r"(\pL) ' (s|t|m|d|ll|re|ve)( |$)", r"\1'\2\3"),
    (r"(^| )o ' clock", r"\1o'clock"),
    (r"(\pL)s ' ", r"\1s' "),
    (r"([\pL\pN]) - ([\pL\pN])", r"\1-\2"),
    (r"([\pL\pN]) - ([\pL\pN])", r"\1-\2"),
    (r"(\pN) ([.,:]) (\pN)", r"\1\2\3"),
    (r"(\pN) ([.,:]) (\pN)", r"\1\2\3"),
    (r'(^| )" ([^"]*?) "', r'\1"\2"'),
    (r" ([.,!?;:%)\]}»…])", r"\1"),
    (r"([¿¡(\[{«$]) ", r"\1"),
)


def detokenize(text: tf.Tensor) -> tf.Tensor:
    """Joins space-separated word tokens back into text (`"don ' t ."` -> `"don't."`).

    Args:
        text: `tf.string` tensor of tokens joined by single spaces.

    Returns:
        `tf.string` tensor of the same shape.

    Example:
    >>> text = tf.constant(["¿ dónde está ?", "i don ' t know , tom ."])
    >>> [t.decode("utf-8") for t in detokenize(text).numpy()]
    ['¿dónde está?', "i don't know, tom."]
    """
    for pattern, rewrite in _DETOKENIZE_RULES:
        text = tf.strings.regex_replace(text, pattern, rewrite)
    return tf.strings.strip(text)
