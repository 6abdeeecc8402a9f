"""`from_tfds`: TensorFlow Datasets records as the same plain lists the file readers return."""

from __future__ import annotations

import os
from typing import Any

from rnnkit.checks import is_int

# Tag field used when a tagging dataset has several (conll2003 has ner, pos and chunks).
_DEFAULT_TAGS = ("ner", "upos", "tags", "pos")


def _load_builder(name: str, data_dir: str | None) -> Any:
    import tensorflow_datasets as tfds

    if not isinstance(name, str) or not name:
        raise TypeError(f"`name` must be a TFDS dataset name such as 'imdb_reviews'; got {name!r}.")
    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(
            f"`name`={name!r} is not a TFDS dataset (or configuration). Check the spelling, "
            "e.g. 'imdb_reviews', 'ted_hrlr_translate/pt_to_en', 'conll2003', "
            "'xtreme_pos/xtreme_pos_en'."
        ) from None


def _decode(value: Any, where: str) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"{where}: text is not valid UTF-8 ({error.reason}).") from None
    return str(value)


def _class_names(feature: Any) -> list[str] | None:
    import tensorflow_datasets as tfds

    if isinstance(feature, tfds.features.Sequence):
        feature = feature.feature
    if isinstance(feature, tfds.features.ClassLabel):
        return list(feature.names)
    return None


def _kinds(features: Any) -> dict[str, str]:
    """Classifies each top-level feature: text, label, tokens, tags or other."""
    import tensorflow_datasets as tfds

    kinds = {}
    for key, feature in features.items():
        if isinstance(feature, tfds.features.Text):
            kinds[key] = "text"
        elif isinstance(feature, tfds.features.ClassLabel):
            kinds[key] = "label"
        elif isinstance(feature, tfds.features.Sequence) and isinstance(
            feature.feature, tfds.features.Text
        ):
            kinds[key] = "tokens"
        elif isinstance(feature, tfds.features.Sequence) and isinstance(
            feature.feature, tfds.features.ClassLabel
        ):
            kinds[key] = "tags"
        else:
            kinds[key] = "other"
    return kinds


def _pick(
    kinds: dict[str, str],
    kind: str,
    given: str | None,
    argument: str,
    name: str,
    preferred: tuple[str, ...] = (),
) -> str:
    candidates = [key for key, value in kinds.items() if value == kind]
    if given is not None:
        if given not in kinds:
            raise ValueError(
                f"`{argument}`={given!r} is not a feature of {name!r}. Features: {sorted(kinds)}."
            )
        return given
    for key in preferred:
        if key in candidates:
            return key
    if len(candidates) == 1:
        return candidates[0]
    raise ValueError(
        f"Cannot tell which feature of {name!r} to use as `{argument}`: candidates "
        f"{sorted(candidates)} among features {sorted(kinds)}. Pass `{argument}=`."
    )


def from_tfds(
    name: str,
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    *,
    text_field: str | None = None,
    label_field: str | None = None,
    source_field: str | None = None,
    target_field: str | None = None,
    tokens_field: str | None = None,
    tags_field: str | None = None,
    max_examples: int | None = None,
) -> tuple[list, list]:
    """Reads a prepared TFDS dataset into the records the file readers return.

    The task follows from the dataset's features (or from the fields you name):
    - text + class label (`imdb_reviews`): `(texts, labels)`, labels as class names;
    - a `Translation` feature (`ted_hrlr_translate/pt_to_en`): `(sources, targets)`, the
      direction taken from `X_to_Y` in the name unless `source_field`/`target_field` say;
    - a token sequence + tag sequences (`conll2003`, `xtreme_pos/*`): `(token_lists,
      tag_lists)`, tags as class names (`ner`, else `upos`, unless `tags_field` says).
    Any dataset with the same feature shapes works when you name its fields. The data must
    already be prepared in `data_dir` (nothing is downloaded); tokens and tags of different
    lengths in one example raise a `ValueError` naming the example.

    Args:
        name: TFDS name, with configuration (`"xtreme_pos/xtreme_pos_en"`).
        split: TFDS split, slicing allowed (`"train[:10%]"`).
        data_dir: where the prepared data lives (the TFDS default when `None`).
        text_field: the text feature (classification).
        label_field: the class-label feature (classification).
        source_field: the source language (translation).
        target_field: the target language (translation).
        tokens_field: the token-sequence feature (tagging).
        tags_field: the tag-sequence feature (tagging).
        max_examples: read at most this many examples.

    Returns:
        A pair of aligned lists: `(texts, labels)`, `(sources, targets)` or `(tokens, tags)`.

    Example:
    >>> import tensorflow_datasets as tfds
    >>> with tfds.testing.mock_data(num_examples=2):
    ...     texts, labels = from_tfds("imdb_reviews", split="train")
    >>> len(texts), set(labels) <= {"neg", "pos"}
    (2, True)
    """
    import tensorflow_datasets as tfds

    builder = _load_builder(name, None if data_dir is None else os.fspath(data_dir))
    features = builder.info.features
    if max_examples is not None and not is_int(max_examples, minimum=1):
        raise ValueError(f"`max_examples` must be a positive int; received {max_examples!r}.")

    translation = isinstance(features, tfds.features.Translation)
    if translation or source_field is not None or target_field is not None:
        languages = list(features.languages) if translation else sorted(features.keys())
        config = name.split("/")[-1]
        if "_to_" in config:
            default_source, default_target = config.split("_to_", 1)
        else:
            default_source = default_target = None
        source = source_field or default_source
        target = target_field or default_target
        for value, argument in ((source, "source_field"), (target, "target_field")):
            if value not in languages:
                raise ValueError(
                    f"`{argument}`={value!r} is not a language/feature of {name!r}; choose from "
                    f"{languages}."
                )
        fields, task = (source, target), "pairs"
    else:
        kinds = _kinds(features)
        tagging = (
            tokens_field is not None
            or tags_field is not None
            or (text_field is None and label_field is None and "tokens" in kinds.values())
        )
        if tagging:
            fields = (
                _pick(kinds, "tokens", tokens_field, "tokens_field", name, ("tokens",)),
                _pick(kinds, "tags", tags_field, "tags_field", name, _DEFAULT_TAGS),
            )
            task = "tagged"
        else:
            fields = (
                _pick(kinds, "text", text_field, "text_field", name, ("text",)),
                _pick(kinds, "label", label_field, "label_field", name, ("label",)),
            )
            task = "texts"

    names = None if task == "pairs" else _class_names(features[fields[1]])
    try:
        dataset = builder.as_dataset(split=split)
    except AssertionError as error:  # TFDS asserts when the data was never prepared
        raise ValueError(
            f"TFDS dataset {name!r} is not prepared in `data_dir`={data_dir!r}: {error}. "
            "rnnkit never downloads; run `tfds.builder(name).download_and_prepare()` on a "
            "machine with network access and pass its `data_dir`."
        ) from None
    if max_examples is not None:
        dataset = dataset.take(max_examples)

    first: list = []
    second: list = []
    for index, example in enumerate(tfds.as_numpy(dataset)):
        where = f"{name}[{split}] example {index}"
        a, b = example[fields[0]], example[fields[1]]
        if task == "pairs":
            first.append(_decode(a, where))
            second.append(_decode(b, where))
        elif task == "texts":
            first.append(_decode(a, where))
            second.append(names[int(b)] if names else _decode(b, where))
        else:
            tokens = [_decode(t, where) for t in a.tolist()]
            tags = [names[int(t)] if names else _decode(t, where) for t in b.tolist()]
            if len(tokens) != len(tags):
                raise ValueError(
                    f"{where}: {len(tokens)} tokens (`{fields[0]}`) but {len(tags)} tags "
                    f"(`{fields[1]}`); every token needs exactly one tag. (TFDS mock data "
                    "draws the two lengths independently.)"
                )
            first.append(tokens)
            second.append(tags)
    if not first:
        raise ValueError(f"{name}[{split}] has no examples.")
    return first, second
