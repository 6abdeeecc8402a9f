"""Models built of rnnkit layers: encoders and the encoder-decoder with in-graph generation."""

from rnnkit.models._encoder_decoder import EncoderDecoder
from rnnkit.models._image_encoder import ImageEncoder
from rnnkit.models._text_encoder import TextEncoder

__all__ = ["EncoderDecoder", "ImageEncoder", "TextEncoder"]
