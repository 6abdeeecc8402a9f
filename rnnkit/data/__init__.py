"""Readers, vectorisation and batching shared by every pipeline."""

from rnnkit.data._batching import batch_dataset, batch_tensors, to_dataset
from rnnkit.data._detokenize import detokenize
from rnnkit.data._embeddings import load_word_vectors, load_word_vectors_for
from rnnkit.data._readers import load_images, read_captions, read_pairs, read_tagged, read_texts
from rnnkit.data._tfds import from_tfds
from rnnkit.data._tokenize import tokenize_in_graph, tokenize_with_offsets
from rnnkit.data._vectorize import END_ID, OOV_ID, PAD_ID, START_ID, TextVectorizer

__all__ = [
    "END_ID",
    "OOV_ID",
    "PAD_ID",
    "START_ID",
    "TextVectorizer",
    "batch_dataset",
    "batch_tensors",
    "detokenize",
    "from_tfds",
    "load_images",
    "load_word_vectors",
    "load_word_vectors_for",
    "read_captions",
    "read_pairs",
    "read_tagged",
    "read_texts",
    "to_dataset",
    "tokenize_in_graph",
    "tokenize_with_offsets",
]
