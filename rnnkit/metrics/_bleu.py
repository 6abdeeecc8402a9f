"""Corpus BLEU-1..n with any number of references per hypothesis (sacrebleu underneath)."""

from __future__ import annotations

from collections.abc import Sequence


def corpus_bleu(
    hypotheses: Sequence[str], references: Sequence[Sequence[str]], *, max_order: int = 4
) -> dict[str, float]:
    """Cumulative corpus BLEU-1 ... BLEU-`max_order`, as fractions in [0, 1].

    sacrebleu's corpus BLEU (13a tokenisation, brevity penalty) with n-grams up to each
    order; a hypothesis may have any number of references.

    Args:
        hypotheses: one output per example.
        references: per example, one or several reference texts.
        max_order: the longest n-gram order reported.

    Returns:
        `{"bleu_1": ..., ..., "bleu_<max_order>": ...}`, sacrebleu's score / 100.

    Example:
    >>> scores = corpus_bleu(["a red circle"], [["a red circle", "one red circle"]])
    >>> scores["bleu_1"], scores["bleu_3"]
    (1.0, 1.0)
    """
    from sacrebleu.metrics import BLEU

    if len(hypotheses) != len(references):
        raise ValueError(
            f"`hypotheses` and `references` must have one entry per example, got "
            f"{len(hypotheses)} and {len(references)}."
        )
    for i, refs in enumerate(references):
        if isinstance(refs, str) or not refs:
            raise ValueError(
                f"`references[{i}]` must be a non-empty list of strings, got {refs!r}."
            )
    most = max((len(r) for r in references), default=1)
    # sacrebleu takes one stream per reference slot; None where an example has fewer.
    streams = [[r[k] if k < len(r) else None for r in references] for k in range(most)]
    return {
        f"bleu_{n}": round(
            BLEU(max_ngram_order=n).corpus_score(list(hypotheses), streams).score / 100, 12
        )
        for n in range(1, max_order + 1)
    }
