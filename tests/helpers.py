"""Helpers shared by layer, data and pipeline tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import zipfile

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


def edit_saved_pipeline(path, change) -> None:
    """Rewrites the rnnkit entry of a pipeline file: `change(payload)` edits it in place."""
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    payload = json.loads(entries["rnnkit.json"])
    change(payload)
    entries["rnnkit.json"] = json.dumps(payload).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)


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


def _is_arrays(value) -> bool:
    leaves = keras.tree.flatten(value)
    return bool(leaves) and all(hasattr(v, "shape") and hasattr(v, "dtype") for v in leaves)


def _shapes(structure):
    return keras.tree.map_structure(lambda t: tuple(t.shape), structure)


def run_layer_test(
    layer_cls,
    init_kwargs: dict,
    input_data,
    *,
    expected_output_shape=None,
    call_kwargs: dict | None = None,
    loss="mse",
    train: bool = True,
    tmp_path=None,
    atol: float = 1e-5,
) -> keras.layers.Layer:
    """Runs the contract every rnnkit layer must meet, and returns the layer it built.

    Checks, in order:

    * calling the layer on `input_data` (an array, or a list/dict of arrays) gives outputs of
      `expected_output_shape` (a shape tuple, or the same nesting of tuples as the outputs);
    * `get_config` -> `from_config` gives a layer with the same config and, with the same
      weights, the same outputs;
    * inside a functional model compiled with `loss` and SGD, one `train_on_batch` on the
      first output gives a finite loss and changes every trainable weight (skipped when
      `train=False`, e.g. for layers with no weights or a loss of their own);
    * the model saved as `.keras` loads back with no `custom_objects`, rebuilds the same
      class and predicts the same numbers.

    `call_kwargs` are passed to every call (e.g. `{"mask": mask}`).
    """
    call_kwargs = dict(call_kwargs or {})
    layer = layer_cls(**init_kwargs)
    outputs = layer(input_data, **call_kwargs)
    if expected_output_shape is not None:
        if isinstance(expected_output_shape, tuple) and all(
            d is None or isinstance(d, int) for d in expected_output_shape
        ):
            assert not keras.tree.is_nested(outputs), f"expected one output, got {outputs}"
            assert tuple(outputs.shape) == expected_output_shape
        else:
            assert keras.tree.lists_to_tuples(_shapes(outputs)) == keras.tree.lists_to_tuples(
                expected_output_shape
            )

    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config
    clone(input_data, **call_kwargs)  # builds the weights
    clone.set_weights(layer.get_weights())
    clone_outputs = clone(input_data, **call_kwargs)
    for got, want in zip(
        keras.tree.flatten(clone_outputs), keras.tree.flatten(outputs), strict=True
    ):
        assert_close(got, want, atol=atol)

    # Array-valued call arguments (masks, states) become model inputs, the rest stay static.
    tensor_kwargs = {k: v for k, v in call_kwargs.items() if _is_arrays(v)}
    static_kwargs = {k: v for k, v in call_kwargs.items() if k not in tensor_kwargs}
    data = [input_data, tensor_kwargs] if tensor_kwargs else input_data
    symbolic_inputs = keras.tree.map_structure(
        lambda x: keras.Input(batch_shape=tuple(x.shape), dtype=keras.ops.dtype(x)), data
    )
    sym_data, sym_kwargs = symbolic_inputs if tensor_kwargs else (symbolic_inputs, {})
    built = layer_cls.from_config(config)
    symbolic = built(sym_data, **sym_kwargs, **static_kwargs)
    model = keras.Model(symbolic_inputs, symbolic)
    built.set_weights(layer.get_weights())
    predicted = model(data)
    for got, want in zip(keras.tree.flatten(predicted), keras.tree.flatten(outputs), strict=True):
        assert_close(got, want, atol=atol)

    if train:
        train_model = keras.Model(symbolic_inputs, keras.tree.flatten(symbolic)[0])
        train_model.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss)
        first = keras.ops.convert_to_numpy(keras.tree.flatten(predicted)[0])
        target = np.random.default_rng(0).uniform(-1, 1, size=first.shape).astype(first.dtype)
        before = [keras.ops.convert_to_numpy(w) for w in train_model.trainable_weights]
        assert before, "train=True but the layer has no trainable weights"
        step_loss = train_model.train_on_batch(data, target)
        assert np.isfinite(step_loss), step_loss
        for w, b in zip(train_model.trainable_weights, before, strict=True):
            assert not np.allclose(keras.ops.convert_to_numpy(w), b), f"{w.path} did not train"
        predicted = model(data)

    if tmp_path is None:
        with tempfile.TemporaryDirectory() as tmp:
            loaded = keras_round_trip(model, tmp)
    else:
        loaded = keras_round_trip(model, tmp_path)
    assert [type(x) for x in loaded.layers] == [type(x) for x in model.layers]
    for got, want in zip(
        keras.tree.flatten(loaded(data)), keras.tree.flatten(predicted), strict=True
    ):
        assert_close(got, want, atol=atol)
    return layer
