"""Helpers shared by layer, data and pipeline tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap

import keras
import numpy as np

# Python code that makes `rnnkit` and `pipelines` impossible to import, so an exported model is
# proven to run on plain TensorFlow.
_BLOCK_RNNKIT = textwrap.dedent(
    """
    import sys

    class _BlockRnnkit:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("rnnkit", "pipelines"):
                raise ImportError(f"{name} is blocked in this process")
            return None

    sys.meta_path.insert(0, _BlockRnnkit())
    """
)


def run_without_rnnkit(code: str, *, timeout: float = 300) -> object:
    """Runs `code` in a fresh Python where `rnnkit`/`pipelines` cannot be imported.

    The code must assign a JSON-serialisable value to `result`; that value is returned.
    """
    script = (
        _BLOCK_RNNKIT
        + textwrap.dedent(code)
        + textwrap.dedent(
            """
        import json as _json
        try:
            import rnnkit  # noqa: F401
        except ImportError:
            pass
        else:
            raise SystemExit("rnnkit was importable in the fresh process")
        print("__RESULT__" + _json.dumps(result))
        """
        )
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.run(
            [sys.executable, "-c", script],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    if proc.returncode != 0:
        raise AssertionError(f"fresh process failed:\n{proc.stdout}\n{proc.stderr}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("__RESULT__")][-1]
    return json.loads(line[len("__RESULT__") :])


def keras_round_trip(model: keras.Model, tmp_path) -> keras.Model:
    """Saves `model` as `.keras` and loads it back with no `custom_objects`."""
    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    return keras.saving.load_model(path)


def assert_close(actual, expected, atol: float = 1e-5, rtol: float = 1e-5) -> None:
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(actual),
        keras.ops.convert_to_numpy(expected),
        atol=atol,
        rtol=rtol,
    )
