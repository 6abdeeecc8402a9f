"""Losses the decoders and taggers train with: sampled softmax, label smoothing, CRF."""

from rnnkit.layers._crf import CRFLoss
from rnnkit.losses._sampled import sampled_softmax_loss, smoothed_cross_entropy

__all__ = ["CRFLoss", "sampled_softmax_loss", "smoothed_cross_entropy"]
