"""Chunk tags: scheme detection and conversion, entity spans and entity-level scores.

Sequence taggers for named entities write one tag per token in a *chunk scheme*:

- ``IO``: ``I-PER I-PER O`` (adjacent entities of one type cannot be told apart);
- ``IOB1``: like ``IO``, but ``B-`` starts an entity that directly follows one of the same type;
- ``BIO`` (also called IOB2): every entity starts with ``B-``;
- ``BIOES`` (also called IOBES): ``S-`` for one-token entities, ``B- I- E-`` for longer ones.

A tag set that is not a chunk scheme (part-of-speech tags such as ``NOUN``) has scheme ``None``.

Entity extraction has two modes that give the same numbers as ``seqeval``:
``"default"`` reads any mixture of prefixes leniently like the CoNLL ``conlleval`` script (a
stray ``I-`` starts an entity), and ``"strict"`` counts only chunks that are well formed in the
given scheme (``BIO``: ``B-X I-X*``; ``BIOES``: ``S-X`` or ``B-X I-X* E-X``).

This module is plain Python (no TensorFlow) so any pipeline or script can use it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

SCHEMES = ("IO", "IOB1", "BIO", "BIOES")
_ALIASES = {"IOB2": "BIO", "IOBES": "BIOES"}
_PREFIXES = ("B", "I", "E", "S")
MODES = ("default", "strict")

Entity = tuple[str, int, int]  # (type, start token, end token exclusive)


def normalize_scheme(scheme: str | None, name: str = "scheme") -> str | None:
    """Resolves a scheme name (case-insensitive, aliases IOB2 and IOBES) to a name in `SCHEMES`.

    Args:
        scheme: ``"IO"``, ``"IOB1"``, ``"BIO"``/``"IOB2"``, ``"BIOES"``/``"IOBES"``, or ``None``/
            ``"none"`` for plain tags (no entities).
        name: the argument name used in error messages.

    Returns:
        The canonical name, or ``None`` for plain tags.
    """
    if scheme is None:
        return None
    if not isinstance(scheme, str):
        raise TypeError(f"`{name}` must be a string or None, got {type(scheme).__name__}.")
    upper = scheme.upper()
    if upper == "NONE":
        return None
    upper = _ALIASES.get(upper, upper)
    if upper not in SCHEMES:
        valid = [*SCHEMES, *_ALIASES, "none"]
        raise ValueError(f"Unknown tag scheme: `{name}` must be one of {valid}, got {scheme!r}.")
    return upper


def split_tag(tag: str) -> tuple[str, str]:
    """Splits a chunk tag into prefix and type: ``"B-PER"`` -> ``("B", "PER")``.

    ``"O"`` gives ``("O", "")``; a prefix without a type (``"B"``) gives the type ``"_"``, as in
    ``seqeval``.

    Args:
        tag: one tag.

    Returns:
        `(prefix, type)`.
    """
    if tag == "O":
        return "O", ""
    prefix, _, type_ = tag.partition("-")
    return prefix, type_ or "_"


def is_chunk_tag(tag: str) -> bool:
    """True for ``"O"`` and for ``B-``/``I-``/``E-``/``S-`` followed by a type."""
    if tag == "O":
        return True
    return len(tag) > 2 and tag[0] in _PREFIXES and tag[1] == "-"


def detect_scheme(tag_lists: Sequence[Sequence[str]]) -> str | None:
    """Detects the chunk scheme of tag sequences.

    Args:
        tag_lists: tag sequences, one per sentence.

    Returns:
        ``"BIOES"`` if any ``E-``/``S-`` tag occurs; ``"IOB1"`` if ``B-`` tags occur but some
        entity starts with ``I-``; ``"BIO"`` if every entity starts with ``B-`` (also for tags
        that are all ``O``); ``"IO"`` if there is no ``B-`` tag; ``None`` if no tag is a chunk
        tag (plain labels such as part-of-speech tags).

    Raises:
        ValueError: chunk tags mixed with plain labels.

    Example:
    >>> detect_scheme([["B-PER", "I-PER", "O"]]), detect_scheme([["NOUN", "VERB"]])
    ('BIO', None)
    """
    chunk_example = plain_example = None
    prefixes: set[str] = set()
    starts_with_i = False
    for tags in tag_lists:
        prev_prefix, prev_type = "O", ""
        for tag in tags:
            if not is_chunk_tag(tag):
                plain_example = plain_example or tag
                continue
            if tag != "O":
                chunk_example = chunk_example or tag
            prefix, type_ = split_tag(tag)
            prefixes.add(prefix)
            if prefix == "I" and (prev_prefix == "O" or prev_type != type_):
                starts_with_i = True
            prev_prefix, prev_type = prefix, type_
    if plain_example is not None:
        if chunk_example is None:
            return None
        raise ValueError(
            "Unknown tag scheme: the tags mix chunk tags (e.g. "
            f"{chunk_example!r}) with plain labels (e.g. {plain_example!r}). Use one of "
            f"{list(SCHEMES)} for entities (tags 'O' or 'B-TYPE', 'I-TYPE', ...), or pass "
            "`tag_scheme='none'` to treat every tag as a plain label."
        )
    if prefixes & {"E", "S"}:
        return "BIOES"
    if "B" in prefixes:
        return "IOB1" if starts_with_i else "BIO"
    if "I" in prefixes:
        return "IO"
    return "BIO"


def check_scheme(tag_lists: Sequence[Sequence[str]], scheme: str | None, name: str) -> None:
    """Raises a `ValueError` naming the first tag that `scheme` does not allow.

    Args:
        tag_lists: tag sequences.
        scheme: a name in `SCHEMES`, or ``None`` (plain labels: any tag is allowed).
        name: the argument name used in error messages.
    """
    if scheme is None:
        return
    allowed = {"IO": "IO", "IOB1": "BIO", "BIO": "BIO", "BIOES": "BIOES"}[scheme]
    for i, tags in enumerate(tag_lists):
        for j, tag in enumerate(tags):
            if not is_chunk_tag(tag) or split_tag(tag)[0] not in allowed:
                raise ValueError(
                    f"`{name}[{i}][{j}]` is {tag!r}, which is not a tag of the {scheme} scheme "
                    f"(allowed: 'O' and {', '.join(repr(p + '-TYPE') for p in allowed if p != 'O')})."
                    " Pass the right `tag_scheme`, or 'auto' to detect it."
                )


def _is_chunk_end(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    # The conlleval rules: does the chunk that holds the previous token end before this one?
    if prev_prefix in ("E", "S"):
        return True
    if prev_prefix in ("B", "I") and prefix in ("B", "S", "O"):
        return True
    return prev_prefix != "O" and prev_type != type_


def _is_chunk_start(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    if prefix in ("B", "S"):
        return True
    if prev_prefix in ("E", "S", "O") and prefix in ("E", "I"):
        return True
    return prefix != "O" and prev_type != type_


def _lenient_entities(tags: Sequence[str]) -> list[Entity]:
    entities: list[Entity] = []
    prev_prefix, prev_type, start = "O", "", 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, type_ = split_tag(tag)
        if prefix == "O":
            type_ = "_"  # conlleval gives "O" the type "_" too; keeps the type comparisons equal
        if _is_chunk_end(prev_prefix, prefix, prev_type, type_):
            entities.append((prev_type, start, i))
        if _is_chunk_start(prev_prefix, prefix, prev_type, type_):
            start = i
        prev_prefix, prev_type = prefix, type_
    return entities


def _strict_entities(tags: Sequence[str], scheme: str) -> list[Entity]:
    if scheme not in ("BIO", "BIOES"):
        raise ValueError(
            f"`mode='strict'` needs `scheme` 'BIO' or 'BIOES' (the schemes in which every "
            f"entity has a well-formed start and end), got {scheme!r}; use `mode='default'`."
        )
    check_scheme([tags], scheme, "tags")
    split = [split_tag(tag) for tag in tags]
    entities: list[Entity] = []
    i, n = 0, len(split)
    while i < n:
        prefix, type_ = split[i]
        if scheme == "BIOES" and prefix == "S":
            entities.append((type_, i, i + 1))
            i += 1
            continue
        if prefix != "B":
            i += 1
            continue
        j = i + 1
        while j < n and split[j] == ("I", type_):
            j += 1
        if scheme == "BIO":
            entities.append((type_, i, j))
            i = j
        elif j < n and split[j] == ("E", type_):
            entities.append((type_, i, j + 1))
            i = j + 1
        else:
            i = j  # a B- chunk that never ends with E- is not an entity in strict BIOES
    return entities


def get_entities(
    tags: Sequence[str], *, mode: str = "default", scheme: str | None = None
) -> list[Entity]:
    """Finds the entities in one tag sequence.

    Args:
        tags: the tags of one sentence.
        mode: ``"default"`` (lenient, like conlleval) or ``"strict"``.
        scheme: required for ``mode="strict"``: ``"BIO"`` or ``"BIOES"``.

    Returns:
        A list of `(type, start, end)` with token indices, `end` exclusive.

    Example:
    >>> get_entities(["B-PER", "I-PER", "O", "I-LOC"])
    [('PER', 0, 2), ('LOC', 3, 4)]
    >>> get_entities(["B-PER", "I-PER", "O", "I-LOC"], mode="strict", scheme="BIO")
    [('PER', 0, 2)]
    """
    if mode not in MODES:
        raise ValueError(f"`mode` must be one of {list(MODES)}, got {mode!r}.")
    if mode == "default":
        return _lenient_entities(tags)
    return _strict_entities(tags, normalize_scheme(scheme))


def encode_entities(length: int, entities: Sequence[Entity], scheme: str) -> list[str]:
    """Writes entity spans as tags of `scheme` (the inverse of `get_entities`).

    Args:
        length: number of tokens.
        entities: non-overlapping `(type, start, end)` spans, `end` exclusive.
        scheme: a name in `SCHEMES`.

    Returns:
        `length` tags.
    """
    scheme = normalize_scheme(scheme)
    if scheme is None:
        raise ValueError("`scheme` must be a chunk scheme to write entities, got None.")
    tags = ["O"] * length
    prev_end, prev_type = -1, None
    for type_, start, end in sorted(entities, key=lambda e: e[1]):
        for k in range(start, end):
            tags[k] = f"I-{type_}"
        if scheme == "BIO":
            tags[start] = f"B-{type_}"
        elif scheme == "IOB1" and start == prev_end and type_ == prev_type:
            tags[start] = f"B-{type_}"
        elif scheme == "BIOES":
            if end - start == 1:
                tags[start] = f"S-{type_}"
            else:
                tags[start], tags[end - 1] = f"B-{type_}", f"E-{type_}"
        prev_end, prev_type = end, type_
    return tags


def convert_scheme(tag_lists: Sequence[Sequence[str]], source: str, target: str) -> list[list[str]]:
    """Converts tag sequences between chunk schemes.

    The entities are read leniently (a malformed sequence such as ``O I-PER`` in ``BIO`` is
    repaired, as conlleval reads it) and written in `target`. Converting a well-formed
    sequence to another scheme and back gives it back unchanged, except that ``IO`` cannot
    separate adjacent entities of the same type.

    Args:
        tag_lists: tag sequences.
        source: their scheme (a name in `SCHEMES`; ``None`` for plain tags returns a copy).
        target: the scheme to write.

    Returns:
        The converted tag sequences.

    Example:
    >>> convert_scheme([["B-LOC", "I-LOC", "I-LOC", "O", "B-PER"]], "BIO", "BIOES")
    [['B-LOC', 'I-LOC', 'E-LOC', 'O', 'S-PER']]
    """
    source, target = normalize_scheme(source, "source"), normalize_scheme(target, "target")
    if source is None or target is None:
        if source != target:
            raise ValueError(
                "`source` and `target` must both be chunk schemes or both None (plain "
                f"labels), got {source!r} and {target!r}."
            )
        return [list(tags) for tags in tag_lists]
    if source == target:
        return [list(tags) for tags in tag_lists]
    return [encode_entities(len(tags), _lenient_entities(tags), target) for tags in tag_lists]


def entity_scores(
    y_true: Sequence[Sequence[str]],
    y_pred: Sequence[Sequence[str]],
    *,
    mode: str = "default",
    scheme: str | None = None,
) -> dict:
    """Entity-level precision, recall and F1 (micro-averaged), equal to `seqeval`'s.

    An entity counts as found when the prediction has one of the same type with exactly the
    same start and end. Division by zero gives 0, as in `seqeval`.

    Args:
        y_true: reference tag sequences.
        y_pred: predicted tag sequences, the same lengths.
        mode: ``"default"`` (``seqeval``'s default, conlleval-compatible) or ``"strict"``
            (``seqeval``'s ``mode="strict"``).
        scheme: the scheme for ``mode="strict"`` (``"BIO"``/``"IOB2"`` or ``"BIOES"``/
            ``"IOBES"``); detected from `y_true` when None.

    Returns:
        A dict with ``precision``, ``recall``, ``f1``, ``support`` (number of reference
        entities), ``predicted`` and ``correct`` counts, and ``per_type``: type -> dict of the
        same keys (without ``per_type``).

    Example:
    >>> scores = entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    >>> scores["precision"], scores["recall"]
    (0.0, 0.0)
    """
    _check_aligned(y_true, y_pred)
    if mode == "strict" and scheme is None:
        scheme = detect_scheme([*y_true, *y_pred])
    true_by_type: dict[str, set] = defaultdict(set)
    pred_by_type: dict[str, set] = defaultdict(set)
    for s, tags in enumerate(y_true):
        for type_, start, end in get_entities(tags, mode=mode, scheme=scheme):
            true_by_type[type_].add((s, start, end))
    for s, tags in enumerate(y_pred):
        for type_, start, end in get_entities(tags, mode=mode, scheme=scheme):
            pred_by_type[type_].add((s, start, end))
    per_type = {}
    for type_ in sorted(set(true_by_type) | set(pred_by_type)):
        correct = len(true_by_type[type_] & pred_by_type[type_])
        per_type[type_] = _prf(correct, len(pred_by_type[type_]), len(true_by_type[type_]))
    total = _prf(
        sum(s["correct"] for s in per_type.values()),
        sum(s["predicted"] for s in per_type.values()),
        sum(s["support"] for s in per_type.values()),
    )
    return {**total, "per_type": per_type}


def token_accuracy(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]]) -> float:
    """Fraction of tokens whose predicted tag equals the reference tag."""
    _check_aligned(y_true, y_pred)
    total = sum(len(tags) for tags in y_true)
    correct = sum(
        t == p for ts, ps in zip(y_true, y_pred, strict=True) for t, p in zip(ts, ps, strict=True)
    )
    return correct / total if total else 0.0


def label_scores(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]]) -> dict:
    """Token-level precision, recall and F1 per label, macro-averaged (for plain labels).

    Args:
        y_true: reference tag sequences.
        y_pred: predicted tag sequences, the same lengths.

    Returns:
        A dict with macro ``precision``, ``recall``, ``f1`` over the labels of either side,
        ``support`` (number of tokens) and ``per_type``: label -> its scores.
    """
    _check_aligned(y_true, y_pred)
    correct: dict[str, int] = defaultdict(int)
    predicted: dict[str, int] = defaultdict(int)
    support: dict[str, int] = defaultdict(int)
    for ts, ps in zip(y_true, y_pred, strict=True):
        for t, p in zip(ts, ps, strict=True):
            support[t] += 1
            predicted[p] += 1
            correct[t] += t == p
    labels = sorted(set(support) | set(predicted))
    per_type = {lab: _prf(correct[lab], predicted[lab], support[lab]) for lab in labels}
    n = max(len(labels), 1)
    return {
        "precision": sum(s["precision"] for s in per_type.values()) / n,
        "recall": sum(s["recall"] for s in per_type.values()) / n,
        "f1": sum(s["f1"] for s in per_type.values()) / n,
        "support": sum(support.values()),
        "per_type": per_type,
    }


def _prf(correct: int, predicted: int, support: int) -> dict:
    precision = correct / predicted if predicted else 0.0
    recall = correct / support if support else 0.0
    denom = precision + recall
    f1 = 2 * precision * recall / denom if denom else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": support,
        "predicted": predicted,
        "correct": correct,
    }


def _check_aligned(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]]) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"`y_true` and `y_pred` must hold the same number of sentences, got {len(y_true)} "
            f"and {len(y_pred)}."
        )
    for i, (t, p) in enumerate(zip(y_true, y_pred, strict=True)):
        if len(t) != len(p):
            raise ValueError(
                f"Sentence {i}: `y_true[{i}]` has {len(t)} tags but `y_pred[{i}]` has {len(p)}."
            )
