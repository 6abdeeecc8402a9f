"""Keeps TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) out of users' faces.

TensorFlow 2.21 logs INFO lines through absl while its shared libraries load, before any log
level applies, so `TF_CPP_MIN_LOG_LEVEL` cannot hide them. rnnkit therefore imports TensorFlow
once with the process's stderr captured, drops only the INFO lines (and absl's preamble about
them) and writes everything else back, warnings and errors included. Nothing is changed if
TensorFlow is already imported or the user asked for every message (`TF_CPP_MIN_LOG_LEVEL=0`).
No global TensorFlow setting is touched.
"""

import os
import re
import sys
import tempfile

_CHATTER = re.compile(
    r"^(I\d{4} [\d:. ]+\d+ \S+\] .*|WARNING: All log messages before absl::InitializeLog\(\).*)$"
)


def quiet_tensorflow_startup() -> None:
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded interpreters): nothing to filter
        import tensorflow  # noqa: F401

        return
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines() if not _CHATTER.match(line)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
