"""Scores: chunk tag schemes and entity-level scores (equal to seqeval's), token accuracy, BLEU.

`tag_ids_to_strings` converts tag ids between schemes inside the TensorFlow graph.
"""

from rnnkit.metrics._bleu import corpus_bleu
from rnnkit.metrics._entities import (
    MODES,
    SCHEMES,
    Entity,
    check_scheme,
    convert_scheme,
    detect_scheme,
    encode_entities,
    entity_scores,
    get_entities,
    is_chunk_tag,
    label_scores,
    normalize_scheme,
    split_tag,
    token_accuracy,
)
from rnnkit.metrics._tag_ids import tag_ids_to_strings

__all__ = [
    "Entity",
    "MODES",
    "SCHEMES",
    "check_scheme",
    "convert_scheme",
    "corpus_bleu",
    "detect_scheme",
    "encode_entities",
    "entity_scores",
    "get_entities",
    "is_chunk_tag",
    "label_scores",
    "normalize_scheme",
    "split_tag",
    "tag_ids_to_strings",
    "token_accuracy",
]
