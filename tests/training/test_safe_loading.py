"""`Task.load` reads a user's file: it imports nothing the file names and explains every fault."""

import sys
import zipfile

import keras
import numpy as np
import pytest

from rnnkit import training
from rnnkit.training._task import PIPELINE_CLASSES
from tests.helpers import edit_saved_pipeline
from tests.training.test_task import _Doubler, _fitted


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    task, x = _fitted()
    path = tmp_path_factory.mktemp("saved") / "t.keras"
    task.save(path)
    return path, task, x


def _copy(saved, tmp_path, name="c.keras"):
    path = tmp_path / name
    path.write_bytes(saved[0].read_bytes())
    return path


def _rewrite(path, entries):
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)


def _entries(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_crafted_class_name_is_refused_before_anything_is_imported(saved, tmp_path, monkeypatch):
    marker = tmp_path / "marker"
    package = tmp_path / "site"
    package.mkdir()
    (package / "rnnkit_evil_module.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\nclass Evil:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(package))
    path = _copy(saved, tmp_path)
    edit_saved_pipeline(path, lambda p: p.update({"class": "rnnkit_evil_module.Evil"}))
    for loader in (training.Task, _Doubler):
        with pytest.raises(ValueError, match="'rnnkit_evil_module.Evil', which is not an rnnkit"):
            loader.load(path)
    assert not marker.exists()
    assert "rnnkit_evil_module" not in sys.modules
    # The module really would have run: the test would catch an import.
    __import__("rnnkit_evil_module")
    assert marker.exists()
    sys.modules.pop("rnnkit_evil_module")


def test_the_allow_list_names_the_pipelines():
    import pipelines

    names = {
        f"{c.__module__}.{c.__qualname__}" for c in map(vars(pipelines).get, pipelines.__all__)
    }
    assert names <= PIPELINE_CLASSES


def test_a_file_of_another_pipeline_names_the_right_class(saved, tmp_path):
    path = _copy(saved, tmp_path)
    edit_saved_pipeline(path, lambda p: p.update({"class": "pipelines.translation.Translator"}))
    with pytest.raises(ValueError, match="holds a `pipelines.translation.Translator`, not a"):
        _Doubler.load(path)


def test_the_base_class_loads_a_defined_subclass(saved):
    loaded = training.Task.load(saved[0])
    assert type(loaded) is _Doubler
    np.testing.assert_allclose(loaded.predict(saved[2]), saved[1].predict(saved[2]), atol=1e-6)


def _truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _not_a_zip(path):
    path.write_bytes(b"text,label\ngood,pos\n")


def _empty(path):
    path.write_bytes(b"")


def _no_state(path):
    entries = _entries(path)
    del entries["rnnkit.json"]
    _rewrite(path, entries)


def _bad_json(path):
    _rewrite(path, {**_entries(path), "rnnkit.json": b"{not json"})


def _not_utf8(path):
    _rewrite(path, {**_entries(path), "rnnkit.json": b"\xff\xfe"})


def _json_list(path):
    _rewrite(path, {**_entries(path), "rnnkit.json": b"[1, 2]"})


def _without(key):
    def edit(path):
        edit_saved_pipeline(path, lambda p: p.pop(key))

    return edit


def _params_list(path):
    edit_saved_pipeline(path, lambda p: p.update(params=[1]))


def _newer(path):
    edit_saved_pipeline(path, lambda p: p.update(format=99))


def _bad_weights(path):
    entries = _entries(path)
    name = next(n for n in entries if n.endswith(".h5"))
    entries[name] = b"\x89HDF\r\n\x1a\n" + b"\0" * 64
    _rewrite(path, entries)


def _no_weights(path):
    entries = _entries(path)
    _rewrite(path, {n: c for n, c in entries.items() if not n.endswith(".h5")})


def _bad_config(path):
    _rewrite(path, {**_entries(path), "config.json": b"{}"})


def _incomplete_state(path):
    edit_saved_pipeline(path, lambda p: p.update(state={}))


@pytest.mark.parametrize(
    "damage, message",
    [
        (_truncated, "not a `.keras` archive.*truncated, damaged"),
        (_not_a_zip, "not a `.keras` archive"),
        (_empty, "not a `.keras` archive"),
        (_no_state, r"not a file written by `_Doubler.save` \(it has no rnnkit.json\)"),
        (_bad_json, "rnnkit.json is not valid JSON"),
        (_not_utf8, "rnnkit.json is not valid JSON"),
        (_json_list, "rnnkit.json is not a JSON object"),
        (_without("params"), "lacks 'params'; the file is incomplete"),
        (_without("state"), "lacks 'state'"),
        (_without("class"), "lacks 'class'"),
        (_without("format"), "lacks 'format'"),
        (_params_list, r"rnnkit.json\['params'\] must be a dict, found list"),
        (_newer, "format 99 by a newer rnnkit"),
        (_bad_weights, "its Keras model cannot be read"),
        (_no_weights, "its Keras model cannot be read"),
        (_bad_config, "its Keras model cannot be read"),
        (_incomplete_state, "its learned state is incomplete"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_a_damaged_file_gives_one_clear_error_naming_it(saved, tmp_path, damage, message):
    path = _copy(saved, tmp_path)
    damage(path)
    with pytest.raises(ValueError, match=message) as info:
        _Doubler.load(path)
    assert str(info.value).startswith(f"Cannot load {str(path)!r}: ")
    error = info.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_a_folder_or_a_missing_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="is a folder, not a `.keras` file.*tf.saved_model.load"):
        _Doubler.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.keras' does not exist"):
        _Doubler.load(tmp_path / "missing.keras")


def test_keras_safe_mode_refuses_code_in_the_model(tmp_path):
    class _WithLambda(_Doubler):
        def fit(self, x, y):
            inputs = keras.Input((1,), name="x")
            outputs = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
            self.model_ = keras.Model(inputs, outputs)
            self.fitted_note_ = "x"
            return self

    path = tmp_path / "lambda.keras"
    _WithLambda().fit(None, None).save(path)
    with pytest.raises(ValueError, match="Cannot load .*safe_mode"):
        _WithLambda.load(path)
