"""The command line end to end on a tiny CSV: train, evaluate, predict, export."""

import json
import os

import pytest

from rnnkit.cli import main


@pytest.fixture
def reviews(tmp_path):
    path = tmp_path / "reviews.csv"
    rows = ["text,label"] + [f"{w} film,{w}" for w in ["good", "bad"] * 6]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_train_evaluate_predict_export(reviews, tmp_path, capsys):
    model = str(tmp_path / "m.keras")
    settings = [
        "--set",
        "epochs=30",
        "--set",
        "units=4",
        "--set",
        "embedding_dim=4",
        "--set",
        "verbose=0",
        "--set",
        "validation_split=0.0",
    ]
    assert main(["train", "sentiment", "--data", str(reviews), "--output", model, *settings]) == 0
    assert os.path.isfile(model)
    capsys.readouterr()
    assert main(["evaluate", "sentiment", "--model", model, "--data", str(reviews)]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["accuracy"] == 1.0
    assert (
        main(
            ["predict", "sentiment", "--model", model, "--text", "good film", "--text", "bad film"]
        )
        == 0
    )
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in records] == ["good", "bad"]
    out = str(tmp_path / "export")
    assert main(["export", "sentiment", "--model", model, "--output", out]) == 0
    assert os.path.isfile(os.path.join(out, "saved_model.pb"))


def test_bad_settings_are_explained(reviews, tmp_path):
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        main(["train", "sentiment", "--data", str(reviews), "--output", "x.keras", "--set", "3"])
    with pytest.raises(SystemExit, match="valid options"):
        main(
            [
                "train",
                "sentiment",
                "--data",
                str(reviews),
                "--output",
                "x.keras",
                "--set",
                "no_such=1",
            ]
        )
    with pytest.raises(SystemExit, match="--corpus"):
        main(["train", "sentiment", "--output", str(tmp_path / "x.keras")])
