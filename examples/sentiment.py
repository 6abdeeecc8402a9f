"""Sentiment classification in three lines, on the bundled Rotten Tomatoes review snippets.

Run: `.venv/bin/python examples/sentiment.py` (needs `make corpora`). `make demo` runs the longer
tour in `examples/demo.py`: baseline comparison, SavedModel export and reload.
"""

from pipelines import SentimentClassifier
from rnnkit import datasets

texts, labels = datasets.rotten_tomatoes(seed=0)["train"]

clf = SentimentClassifier().fit(texts, labels)
print(clf.predict(["a gorgeous, witty, seductive movie", "a dull, lifeless mess"]))
