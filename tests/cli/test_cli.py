"""The command line end to end on tiny files: every task with default flags, and its errors."""

import io
import json
import os

import pytest

from rnnkit.cli import _in_cli_words, main

REVIEWS = "text,label\n" + "".join(f"{w} film,{w}\n" for w in ["good", "bad"] * 6)
PAIRS = "".join(f"{s}\t{t}\n" for s, t in [("go .", "ve ."), ("hi .", "hola .")] * 4)
CONLL = "".join(
    f"{w1} NN B-PER\n{w2} VB O\n\n" for w1, w2 in [("Ann", "runs"), ("Bob", "sleeps")] * 4
)
TINY = ["--set", "units=4", "--set", "embedding_dim=4", "--set", "verbose=0", "--set", "seed=0"]


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def reviews(tmp_path):
    return _write(tmp_path, "reviews.csv", REVIEWS)


def test_sentiment_train_evaluate_predict_export(reviews, tmp_path, capsys):
    model = str(tmp_path / "m.keras")
    settings = [*TINY, "--set", "epochs=30", "--set", "validation_split=0.0"]
    code, out, _ = _run(
        capsys, "train", "sentiment", "--data", reviews, "--output", model, *settings
    )
    assert code == 0 and out == f"saved {model}\n"
    code, out, _ = _run(capsys, "evaluate", "sentiment", "--model", model, "--data", reviews)
    assert code == 0 and json.loads(out)["accuracy"] == 1.0
    code, out, _ = _run(
        capsys,
        "predict",
        "sentiment",
        "--model",
        model,
        "--text",
        "good film",
        "--text",
        "bad film",
    )
    assert code == 0
    assert [json.loads(line)["label"] for line in out.splitlines()] == ["good", "bad"]
    export = str(tmp_path / "export")
    assert _run(capsys, "export", "sentiment", "--model", model, "--output", export)[0] == 0
    assert os.path.isfile(os.path.join(export, "saved_model.pb"))
    code, _, err = _run(capsys, "export", "sentiment", "--model", model, "--output", export)
    assert code == 1 and "pass `--overwrite` to replace it" in err
    assert (
        _run(capsys, "export", "sentiment", "--model", model, "--output", export, "--overwrite")[0]
        == 0
    )
    # An existing --output is refused before any training, in the command line's words.
    before = os.path.getmtime(model)
    code, _, err = _run(
        capsys, "train", "sentiment", "--data", reviews, "--output", model, *settings
    )
    assert code == 1 and err.count("\n") == 1 and "pass `--overwrite`" in err
    assert "overwrite=True" not in err and os.path.getmtime(model) == before
    settings[settings.index("epochs=30")] = "epochs=1"
    code, _, _ = _run(
        capsys, "train", "sentiment", "--data", reviews, "--output", model, "--overwrite", *settings
    )
    assert code == 0 and os.path.getmtime(model) >= before


def test_translation_with_default_flags_one_tsv_or_two_files(tmp_path, capsys, monkeypatch):
    tsv = _write(tmp_path, "pairs.tsv", PAIRS)
    model = str(tmp_path / "t.keras")
    args = ["--set", "epochs=1", "--set", "batch_tokens=64", *TINY]
    assert _run(capsys, "train", "translation", "--data", tsv, "--output", model, *args)[0] == 0
    code, out, _ = _run(capsys, "evaluate", "translation", "--model", model, "--data", tsv)
    assert code == 0 and "bleu" in json.loads(out)
    source = _write(tmp_path, "train.en", "go .\nhi .\n")
    target = _write(tmp_path, "train.es", "ve .\nhola .\n")
    code, out, _ = _run(
        capsys, "evaluate", "translation", "--model", model, "--data", source, target
    )
    assert code == 0 and "bleu" in json.loads(out)
    short = _write(tmp_path, "short.es", "ve .\n")
    code, _, err = _run(
        capsys, "evaluate", "translation", "--model", model, "--data", source, short
    )
    assert code == 1 and "has 2 lines" in err and "has 1" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("go .\n\nhi .\n"))
    code, out, _ = _run(capsys, "predict", "translation", "--model", model)
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["source"] for r in records] == ["go .", "hi ."]
    assert all(isinstance(r["translation"], str) for r in records)


def test_captioning_reads_a_flickr8k_file_with_several_captions_per_image(tmp_path, capsys):
    import numpy as np
    import tensorflow as tf

    lines = []
    for i, colour in enumerate([(230, 30, 30), (30, 60, 230)] * 2):
        image = np.zeros((8, 8, 3), np.uint8)
        image[2:6, 2:6] = colour
        tf.io.write_file(str(tmp_path / f"{i}.png"), tf.io.encode_png(image))
        word = "red" if i % 2 == 0 else "blue"
        lines += [f"{i}.png#0\ta {word} square", f"{i}.png#1\t{word}"]
    captions = _write(tmp_path, "Flickr8k.token.txt", "\n".join(lines) + "\n")
    from argparse import Namespace

    from rnnkit.cli import _read_captions

    read = Namespace(data=captions, format="flickr8k", image_dir=str(tmp_path))
    paths, references = _read_captions(read)  # one image, all its captions
    assert len(paths) == 4 and references[1] == ["a blue square", "blue"]
    model = str(tmp_path / "c.keras")
    data = ["--data", captions, "--image-dir", str(tmp_path)]
    args = [*data, "--output", model, "--set", "epochs=1", "--set", "filters=(4,)", *TINY]
    assert _run(capsys, "train", "captioning", *args)[0] == 0
    code, out, _ = _run(capsys, "evaluate", "captioning", "--model", model, *data)
    assert code == 0 and {"bleu", "exact", "loss"} <= set(json.loads(out))
    image = str(tmp_path / "0.png")
    code, out, _ = _run(capsys, "predict", "captioning", "--model", model, "--text", image)
    assert code == 0 and json.loads(out)["image"] == image
    assert isinstance(json.loads(out)["caption"], str)


def test_tagging_reads_the_last_conll_column_and_evaluates(tmp_path, capsys):
    conll = _write(tmp_path, "train.conll", CONLL)
    model = str(tmp_path / "g.keras")
    args = ["--set", "epochs=2", *TINY]
    assert _run(capsys, "train", "tagging", "--data", conll, "--output", model, *args)[0] == 0
    code, out, _ = _run(capsys, "evaluate", "tagging", "--model", model, "--data", conll)
    scores = json.loads(out)
    assert code == 0 and set(scores) >= {"accuracy", "f1", "per_type"}
    assert isinstance(scores["per_type"], dict)
    code, out, _ = _run(capsys, "predict", "tagging", "--model", model, "--text", "Ann runs")
    record = json.loads(out)
    assert code == 0 and record["text"] == "Ann runs" and isinstance(record["entities"], list)


@pytest.mark.parametrize(
    "argv, code, message",
    [
        ([], 2, "required: command"),
        (["train"], 2, "required: TASK"),
        (["train", "poetry"], 2, "invalid choice: 'poetry'"),
        (["train", "sentiment", "--dat", "{reviews}", "--output", "x.keras"], 2, "--dat"),
        (["train", "sentiment", "--data", "{reviews}", "--output", "x.h5"], 2, "end with `.keras`"),
        (
            ["train", "sentiment", "--data", "{reviews}", "--output", "x.keras", "--set", "3"],
            2,
            "KEY=VALUE",
        ),
        (
            [
                "train",
                "sentiment",
                "--data",
                "{reviews}",
                "--output",
                "x.keras",
                "--set",
                "no_such=1",
            ],
            2,
            r"unknown `--set` option\(s\) \['no_such'\].*valid: \[",
        ),
        (["train", "sentiment", "--output", "x.keras"], 2, "`--data FILE` or `--corpus NAME`"),
        (["train", "sentiment", "--corpus", "tatoeba", "--output", "x.keras"], 2, "invalid choice"),
        (
            ["evaluate", "tagging", "--model", "m.keras", "--corpus", "rotten_tomatoes"],
            2,
            "choose from",
        ),
        (
            ["train", "sentiment", "--data", "missing.csv", "--output", "x.keras"],
            1,
            "`--data` 'missing.csv' does not exist",
        ),
        (
            [
                "train",
                "sentiment",
                "--data",
                "{reviews}",
                "--output",
                "x.keras",
                "--text-column",
                "body",
            ],
            1,
            r"no column named 'body' \(`--text-column`\)",
        ),
        (
            [
                "train",
                "sentiment",
                "--data",
                "{reviews}",
                "--output",
                "x.keras",
                "--set",
                "learning_rate=1e3",
            ],
            1,
            "`learning_rate` must be a finite number",
        ),
        (
            ["predict", "sentiment", "--model", "missing.keras", "--text", "x"],
            1,
            "`--model` 'missing.keras' does not exist",
        ),
        (
            ["predict", "sentiment", "--model", "{reviews}", "--text", "x"],
            1,
            "Cannot load .*not a `.keras` archive",
        ),
        (["evaluate", "tagging", "--model", "{reviews}", "--data", "{reviews}"], 1, "Cannot load"),
    ],
)
def test_user_errors_print_one_line_and_exit_1_or_2(
    argv, code, message, reviews, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{reviews}", reviews) for a in argv]
    got, out, err = _run(capsys, *argv)
    assert got == code, err
    assert err.startswith("rnnkit: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and out == ""
    assert __import__("re").search(message, err), err
    assert not os.path.exists(tmp_path / "x.keras")


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        main(
            ["predict", "sentiment", "--model", str(tmp_path / "m.keras"), "--text", "x", "--debug"]
        )
    with pytest.raises(FileNotFoundError):
        main(
            ["--debug", "predict", "sentiment", "--model", str(tmp_path / "m.keras"), "--text", "x"]
        )


def test_advice_is_given_in_the_command_lines_words():
    assert (
        _in_cli_words("pass `overwrite=True` to replace it") == "pass `--overwrite` to replace it"
    )
    assert _in_cli_words("pass `format='conllu'`.") == "pass `--format conllu`."
    assert (
        _in_cli_words("no column (`tag_column`)\n  see `units`")
        == "no column (`--tag-column`) see `units`"
    )
