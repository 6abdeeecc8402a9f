"""Keeps TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) out of users' faces.

Only the C++ log threshold is touched, only when the user has not chosen one, and only before
TensorFlow is first imported: after that the setting has no effect and is left alone.
"""

import os
import sys


def quiet_tensorflow_startup() -> None:
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
