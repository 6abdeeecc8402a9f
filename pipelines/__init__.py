"""Prebuilt pipelines for the four RNN shapes."""

from pipelines.sentiment import SentimentClassifier
from pipelines.tagging import SequenceTagger
from pipelines.translation import Translator

__all__ = [
    "SentimentClassifier",
    "SequenceTagger",
    "Translator",
]
