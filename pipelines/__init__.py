"""Prebuilt pipelines for the four RNN shapes."""

# rnnkit first: it quiets TensorFlow's start-up lines before keras imports TensorFlow.
import rnnkit  # noqa: F401  isort: skip

from pipelines.captioning import ImageCaptioner
from pipelines.sentiment import SentimentClassifier
from pipelines.tagging import SequenceTagger
from pipelines.translation import Translator

__all__ = [
    "ImageCaptioner",
    "SentimentClassifier",
    "SequenceTagger",
    "Translator",
]
