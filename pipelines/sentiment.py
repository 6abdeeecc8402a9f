"""Many-to-one: text classification (sentiment) with a recurrent encoder, in three lines.

Example:
>>> from pipelines import SentimentClassifier
>>> clf = SentimentClassifier(units=4, embedding_dim=4, epochs=1, verbose=0)
>>> clf = clf.fit(["a good film", "a bad film"], ["fresh", "rotten"])
>>> clf.predict(["a good film"])[0] in ("fresh", "rotten")
True
"""

from __future__ import annotations

import math
import os
from collections.abc import Hashable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from rnnkit import data, layers
from rnnkit.checks import (
    as_labels,
    as_text_list,
    check_bool,
    check_callbacks,
    check_choice,
    check_embeddings_path,
    check_fraction,
    check_learning_rate,
    check_number,
    check_positive_int,
    check_same_length,
    check_seed,
    check_vocabulary_size,
)
from rnnkit.export import require_utf8
from rnnkit.training import Task, Trainer

__all__ = ["SentimentClassifier"]

_CELLS = tuple(layers.RECURRENT_LAYERS)
_POOLINGS = ("mean_max", "mean", "max", "last")
_DEFAULT_EMBEDDING_DIM = 32
# Keras clips probabilities to [epsilon, 1 - epsilon] in its cross-entropy; `evaluate` does too.
_EPSILON = 1e-7


def _sorted_classes(labels: Sequence[Hashable]) -> list:
    unique = list(dict.fromkeys(labels))
    try:
        return sorted(unique)
    except TypeError:
        kinds = sorted({type(label).__name__ for label in unique})
        raise TypeError(
            f"`labels` must be mutually sortable (like scikit-learn's `classes_`), got a mix of "
            f"{kinds}; convert them to one type, e.g. `[str(y) for y in labels]`."
        ) from None


def _label_to_json(label: Any) -> Any:
    if isinstance(label, np.generic):
        label = label.item()
    if label is None or isinstance(label, str | bool | int):
        return label
    if isinstance(label, float):
        return {"float": repr(label)}
    if isinstance(label, tuple):
        return {"tuple": [_label_to_json(x) for x in label]}
    raise TypeError(
        f"the class label {label!r:.60} ({type(label).__name__}) cannot be saved: `save` keeps "
        "str, int, float, bool, None and tuples of them; map the labels to strings before `fit`."
    )


def _label_from_json(value: Any) -> Any:
    if isinstance(value, dict) and "float" in value:
        return float(value["float"])
    if isinstance(value, dict) and "tuple" in value:
        return tuple(_label_from_json(x) for x in value["tuple"])
    return value


class SentimentClassifier(ClassifierMixin, Task):
    """Text classifier: vectoriser, embeddings, (bidirectional) recurrent layers, pooling, softmax.

    `fit` learns a vocabulary from the training texts (an `rnnkit.data.TextVectorizer`, run
    inside `tf.data`), then trains `model.get_layer("backbone")` (token ids -> class
    probabilities: embeddings, `rnnkit.layers` recurrent layers, `rnnkit.layers.MaskedPooling1D`)
    with `rnnkit.training.Trainer` (Adam with gradient clipping by default, early stopping on a
    validation split).
    `model` is the end-to-end `keras.Model`: strings in, probabilities out. Binary and
    multi-class problems are the same model (a softmax over `classes_`).

    The defaults were chosen by measurement on the Rotten Tomatoes review snippets
    (`rnnkit.datasets.rotten_tomatoes`, validation accuracy over three splits): a small
    BiLSTM (32-d embeddings, 32 units per direction) with mean+max pooling over the real
    tokens, word dropout 0.25 (the one setting that clearly helped: training then overfits
    later), early stopping after 2 epochs without a better validation loss (typically 3-5
    epochs, well under a minute per epoch on 2 CPU cores). See `benchmarks/results/sentiment.md`.

    Args:
        cell: recurrent cell, a name in `rnnkit.layers.RECURRENT_LAYERS` (`"lstm"`, `"gru"`,
            `"simple_rnn"`, `"mingru"`, `"minlstm"`).
        bidirectional: read the text in both directions.
        num_layers: stacked recurrent layers.
        units: units per recurrent layer (per direction).
        embedding_dim: size of the word vectors; `None` means 32, or the dimension of
            `pretrained_embeddings` when given.
        pretrained_embeddings: path of a GloVe/word2vec text file to initialise the embeddings
            (fine-tuned during training), e.g. `rnnkit.datasets.glove_6b_50d()`, or `None` to
            learn them from scratch. The vocabulary is then the training words followed by
            the file's most frequent other words, up to `vocabulary_size`.
        max_length: texts longer than this many tokens are truncated.
        vocabulary_size: size of the vocabulary: the most frequent training words plus the 4
            reserved ids (padding, OOV, start, end).
        min_frequency: words seen fewer times in the training texts map to the OOV id.
        pooling: how the recurrent outputs become one vector: `"mean_max"` (mean and max over
            the real tokens), `"mean"`, `"max"` or `"last"` (final states).
        word_dropout: fraction of the tokens whose whole vector is dropped in training.
        embedding_dropout: dropout on the word vectors' components.
        dropout: dropout on the pooled text vector.
        recurrent_dropout: dropout on the recurrent state (slows training down).
        optimizer: `"auto"` (Adam with `learning_rate` and `clipnorm`), a Keras optimizer
            name, or a `keras.optimizers.Optimizer` (copied for each `fit`).
        loss: `"auto"` (cross-entropy of the class probabilities), or a Keras loss / callable
            `loss(class_ids, probabilities)` to train the backbone with instead.
        learning_rate: learning rate of the `"auto"` optimizer (or of a named one).
        clipnorm: gradient clipping norm of the `"auto"` optimizer; `None` or 0 turns it off.
        epochs: most training epochs (early stopping usually ends training sooner).
        batch_size: texts per training batch.
        validation_split: fraction of the training texts held out (shuffled, stratified) for
            early stopping when `fit` gets no `validation_data`; 0 trains on everything for
            `epochs` epochs.
        patience: epochs without a better validation loss before training stops (the best
            weights are restored); `None` or 0 turns early stopping off.
        seed: seed for weights, shuffling and the validation split; `None` is not reproducible.
        callbacks: extra Keras callbacks for `fit`.
        verbose: Keras `fit` verbosity: `"auto"`/1 progress bar, 2 one line per epoch, 0 silent.

    Example:
    >>> clf = SentimentClassifier(units=4, embedding_dim=4, epochs=1, verbose=0, seed=0)
    >>> clf = clf.fit(["good", "bad", "good good", "bad bad"], [1, 0, 1, 0])
    >>> clf.classes_.tolist()
    [0, 1]
    >>> clf.predict_proba(["good"]).shape
    (1, 2)
    """

    def __init__(
        self,
        *,
        cell: str = "lstm",
        bidirectional: bool = True,
        num_layers: int = 1,
        units: int = 32,
        embedding_dim: int | None = None,
        pretrained_embeddings: str | None = None,
        max_length: int = 64,
        vocabulary_size: int = 20000,
        min_frequency: int = 1,
        pooling: str = "mean_max",
        word_dropout: float = 0.25,
        embedding_dropout: float = 0.2,
        dropout: float = 0.5,
        recurrent_dropout: float = 0.0,
        optimizer: Any = "auto",
        loss: Any = "auto",
        learning_rate: float = 2e-3,
        clipnorm: float | None = 1.0,
        epochs: int = 10,
        batch_size: int = 32,
        validation_split: float = 0.1,
        patience: int | None = 2,
        seed: int | None = None,
        callbacks: Sequence[keras.callbacks.Callback] | None = None,
        verbose: int | str = "auto",
    ):
        self.cell = cell
        self.bidirectional = bidirectional
        self.num_layers = num_layers
        self.units = units
        self.embedding_dim = embedding_dim
        self.pretrained_embeddings = pretrained_embeddings
        self.max_length = max_length
        self.vocabulary_size = vocabulary_size
        self.min_frequency = min_frequency
        self.pooling = pooling
        self.word_dropout = word_dropout
        self.embedding_dropout = embedding_dropout
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.optimizer = optimizer
        self.loss = loss
        self.learning_rate = learning_rate
        self.clipnorm = clipnorm
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.patience = patience
        self.seed = seed
        self.callbacks = callbacks
        self.verbose = verbose

    # -- validation -----------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_choice(self.cell, "cell", _CELLS)
        if self.cell in ("mingru", "minlstm") and self.recurrent_dropout:
            raise ValueError(
                f"`recurrent_dropout` must be 0 with cell={self.cell!r} (its gates read no state), "
                f"got {self.recurrent_dropout!r}; use `dropout` instead."
            )
        check_choice(self.pooling, "pooling", _POOLINGS)
        check_bool(self.bidirectional, "bidirectional")
        for name in ("num_layers", "units", "max_length", "min_frequency", "epochs", "batch_size"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.embedding_dim, "embedding_dim", allow_none=True)
        check_positive_int(self.patience, "patience", allow_none=True)
        check_vocabulary_size(self.vocabulary_size, "vocabulary_size")
        for name in (
            "word_dropout",
            "embedding_dropout",
            "dropout",
            "recurrent_dropout",
            "validation_split",
        ):
            check_fraction(getattr(self, name), name)
        check_learning_rate(self.learning_rate)
        check_seed(self.seed)
        if self.clipnorm is not None:
            check_number(self.clipnorm, "clipnorm", strict=False)
        check_embeddings_path(self.pretrained_embeddings)
        check_callbacks(self.callbacks)

    def _encode(self, labels: list, name: str) -> np.ndarray:
        index = {label: i for i, label in enumerate(self._classes)}
        unknown = [label for label in labels if label not in index]
        if unknown:
            raise ValueError(
                f"`{name}` holds classes never seen in `fit`: {sorted(map(repr, set(unknown)))[:5]}; "
                f"the known classes are {self._classes}."
            )
        return np.array([index[label] for label in labels], dtype="int32")

    # -- data -----------------------------------------------------------------------------------
    def _token_dataset(self, texts: list[str], y: np.ndarray | None = None) -> tf.data.Dataset:
        """Unbatched `tf.data` of token ids (and class ids): the preprocessor runs in `map`."""
        preprocessor = self.model_.get_layer("preprocessor")

        def tokens(text):
            return preprocessor(tf.expand_dims(text, 0))[0]

        text_ds = tf.data.Dataset.from_tensor_slices(tf.constant(texts, dtype=tf.string))
        ds = text_ds.map(tokens, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        if y is not None:
            ds = tf.data.Dataset.zip((ds, tf.data.Dataset.from_tensor_slices(y)))
        return ds

    def _split(self, texts: list[str], y: np.ndarray):
        from sklearn.model_selection import train_test_split

        n_val = math.ceil(len(texts) * self.validation_split)
        if n_val < 1 or n_val >= len(texts):
            raise ValueError(
                f"`validation_split`={self.validation_split} leaves {len(texts) - n_val} "
                f"training and {n_val} validation texts out of {len(texts)}; pass more texts, "
                "`validation_split=0`, or `validation_data`."
            )
        idx = np.arange(len(texts))
        try:
            train_idx, val_idx = train_test_split(
                idx, test_size=n_val, random_state=self.seed, stratify=y
            )
        except ValueError:  # a class too rare to stratify on: a plain shuffled split
            train_idx, val_idx = train_test_split(idx, test_size=n_val, random_state=self.seed)
        pick = lambda ids: ([texts[i] for i in ids], y[ids])  # noqa: E731
        return pick(train_idx), pick(val_idx)

    # -- model ----------------------------------------------------------------------------------
    def _build(self, train_texts: list[str]) -> keras.Model:
        vectorizer = data.TextVectorizer(
            level="word",
            max_tokens=int(self.vocabulary_size),
            min_frequency=int(self.min_frequency),
            standardize="lower_punct",
            name="vectorizer",
        )
        vectorizer.adapt(train_texts)
        embedding_dim = self.embedding_dim
        matrix = None
        if self.pretrained_embeddings is not None:
            # Words of the vectors file that training never saw keep their vectors.
            matrix = data.load_word_vectors_for(
                vectorizer,
                self.pretrained_embeddings,
                max_tokens=int(self.vocabulary_size),
                seed=0 if self.seed is None else int(self.seed),
            )
            if embedding_dim is not None and embedding_dim != matrix.shape[1]:
                raise ValueError(
                    f"`embedding_dim`={embedding_dim} differs from the {matrix.shape[1]}-dimensional "
                    f"vectors in `pretrained_embeddings`; pass `embedding_dim=None` or "
                    f"{matrix.shape[1]}."
                )
            embedding_dim = matrix.shape[1]
        embedding_dim = embedding_dim or _DEFAULT_EMBEDDING_DIM
        vocabulary = vectorizer.get_vocabulary()

        text = keras.Input(shape=(), dtype="string", name="text")
        ids = layers.SequenceLength(self.max_length, name="sequence_length")(vectorizer(text))
        preprocessor = keras.Model(text, ids, name="preprocessor")

        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        embedding = keras.layers.Embedding(
            len(vocabulary), embedding_dim, mask_zero=True, name="embedding"
        )
        x = embedding(token_ids)
        if matrix is not None:
            # Assigned, not a `Constant` initializer, which would copy the matrix into the config.
            embedding.embeddings.assign(matrix)
        if self.word_dropout:
            # One draw per token: whole words vanish, so no single word can decide alone.
            x = keras.layers.Dropout(
                self.word_dropout, noise_shape=(None, None, 1), name="word_dropout"
            )(x)
        if self.embedding_dropout:
            x = keras.layers.Dropout(self.embedding_dropout, name="embedding_dropout")(x)
        rnn = layers.recurrent_layer(self.cell, choices=_CELLS)
        for i in range(self.num_layers):
            last = i == self.num_layers - 1
            layer = rnn(
                self.units,
                return_sequences=not (last and self.pooling == "last"),
                recurrent_dropout=self.recurrent_dropout,
                name=f"{self.cell}_{i}",
            )
            if self.bidirectional:
                layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{i}")
            x = layer(x)
        if self.pooling != "last":
            x = layers.MaskedPooling1D(self.pooling, name="pooling")(x)
        if self.dropout:
            x = keras.layers.Dropout(self.dropout, name="dropout")(x)
        probabilities = keras.layers.Dense(
            len(self._classes), activation="softmax", name="probabilities"
        )(x)
        backbone = keras.Model(token_ids, probabilities, name="backbone")
        return keras.Model(text, backbone(preprocessor(text)), name="sentiment_classifier")

    # -- estimator API --------------------------------------------------------------------------
    def fit(
        self,
        texts: Any,
        labels: Any,
        *,
        validation_data: tuple[Any, Any] | None = None,
    ) -> SentimentClassifier:
        """Learns the vocabulary and trains the classifier.

        Args:
            texts: training texts (list, tuple, NumPy array or pandas Series of `str`).
            labels: one label per text, any hashable values (`str`, `int`, ...), two classes
                or more.
            validation_data: `(texts, labels)` for early stopping; when given,
                `validation_split` is not used.

        Returns:
            `self`, fitted: `classes_` (sorted like scikit-learn), `model`, `history_`.
        """
        self._check_params()
        texts = as_text_list(texts, "texts")
        labels = as_labels(labels, "labels")
        check_same_length(texts, labels, "texts", "labels")
        classes = _sorted_classes(labels)
        if len(classes) < 2:
            raise ValueError(
                f"`labels` must hold at least two classes to learn from, got only {classes!r}."
            )
        self._classes = classes
        y = self._encode(labels, "labels")

        if validation_data is not None:
            if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
                raise TypeError("`validation_data` must be a pair `(texts, labels)`.")
            val_texts = as_text_list(validation_data[0], "validation_data[0]")
            val_labels = as_labels(validation_data[1], "validation_data[1]")
            check_same_length(val_texts, val_labels, "validation_data[0]", "validation_data[1]")
            validation = (val_texts, self._encode(val_labels, "validation_data[1]"))
            train = (texts, y)
        elif self.validation_split:
            train, validation = self._split(texts, y)
        else:
            train, validation = (texts, y), None

        self._seed()
        for attr in ("model_", "classes_", "history_"):
            self.__dict__.pop(attr, None)
        trainer = Trainer(
            optimizer=self.optimizer,
            loss=self.loss,
            learning_rate=self.learning_rate,
            clipnorm=self.clipnorm,
            epochs=self.epochs,
            patience=self.patience,
            callbacks=self.callbacks,
            verbose=self.verbose,
        )

        def make_backbone() -> keras.Model:
            self.model_ = self._build(train[0])
            return self.model_.get_layer("backbone")

        backbone = trainer.build(
            make_backbone, loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        train_ds = data.batch_dataset(
            self._token_dataset(*train),
            int(self.batch_size),
            shuffle=True,
            seed=self.seed,
            cache=True,
        )
        val_ds = None
        if validation is not None:
            val_ds = data.batch_dataset(
                self._token_dataset(*validation), int(self.batch_size), shuffle=False, cache=True
            )
        history = trainer.fit(backbone, train_ds, val_ds)
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        self._set_classes(classes)
        return self

    def _set_classes(self, classes: list) -> None:
        self._classes = list(classes)
        array = np.empty(len(classes), dtype=object)
        array[:] = classes
        # Like scikit-learn: a typed array when the labels are plain scalars of one kind.
        if all(isinstance(c, str) for c in classes):
            array = np.asarray(classes, dtype=str)
        elif all(isinstance(c, int | np.integer) and not isinstance(c, bool) for c in classes):
            array = np.asarray(classes)
        self.classes_ = array

    def predict_proba(self, texts: Any) -> np.ndarray:
        """Class probabilities.

        Args:
            texts: list (or array/Series) of strings.

        Returns:
            `np.ndarray` of shape `(len(texts), len(classes_))`; columns follow `classes_`.
        """
        self._check_fitted()
        texts = as_text_list(texts, "texts")
        if not texts:
            return np.zeros((0, len(self._classes)), dtype="float32")
        predict = self._predict_function()
        size = self._predict_batch_size()
        batches = [
            predict(tf.constant(texts[i : i + size], dtype=tf.string)).numpy()
            for i in range(0, len(texts), size)
        ]
        return np.concatenate(batches, axis=0)

    def _predict_function(self):
        """The end-to-end model (strings -> probabilities) as one graph, traced once per model.

        Each batch is vectorised and padded as a whole; the masked model gives every text
        the same scores whatever it is batched with.
        """

        def build(model):
            return tf.function(
                lambda text: model(text, training=False),
                input_signature=[tf.TensorSpec([None], tf.string)],
            )

        return self._graph_function("predict", build)

    def _predict_batch_size(self) -> int:
        return max(int(self.batch_size), 256)

    def predict(self, texts: Any) -> list:
        """Most likely label of each text.

        Args:
            texts: list (or array/Series) of strings.

        Returns:
            A list of labels, the very objects passed to `fit` (e.g. `"fresh"`, `1`).
        """
        probabilities = self.predict_proba(texts)
        return [self._classes[i] for i in probabilities.argmax(axis=1)]

    def evaluate(self, texts: Any, labels: Any) -> dict[str, float]:
        """Scores the classifier on labelled texts.

        Args:
            texts: list (or array/Series) of strings.
            labels: their true labels (classes seen in `fit`).

        Returns:
            `{"accuracy", "macro_f1", "precision", "recall", "loss"}` as floats; precision and
            recall are macro averages over `classes_`, loss is the mean cross-entropy.
        """
        self._check_fitted()
        texts = as_text_list(texts, "texts")
        labels = as_labels(labels, "labels")
        check_same_length(texts, labels, "texts", "labels")
        y = self._encode(labels, "labels")
        probabilities = self.predict_proba(texts)
        predicted = probabilities.argmax(axis=1)
        precision, recall, f1, _ = precision_recall_fscore_support(
            y,
            predicted,
            labels=np.arange(len(self._classes)),
            average="macro",
            zero_division=0,
        )
        chosen = np.clip(probabilities[np.arange(len(y)), y], _EPSILON, 1.0 - _EPSILON)
        return {
            "accuracy": float(accuracy_score(y, predicted)),
            "macro_f1": float(f1),
            "precision": float(precision),
            "recall": float(recall),
            "loss": float(-np.mean(np.log(chosen))),
        }

    # -- Task hooks -----------------------------------------------------------------------------
    def _get_state(self) -> dict:
        return {
            "classes": [_label_to_json(c) for c in self._classes],
            "history": getattr(self, "history_", {}),
        }

    def _set_state(self, state: dict) -> None:
        self._set_classes([_label_from_json(c) for c in state["classes"]])
        self.history_ = state.get("history", {})

    def _serving_endpoints(self) -> dict:
        model = self.model_
        names = tf.constant([str(c) for c in self._classes], dtype=tf.string)

        def serve(text):
            probabilities = model(require_utf8(text), training=False)
            best = tf.argmax(probabilities, axis=-1)
            return {
                "label": tf.gather(names, best),
                "score": tf.reduce_max(probabilities, axis=-1),
                "probabilities": probabilities,
            }

        return {"serving_default": (serve, [tf.TensorSpec([None], tf.string, name="text")])}

    def export(self, path: str | os.PathLike, *, overwrite: bool = False) -> str:
        """Exports a TensorFlow SavedModel that classifies raw strings without rnnkit.

        The signature `serving_default(text: tf.string [None])` returns `label` (`tf.string`
        [None]: `str(label)` of the most likely class, so labels that are not strings, e.g.
        `1`, come back as `b"1"`), `score` (`tf.float32` [None], its probability) and
        `probabilities` (`tf.float32` [None, n_classes], columns in `classes_` order).

        Args:
            path: folder to write.
            overwrite: replace an existing folder.

        Returns:
            The path written.
        """
        return super().export(path, overwrite=overwrite)
