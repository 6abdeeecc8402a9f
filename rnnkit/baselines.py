"""Classic baselines that the pipelines are measured against (demo, benchmarks, slow tests).

The numbers rnnkit quotes (`make demo`, `benchmarks/results/`) come from here, so the demo,
the benchmark and the quality test all compare with the very same baseline.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

__all__ = ["TFIDF_C_GRID", "tfidf_logistic_regression"]

TFIDF_C_GRID = (1.0, 3.0, 10.0, 30.0)


def tfidf_logistic_regression(
    train: tuple[Sequence[str], Sequence],
    validation: tuple[Sequence[str], Sequence],
    *,
    c_grid: Sequence[float] = TFIDF_C_GRID,
) -> Pipeline:
    """TF-IDF (word 1-2-grams, sublinear tf) + logistic regression, `C` chosen on validation.

    A strong, honest bag-of-n-grams baseline for short-text classification: the regularisation
    strength is picked on the validation split (never the test split), then the model trained
    on the training split is returned.

    Args:
        train: `(texts, labels)` to fit on.
        validation: `(texts, labels)` to choose `C` on.
        c_grid: inverse regularisation strengths to try.

    Returns:
        The fitted scikit-learn `Pipeline` (`predict`, `score`), the best `C` in
        `pipeline[-1].C`.

    Example:
    >>> model = tfidf_logistic_regression((["good", "bad"], [1, 0]), (["good"], [1]))
    >>> model.predict(["good"]).tolist()
    [1]
    """
    best, best_score = None, -1.0
    for c in c_grid:
        model = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            LogisticRegression(C=c, max_iter=2000),
        )
        model.fit(list(train[0]), list(train[1]))
        score = model.score(list(validation[0]), list(validation[1]))
        if score > best_score:
            best, best_score = model, score
    return best
