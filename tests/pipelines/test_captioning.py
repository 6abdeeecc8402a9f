"""ImageCaptioner: it reads the image, exports exactly, refuses bad images, takes references."""

import os

import numpy as np
import pytest
import tensorflow as tf

from pipelines import ImageCaptioner
from rnnkit import data
from tests.helpers import run_without_rnnkit

COLOURS = {"red": (230, 30, 30), "green": (30, 200, 40), "blue": (40, 60, 240)}
PLACES = ("left", "right")


def coloured_squares(n, seed):
    """16x16 images of one square whose colour and side (left/right half) the caption names."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 16, 16, 3), np.uint8)
    captions = []
    for i in range(n):
        colour = list(COLOURS)[rng.integers(3)]
        place = PLACES[rng.integers(2)]
        y = int(rng.integers(0, 11))
        x = int(rng.integers(0, 3)) + (0 if place == "left" else 8)
        images[i, y : y + 5, x : x + 5] = COLOURS[colour]
        captions.append(f"a {colour} square on the {place}")
    return images, captions


SMALL = {
    "filters": (8, 16),
    "encoder_units": 16,
    "units": 32,
    "embedding_dim": 16,
    "batch_size": 16,
    "learning_rate": 5e-3,
    "time_budget": None,
    "verbose": 0,
    "seed": 0,
}


@pytest.fixture(scope="module")
def trained():
    images, captions = coloured_squares(240, seed=0)
    return ImageCaptioner(epochs=12, **SMALL).fit(images, captions)


def test_it_reads_the_image_colour_and_position_on_unseen_images(trained):
    images, captions = coloured_squares(60, seed=1)
    got = trained.caption(images, beam_width=1)
    colour = np.mean([g.split()[1:2] == c.split()[1:2] for g, c in zip(got, captions, strict=True)])
    place = np.mean([g.split()[-1:] == c.split()[-1:] for g, c in zip(got, captions, strict=True)])
    # Chance: 1/3 for the colour, 1/2 for the side, 1/6 for both.
    assert colour >= 0.9 and place >= 0.9, (colour, place, got[:5], captions[:5])
    scores = trained.evaluate(images, captions)
    assert scores["exact"] >= 0.8 and scores["bleu"] == scores["bleu_4"] >= 0.8, scores
    assert set(scores) == {"bleu", "bleu_1", "bleu_2", "bleu_3", "bleu_4", "exact", "loss"}


def test_export_runs_without_rnnkit_and_returns_exactly_caption(trained, tmp_path):
    images, _ = coloured_squares(5, seed=2)
    larger = np.repeat(np.repeat(images, 2, axis=1), 3, axis=2)  # resized in the graph
    path = trained.export(tmp_path / "captioner")
    with pytest.raises(FileExistsError):
        trained.export(tmp_path / "captioner")
    beam = trained.caption(images) + trained.caption(larger)
    greedy_path = trained.export(tmp_path / "greedy", beam_width=1)
    code = f"""
import numpy as np, tensorflow as tf
images = np.array({images.tolist()}, np.uint8)
larger = np.repeat(np.repeat(images, 2, axis=1), 3, axis=2)
result = []
for path in ({str(path)!r}, {str(greedy_path)!r}):
    serve = tf.saved_model.load(path).signatures["serving_default"]
    for batch in (images, larger):
        out = serve(image=tf.constant(batch))["caption"].numpy()
        result += [t.decode("utf-8") for t in out]
    try:
        serve(image=tf.zeros([1, 0, 4, 3], tf.uint8))
        result.append("no error")
    except tf.errors.InvalidArgumentError as error:
        result.append("zero height" if "zero height or width" in error.message else error.message)
"""
    got = run_without_rnnkit(code)
    greedy = trained.caption(images, beam_width=1) + trained.caption(larger, beam_width=1)
    assert got == beam + ["zero height"] + greedy + ["zero height"]


@pytest.mark.parametrize(
    "bad, match",
    [
        (tf.zeros([4, 4, 3], tf.uint8), r"\[4,4,3\] is not compatible with expected shape"),
        (tf.zeros([1, 4, 4, 1], tf.uint8), "is not compatible with expected shape"),
        (tf.zeros([1, 4, 4, 3], tf.float32), "expected to be a uint8 tensor"),
    ],
)
def test_the_signature_refuses_wrong_rank_channels_and_dtype(trained, tmp_path, bad, match):
    path = trained.export(tmp_path / "m")
    serve = tf.saved_model.load(path).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=match):
        serve(image=bad)


@pytest.mark.parametrize(
    "images, error, match",
    [
        (np.zeros((4, 4, 3), np.uint8), ValueError, r"\[N, height, width, 3\]"),
        (np.zeros((1, 4, 4), np.uint8), ValueError, "RGB"),
        (np.zeros((1, 4, 4, 3), np.float32), TypeError, "uint8"),
        (np.zeros((1, 0, 4, 3), np.uint8), ValueError, "zero height"),
        ([np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)], ValueError, "shapes"),
        ("image.png", TypeError, "not one path"),
    ],
)
def test_bad_images_get_clear_errors(trained, images, error, match):
    with pytest.raises(error, match=match):
        trained.caption(images)


def test_several_references_per_image(trained):
    images, captions = coloured_squares(12, seed=3)
    several = [[c, "a crimson square somewhere"] for c in captions]
    one = trained.evaluate(images, captions)
    both = trained.evaluate(images, several)
    assert both["exact"] == one["exact"] and both["bleu"] >= one["bleu"]
    assert trained.evaluate(images, [["a crimson blob"]] * 12)["exact"] == 0.0
    cap = ImageCaptioner(epochs=1, **SMALL).fit(images, several)
    assert "crimson" in cap.model.target_vectorizer.get_vocabulary()
    pairs = sum(len(b[1]) for b in cap._batches(images, cap_refs(several), train=False))
    assert pairs == 24  # every (image, reference) pair is trained on
    with pytest.raises(ValueError, match=r"`captions\[1\]`"):
        ImageCaptioner(epochs=1, **SMALL).fit(images[:2], ["a red square", []])


def cap_refs(several):
    return [list(r) for r in several]


def test_attention_plot_save_and_load(trained, tmp_path):
    images, _ = coloured_squares(2, seed=4)
    item = trained.attention(images[0])
    assert (
        item["words"][-1] == "[END]"
        and " ".join(item["words"][:-1]) == trained.caption(images[:1])[0]
    )
    # Two CNN blocks: an 8 x 8 grid; every word's map sums to 1.
    assert item["weights"].shape == (len(item["words"]), 8, 8)
    np.testing.assert_allclose(item["weights"].sum(axis=(1, 2)), 1.0, rtol=1e-5)
    png = trained.plot_attention(images[0], tmp_path / "attention.png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    path = tmp_path / "captioner.keras"
    trained.save(path)
    with pytest.raises(FileExistsError):
        trained.save(path)
    trained.save(path, overwrite=True)
    loaded = ImageCaptioner.load(path)
    assert loaded.image_size_ == (16, 16) and loaded.epochs_ == trained.epochs_
    assert loaded.caption(images) == trained.caption(images)


def test_fit_reads_image_files_named_in_a_captions_file(tmp_path):
    images, captions = coloured_squares(6, seed=5)
    lines = []
    for i, (image, caption) in enumerate(zip(images, captions, strict=True)):
        tf.io.write_file(str(tmp_path / f"{i}.png"), tf.io.encode_png(image))
        lines.append(f"{i}.png#0\t{caption}")
    (tmp_path / "Flickr8k.token.txt").write_text("\n".join(lines) + "\n")
    paths, texts = data.read_captions(tmp_path / "Flickr8k.token.txt", image_dir=tmp_path)
    cap = ImageCaptioner(epochs=1, image_size=(16, 16), **SMALL).fit(paths, texts)
    assert cap.caption(paths[:2]) == cap.caption(images[:2])
    assert os.path.basename(paths[0]) == "0.png"
