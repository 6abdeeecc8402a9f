"""from_tfds on offline TFDS mock data with the real feature specs."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from rnnkit.data import from_tfds


def test_imdb_reviews_texts_and_label_names():
    with tfds.testing.mock_data(num_examples=4):
        texts, labels = from_tfds("imdb_reviews", split="train")
    assert len(texts) == len(labels) == 4
    assert all(isinstance(t, str) for t in texts)
    assert set(labels) <= {"neg", "pos"}


def test_ted_translation_direction_follows_the_name():
    with tfds.testing.mock_data(num_examples=3):
        builder = tfds.builder("ted_hrlr_translate/pt_to_en")
        raw = list(tfds.as_numpy(builder.as_dataset(split="train")))
        sources, targets = from_tfds("ted_hrlr_translate/pt_to_en", split="train")
        swapped = from_tfds(
            "ted_hrlr_translate/pt_to_en", split="train", source_field="en", target_field="pt"
        )
    assert sources == [r["pt"].decode() for r in raw]
    assert targets == [r["en"].decode() for r in raw]
    assert swapped == (targets, sources)
    with tfds.testing.mock_data(num_examples=1):
        with pytest.raises(ValueError, match=r"choose from \['en', 'pt'\]"):
            from_tfds("ted_hrlr_translate/pt_to_en", source_field="fr")


def _aligned(names_and_sizes):
    """A mock as_dataset that yields tokens and tags of equal length (mock data does not)."""

    def as_dataset(self, *args, **kwargs):
        rng = np.random.default_rng(0)
        examples = {key: [] for key in ["tokens", *names_and_sizes]}
        for _ in range(3):
            length = int(rng.integers(1, 6))
            examples["tokens"].append([f"w{i}" for i in range(length)])
            for key, size in names_and_sizes.items():
                examples[key].append(rng.integers(0, size, length).tolist())
        return tf.data.Dataset.from_generator(
            lambda: ({key: np.array(examples[key][i]) for key in examples} for i in range(3)),
            output_signature={
                key: tf.TensorSpec([None], tf.string if key == "tokens" else tf.int64)
                for key in examples
            },
        )

    return as_dataset


def test_conll2003_tags_are_class_names():
    with tfds.testing.mock_data(as_dataset_fn=_aligned({"ner": 9, "pos": 47, "chunks": 23})):
        tokens, tags = from_tfds("conll2003", split="train")
        names = tfds.builder("conll2003").info.features["ner"].feature.names
        _, pos = from_tfds("conll2003", split="train", tags_field="pos")
    assert [len(t) for t in tokens] == [len(t) for t in tags]
    assert {tag for row in tags for tag in row} <= set(names)
    assert "B-PER" in names
    assert pos != tags


def test_xtreme_pos_defaults_to_upos():
    with tfds.testing.mock_data(as_dataset_fn=_aligned({"upos": 18})):
        tokens, tags = from_tfds("xtreme_pos/xtreme_pos_en", split="train")
    upos = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART"}
    assert tokens[0][0] == "w0"
    assert {tag for row in tags for tag in row} <= upos | {
        "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X", "_",
    }  # fmt: skip


def test_mock_data_with_ragged_lengths_raises_clearly():
    with tfds.testing.mock_data(num_examples=5):
        with pytest.raises(ValueError, match=r"example \d+: \d+ tokens \(`tokens`\) but \d+ tags"):
            from_tfds("conll2003", split="train")


def test_unknown_names_and_fields():
    with pytest.raises(ValueError, match="`name`='imdb_reviewz'"):
        from_tfds("imdb_reviewz")
    with tfds.testing.mock_data(num_examples=1):
        with pytest.raises(ValueError, match=r"`tags_field`='lemma'.*\['chunks', 'ner'"):
            from_tfds("conll2003", tags_field="lemma")


def test_unprepared_dataset_says_how_to_fix(tmp_path):
    with pytest.raises(ValueError, match="never downloads"):
        from_tfds("imdb_reviews", data_dir=str(tmp_path))
