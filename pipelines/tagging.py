"""Sequence tagging (part of speech, named entities) with a bidirectional RNN and an optional CRF.

`SequenceTagger` is the many-to-many aligned shape: one tag per token, each read from both
directions of the sentence. It composes public rnnkit parts: two `rnnkit.data.TextVectorizer`
layers (lower-cased words; characters with their case, for unknown words) in a `preprocessor`,
a `backbone` of `rnnkit.layers` (`WordDropout`, `CharacterWordEncoder`, `LSTM`/`GRU` under
`keras.layers.Bidirectional`, `CRF` or a softmax) trained by `rnnkit.training.Trainer` with
`rnnkit.training.BestEpoch`, and a decoding head (`EntityBias`, Viterbi or `MaskedArgmax`).
The end-to-end model takes tokens as strings (a `[batch, length]` string tensor padded with
`""`).

Chunk tags (`B-PER`, ...) are handled by `rnnkit.metrics`: the scheme of the training tags is
detected (IO, IOB1, BIO, BIOES) or given, the model may learn another one (`train_scheme`),
and predictions are always returned in the scheme of the training tags. Entity scores equal
`seqeval`'s.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnnkit import data as rdata
from rnnkit import layers as rlayers
from rnnkit import metrics as _entities
from rnnkit.checks import (
    as_tagged_sentences,
    as_text_list,
    check_bool,
    check_callbacks,
    check_choice,
    check_embeddings_path,
    check_fraction,
    check_learning_rate,
    check_number,
    check_positive_int,
    check_seed,
)
from rnnkit.export import require_utf8
from rnnkit.training import BestEpoch, Task, Trainer

_CELLS = tuple(rlayers.RECURRENT_LAYERS)
_CHAR_FEATURES = ("cnn", "lstm", None)


def _at_least_one_column(tokens: tf.Tensor) -> tf.Tensor:
    # A batch of empty sentences still runs through the model (as one padding column).
    missing = tf.maximum(0, 1 - tf.shape(tokens)[1])
    return tf.pad(tokens, [[0, 0], [0, missing]], constant_values="")


class _LossOfTheBuiltModel(keras.losses.Loss):
    """The CRF's loss, known only once the model is made (inside the runner's scope)."""

    def __init__(self):
        super().__init__(name="crf_loss")
        self.target = None

    def __call__(self, y_true, y_pred, sample_weight=None):
        return self.target(y_true, y_pred, sample_weight)


class SequenceTagger(Task):
    """Tags every token of a sentence: part of speech, named entities, chunks.

    A bidirectional RNN (`rnnkit.layers.LSTM` or `GRU` under `keras.layers.Bidirectional`)
    reads lower-cased word embeddings and character features of each token (a character CNN
    or BiLSTM over the original casing, so unknown words are tagged from their spelling), and
    a `rnnkit.layers.CRF` (or a softmax) scores the tags.

    For entity tags the scheme of the training tags is detected (or given); the model can
    learn in another scheme (`train_scheme`, BIOES by default, which marks where entities
    end) and every prediction is returned in the scheme of the training tags. `evaluate` gives
    token accuracy and entity-level precision/recall/F1 equal to `seqeval`'s.

    Args:
        cell: a name in `rnnkit.layers.RECURRENT_LAYERS` (`"lstm"`, `"gru"`, `"mingru"`, ...).
        units: RNN units per direction.
        num_layers: stacked bidirectional layers.
        embedding_dim: word embedding size (ignored with `pretrained_embeddings`, whose width
            is used).
        char_features: `"cnn"`, `"lstm"` (character BiLSTM) or None (words only). Character
            features come with word-shape indicators (casing, digits; see
            `rnnkit.layers.CharacterWordEncoder`).
        char_embedding_dim: character embedding size.
        char_units: character features per token.
        max_chars: characters per token the character encoder reads (longer tokens are cut).
        crf: True for a CRF output layer (Viterbi decoding), False for a per-token softmax.
        tag_scheme: scheme of the training tags: `"auto"` (detected), `"IO"`, `"IOB1"`,
            `"BIO"` (`"IOB2"`), `"BIOES"` (`"IOBES"`), or `"none"` for plain labels such as
            part-of-speech tags.
        train_scheme: the scheme the model learns for entity tags (`"BIOES"`, `"BIO"`, ...;
            None = the tags' own scheme). Ignored for plain labels.
        entity_bias: added to the score of every entity tag (against `"O"`) when decoding
            (`rnnkit.layers.EntityBias`): above 0 the tagger finds more entities (recall up,
            precision down), below 0 fewer. `"auto"`: after training, the value of
            `ENTITY_BIAS_GRID` with the best entity F1 on the validation sentences (0
            without them; `tune_entity_bias` does the same on other sentences later); kept
            in `entity_bias_`. None or 0: no shift. On WNUT-16 "auto"
            changed test F1 by -0.5 to +0.6 (3 seeds, `benchmarks/tagging.py`), so it is off by
            default. Ignored for plain labels.
        pretrained_embeddings: path of a GloVe/word2vec text file (`.bz2`/`.gz` work) that
            initialises the word embeddings, e.g. `rnnkit.datasets.glove_6b_50d()`. The
            vocabulary is then the training words followed by the file's most frequent other
            words, up to `max_tokens`, so words unseen in training keep their vectors.
        max_tokens: largest word vocabulary (reserved ids included).
        min_frequency: words seen fewer times in training are unknown words.
        dropout: dropout rate on the embeddings and on the RNN outputs.
        word_dropout: probability of replacing a training word by the unknown word.
        rare_word_dropout: the same for words seen only once in training (so the unknown
            word's embedding learns from many contexts).
        epochs: most training epochs.
        batch_size: sentences per training batch.
        optimizer: `"auto"` (Adam with `learning_rate` and `clipnorm`), a Keras optimizer
            name, or a `keras.optimizers.Optimizer` (copied for each `fit`).
        loss: `"auto"` (the CRF's negative log-likelihood, or cross-entropy of the softmax),
            or a Keras loss / callable `loss(tag_ids, outputs)` to train the backbone with
            instead (`tag_ids` is -1 at padding).
        learning_rate: learning rate of the `"auto"` optimizer (or of a named one).
        clipnorm: gradient clipping norm of the `"auto"` optimizer (None: no clipping).
        validation_split: fraction of the training sentences held out to choose the best
            epoch when `fit` gets no `validation_data` (0: no early stopping).
        patience: epochs without improvement of the validation score (entity F1 for entity
            tags, token accuracy otherwise) before training stops; the best epoch's weights
            are kept. None: train all epochs.
        time_budget: stop training after this many seconds (None: no limit).
        callbacks: extra Keras callbacks for `fit`.
        seed: seed of initialisation, dropout, shuffling and the validation split.
        verbose: Keras `fit` verbosity.

    Example:
    >>> tagger = SequenceTagger(units=8, embedding_dim=8, char_units=8, epochs=2, seed=0)
    >>> tokens = [["Alice", "met", "Bob"], ["Bob", "slept"]]
    >>> tags = [["B-PER", "O", "B-PER"], ["B-PER", "O"]]
    >>> tagger = tagger.fit(tokens, tags)
    >>> len(tagger.predict([["Carol", "met", "Alice"]])[0])
    3
    """

    #: The values `entity_bias="auto"` chooses from (ties go to the one nearest 0).
    ENTITY_BIAS_GRID = tuple(x / 4 for x in range(-8, 17))

    def __init__(
        self,
        *,
        cell: str = "lstm",
        units: int = 128,
        num_layers: int = 1,
        embedding_dim: int = 100,
        char_features: str | None = "lstm",
        char_embedding_dim: int = 32,
        char_units: int = 64,
        max_chars: int = 24,
        crf: bool = True,
        tag_scheme: str | None = "auto",
        train_scheme: str | None = "BIOES",
        entity_bias: float | str | None = None,
        pretrained_embeddings: str | None = None,
        max_tokens: int | None = 50000,
        min_frequency: int = 1,
        dropout: float = 0.5,
        word_dropout: float = 0.2,
        rare_word_dropout: float = 0.5,
        epochs: int = 30,
        batch_size: int = 16,
        optimizer: Any = "auto",
        loss: Any = "auto",
        learning_rate: float = 2e-3,
        clipnorm: float | None = 5.0,
        validation_split: float = 0.1,
        patience: int | None = 8,
        time_budget: float | None = None,
        callbacks: list | None = None,
        seed: int | None = None,
        verbose: int | str = 0,
    ):
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.embedding_dim = embedding_dim
        self.char_features = char_features
        self.char_embedding_dim = char_embedding_dim
        self.char_units = char_units
        self.max_chars = max_chars
        self.crf = crf
        self.tag_scheme = tag_scheme
        self.train_scheme = train_scheme
        self.entity_bias = entity_bias
        self.pretrained_embeddings = pretrained_embeddings
        self.max_tokens = max_tokens
        self.min_frequency = min_frequency
        self.dropout = dropout
        self.word_dropout = word_dropout
        self.rare_word_dropout = rare_word_dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.loss = loss
        self.learning_rate = learning_rate
        self.clipnorm = clipnorm
        self.validation_split = validation_split
        self.patience = patience
        self.time_budget = time_budget
        self.callbacks = callbacks
        self.seed = seed
        self.verbose = verbose

    # -- validation -----------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_choice(self.cell, "cell", _CELLS)
        for name in ("units", "num_layers", "embedding_dim", "epochs", "batch_size", "max_chars"):
            check_positive_int(getattr(self, name), name)
        check_choice(self.char_features, "char_features", _CHAR_FEATURES)
        if self.char_features is not None:
            check_positive_int(self.char_embedding_dim, "char_embedding_dim")
            check_positive_int(self.char_units, "char_units")
            if self.char_features == "lstm" and self.char_units % 2:
                raise ValueError(
                    "`char_units` must be even with `char_features='lstm'` (half per "
                    f"direction), got {self.char_units}."
                )
        check_bool(self.crf, "crf")
        if self.tag_scheme != "auto":
            _entities.normalize_scheme(self.tag_scheme, "tag_scheme")
        _entities.normalize_scheme(self.train_scheme, "train_scheme")
        bias = self.entity_bias
        if not (bias is None or isinstance(bias, str) and bias == "auto"):
            number = isinstance(bias, int | float | np.integer | np.floating)
            if isinstance(bias, bool) or not number or not math.isfinite(bias):
                raise ValueError(
                    f'`entity_bias` must be "auto", None or a finite number, got {bias!r}.'
                )
        check_positive_int(self.max_tokens, "max_tokens", allow_none=True)
        check_positive_int(self.min_frequency, "min_frequency")
        check_fraction(self.dropout, "dropout")
        check_fraction(self.word_dropout, "word_dropout")
        check_fraction(self.rare_word_dropout, "rare_word_dropout")
        check_fraction(self.validation_split, "validation_split")
        check_positive_int(self.patience, "patience", allow_none=True)
        check_learning_rate(self.learning_rate)
        check_seed(self.seed)
        if self.clipnorm is not None:
            check_number(self.clipnorm, "clipnorm", strict=False)
        if self.time_budget is not None:
            check_number(self.time_budget, "time_budget")
        check_embeddings_path(self.pretrained_embeddings)
        check_callbacks(self.callbacks)

    # -- fitting ----------------------------------------------------------------------------------
    def fit(self, token_lists: Any, tag_lists: Any, *, validation_data: tuple | None = None):
        """Trains the tagger.

        Args:
            token_lists: training sentences, each a list of token strings.
            tag_lists: their tags, one per token.
            validation_data: optional `(token_lists, tag_lists)` used to choose the best epoch
                (otherwise `validation_split` of the training sentences is held out).

        Returns:
            self, fitted: `model` (tokens -> tag ids), `training_model_` (the model trained:
            tokens -> CRF potentials or tag probabilities, sharing every layer with
            `model`), `classes_`, `scheme_`, `history_`, `entity_bias_`.
        """
        self._check_params()
        tokens, tags = as_tagged_sentences(token_lists, tag_lists, "token_lists", "tag_lists")
        scheme = (
            _entities.detect_scheme(tags)
            if self.tag_scheme == "auto"
            else _entities.normalize_scheme(self.tag_scheme, "tag_scheme")
        )
        _entities.check_scheme(tags, scheme, "tag_lists")
        model_scheme = None
        if scheme is not None:
            model_scheme = _entities.normalize_scheme(self.train_scheme) or scheme
        val_tokens = val_tags = None
        if validation_data is not None:
            if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
                raise TypeError(
                    "`validation_data` must be a pair `(token_lists, tag_lists)`, got "
                    f"{type(validation_data).__name__}."
                )
            val_tokens, val_tags = as_tagged_sentences(
                *validation_data, "validation_data[0]", "validation_data[1]"
            )
            _entities.check_scheme(val_tags, scheme, "validation_data[1]")
        elif self.validation_split and self.patience and len(tokens) >= 2:
            rng = np.random.default_rng(self.seed)
            order = rng.permutation(len(tokens))
            n_val = max(1, int(round(len(tokens) * self.validation_split)))
            val_idx, train_idx = order[:n_val], order[n_val:]
            val_tokens, val_tags = [tokens[i] for i in val_idx], [tags[i] for i in val_idx]
            tokens, tags = [tokens[i] for i in train_idx], [tags[i] for i in train_idx]

        model_tags = _entities.convert_scheme(tags, scheme, model_scheme)
        classes = sorted({t for sentence in model_tags for t in sentence})
        if "O" in classes:  # "O" first: padding decodes to id 0 and reads as no entity
            classes.remove("O")
            classes.insert(0, "O")
        self.scheme_ = scheme
        self.model_scheme_ = model_scheme
        self.classes_ = classes

        self._seed()
        word_vectorizer = rdata.TextVectorizer(
            level="word",
            max_tokens=self.max_tokens,
            min_frequency=self.min_frequency,
            standardize="lower",
            name="word_vectorizer",
        )
        word_vectorizer.adapt(tokens)
        vectors = None
        if self.pretrained_embeddings is not None:
            # Words of the vectors file that training never saw keep their vectors.
            vectors = rdata.load_word_vectors_for(
                word_vectorizer,
                self.pretrained_embeddings,
                max_tokens=self.max_tokens,
                seed=self.seed or 0,
                verbose=False,
            )
        char_vectorizer = None
        if self.char_features is not None:
            char_vectorizer = rdata.TextVectorizer(
                level="char",
                standardize=None,
                max_chars_per_token=self.max_chars,
                name="char_vectorizer",
            )
            char_vectorizer.adapt(tokens)
        trainer = Trainer(
            optimizer=self.optimizer,
            loss=self.loss,
            learning_rate=self.learning_rate,
            clipnorm=self.clipnorm,
            epochs=self.epochs,
            time_budget=self.time_budget,
            callbacks=self.callbacks,
            verbose=self.verbose,
        )
        crf_loss = _LossOfTheBuiltModel()

        def make_backbone() -> keras.Model:
            self.model_ = self._build(
                word_vectorizer,
                char_vectorizer,
                len(classes),
                _rare_from_id(word_vectorizer, tokens),
                matrix=vectors,
            )
            if self.crf:
                crf_loss.target = self.model_.get_layer("crf").loss
            return self.training_model_

        own_loss = (
            crf_loss if self.crf else keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)
        )
        backbone = trainer.build(make_backbone, loss=own_loss, jit_compile=False)

        index = {tag: i for i, tag in enumerate(classes)}
        train_ds = self._dataset(tokens, [[index[t] for t in s] for s in model_tags], True)
        callbacks: list[keras.callbacks.Callback] = []
        if val_tokens is not None and self.patience:
            callbacks.append(BestEpoch(lambda: self._score(val_tokens, val_tags), self.patience))
        start = time.perf_counter()
        history = trainer.fit(backbone, train_ds, first_callbacks=callbacks)
        self.history_ = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        self._set_entity_bias(0.0)
        if scheme is not None and "O" in classes and self.entity_bias is not None:
            if self.entity_bias != "auto":
                self._set_entity_bias(float(self.entity_bias))
            elif val_tokens is not None:
                self.tune_entity_bias(val_tokens, val_tags)
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def tune_entity_bias(self, token_lists: Any, tag_lists: Any) -> float:
        """Sets `entity_bias_` to the `ENTITY_BIAS_GRID` value with the best F1 on these sentences.

        What `entity_bias="auto"` does with the validation sentences after training, here on
        sentences of your choice (a development set). Ties go to the value nearest 0.

        Args:
            token_lists: sentences, each a list of token strings.
            tag_lists: their reference tags, in the scheme of the training tags.

        Returns:
            The value chosen (also in `entity_bias_`; `predict`, `save` and `export` use it).
        """
        self._check_fitted()
        if self.scheme_ is None or "O" not in self.classes_:
            raise ValueError(
                'This tagger learned plain labels (no entity tags with an "O"): there is no '
                "entity bias to tune."
            )
        tokens, tags = as_tagged_sentences(token_lists, tag_lists, "token_lists", "tag_lists")
        _entities.check_scheme(tags, self.scheme_, "tag_lists")
        best, best_f1 = 0.0, -1.0
        for value in sorted(self.ENTITY_BIAS_GRID, key=lambda v: (abs(v), v)):
            self._set_entity_bias(value)
            f1 = _entities.entity_scores(tags, self.predict(tokens), scheme=self.scheme_)["f1"]
            if f1 > best_f1:
                best, best_f1 = value, f1
        self._set_entity_bias(best)
        return best

    def _set_entity_bias(self, value: float) -> None:
        self.model_.get_layer("entity_bias").bias.assign(value)
        self.entity_bias_ = float(value)

    def _score(self, tokens: list[list[str]], tags: list[list[str]]) -> float:
        """What the tagger is judged by: entity F1 for entity tags, else token accuracy."""
        predicted = self.predict(tokens)
        if self.scheme_ is None:
            return _entities.token_accuracy(tags, predicted)
        return _entities.entity_scores(tags, predicted)["f1"]

    def _build(
        self,
        word_vectorizer: rdata.TextVectorizer,
        char_vectorizer: rdata.TextVectorizer | None,
        num_tags: int,
        rare_from_id: int | None = None,
        *,
        matrix: np.ndarray | None = None,
    ) -> keras.Model:
        """The tagger `tokens -> tag ids`; it sets `training_model_` (what `fit` trains).

        Both share every layer: `tokens -> CRF potentials or tag probabilities` is trained,
        then the tagger adds the entity bias and Viterbi decoding (or an argmax). `matrix`
        holds pretrained vectors of the word vocabulary, or None.
        """
        seed = self.seed
        tokens = keras.Input(shape=(None,), dtype="string", name="tokens")
        word_ids = word_vectorizer(tokens)
        embedding = keras.layers.Embedding(
            word_vectorizer.vocabulary_size,
            self.embedding_dim if matrix is None else matrix.shape[1],
            mask_zero=True,
            embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed),
            name="word_embedding",
        )
        ids = word_ids
        if self.word_dropout or self.rare_word_dropout:
            ids = rlayers.WordDropout(
                self.word_dropout,
                rare_rate=self.rare_word_dropout,
                rare_from_id=rare_from_id,
                seed=seed,
                name="word_dropout",
            )(ids)
        features = [embedding(ids)]
        if matrix is not None:
            embedding.set_weights([matrix])
        if char_vectorizer is not None:
            char_ids = char_vectorizer(tokens)
            features.append(
                rlayers.CharacterWordEncoder(
                    char_vectorizer.vocabulary_size,
                    kind=self.char_features,
                    embedding_dim=self.char_embedding_dim,
                    units=self.char_units,
                    cell=self.cell,
                    char_classes=rlayers.CharacterWordEncoder.character_classes(
                        char_vectorizer.get_vocabulary()
                    ),
                    seed=seed,
                    name="char_encoder",
                )(char_ids)
            )
        x = features[0] if len(features) == 1 else keras.layers.Concatenate()(features)
        x = keras.layers.Dropout(self.dropout, seed=seed)(x)
        rnn = rlayers.recurrent_layer(self.cell, choices=_CELLS)
        initializers = {"kernel_initializer": keras.initializers.GlorotUniform(seed=seed)}
        if "recurrent_initializer" in inspect.signature(rnn).parameters:  # not MinGRU/MinLSTM
            initializers["recurrent_initializer"] = keras.initializers.Orthogonal(seed=seed)
        for layer in range(self.num_layers):
            x = keras.layers.Bidirectional(
                rnn(self.units, return_sequences=True, **initializers),
                name=f"bidirectional_{layer}",
            )(x)
            x = keras.layers.Dropout(self.dropout, seed=seed)(x)
        scores = keras.layers.Dense(
            num_tags,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
            name="tag_scores",
        )(x)
        if self.crf:
            crf = rlayers.CRF(num_tags, name="crf")
            outputs = crf(scores)
        else:
            outputs = keras.layers.Activation("softmax", name="tag_probabilities")(scores)
        train_model = keras.Model(tokens, outputs, name="sequence_tagger_train")
        if self.crf:
            tags = crf.decode(rlayers.EntityBias(name="entity_bias")(outputs))
        else:
            tags = rlayers.MaskedArgmax(name="tags")(rlayers.EntityBias(name="entity_bias")(scores))
        self.training_model_ = train_model
        return keras.Model(tokens, tags, name="sequence_tagger")

    def _dataset(self, tokens: list[list[str]], tag_ids: list[list[int]], shuffle: bool):
        ds = tf.data.Dataset.from_tensor_slices(
            (_ragged(tokens, tf.string), _ragged(tag_ids, tf.int32))
        )
        ds = ds.map(lambda x, y: (x, y))  # ragged rows of a [B, None] slice are dense [T]
        ds = rdata.batch_dataset(
            ds, self.batch_size, shuffle=shuffle, seed=self.seed, padding_values=("", -1)
        )
        return ds

    # -- inference --------------------------------------------------------------------------------
    def _tag_tokens_graph(self, tokens: tf.Tensor) -> dict:
        """Tags `[B, T]` string tokens padded with `""` (TF ops; used by export)."""
        mask = tf.not_equal(tokens, "")
        # A batch without a single token (empty or blank texts, no texts) has no tags; the
        # recurrent layers would run over zero steps.
        ids = tf.cond(
            tf.reduce_any(mask),
            lambda: tf.cast(self.model_(tokens, training=False), tf.int32),
            lambda: tf.zeros(tf.shape(tokens), tf.int32),
        )
        tags = _entities.tag_ids_to_strings(
            ids, mask, self.classes_, self.model_scheme_, self.scheme_
        )
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        return {"tokens": tokens, "tags": tags, "lengths": lengths}

    def _predict_ids(self, tokens: list[list[str]], batch_size: int = 128) -> list[list[int]]:
        tag = self._graph_function(
            "tag",
            lambda model: tf.function(
                lambda x: model(x, training=False),
                input_signature=[tf.TensorSpec([None, None], tf.string)],
            ),
        )
        out: list[list[int]] = [[] for _ in tokens]
        order = sorted((i for i in range(len(tokens)) if tokens[i]), key=lambda i: len(tokens[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(tokens[i]) for i in chunk)
            batch = np.full((len(chunk), width), "", dtype=object)
            for row, i in enumerate(chunk):
                batch[row, : len(tokens[i])] = tokens[i]
            ids = tag(tf.constant(batch, tf.string)).numpy()
            for row, i in enumerate(chunk):
                out[i] = ids[row, : len(tokens[i])].tolist()
        return out

    def predict(self, token_lists: Any, *, batch_size: int = 128) -> list[list[str]]:
        """Tags tokenised sentences.

        Args:
            token_lists: sentences, each a list of token strings.
            batch_size: sentences per model call.

        Returns:
            One list of tags per sentence, in the scheme of the training tags.
        """
        self._check_fitted()
        tokens = as_tagged_sentences(token_lists, None)[0]
        ids = self._predict_ids(tokens, batch_size)
        tags = [[self.classes_[i] for i in sentence] for sentence in ids]
        return _entities.convert_scheme(tags, self.model_scheme_, self.scheme_)

    def predict_entities(self, texts: str | Sequence[str]) -> list:
        """Finds the entities of raw text, with character offsets.

        The text is split into words and punctuation (see `rnnkit.data.tokenize_with_offsets`; the
        exported model splits the same way), tagged, and each entity is returned with
        `text[start:end] == entity["text"]`.

        Args:
            texts: one string, or a list of strings.

        Returns:
            For one string, a list of `{"text", "type", "start", "end"}` dicts; for a list,
            one such list per string.
        """
        self._check_fitted()
        if self.scheme_ is None:
            raise ValueError(
                "`predict_entities` needs entity tags (a chunk scheme such as BIO), but this "
                "tagger was trained on plain labels; use `predict` to tag tokens."
            )
        single = isinstance(texts, str)
        texts_list = as_text_list([texts] if single else texts, "texts")
        spans = [rdata.tokenize_with_offsets(text) for text in texts_list]
        tags = self.predict([[tok for tok, _, _ in s] for s in spans])
        results = []
        for text, sentence_spans, sentence_tags in zip(texts_list, spans, tags, strict=True):
            entities = []
            for type_, start, end in _entities.get_entities(sentence_tags):
                begin, finish = sentence_spans[start][1], sentence_spans[end - 1][2]
                entities.append(
                    {"text": text[begin:finish], "type": type_, "start": begin, "end": finish}
                )
            results.append(entities)
        return results[0] if single else results

    def evaluate(
        self, token_lists: Any, tag_lists: Any, *, mode: str = "default"
    ) -> dict[str, Any]:
        """Scores the tagger on tagged sentences.

        Args:
            token_lists: sentences, each a list of token strings.
            tag_lists: their reference tags, in the scheme of the training tags.
            mode: entity matching, `"default"` (as `seqeval` and conlleval) or `"strict"`
                (as `seqeval`'s `mode="strict"`; BIO and BIOES only).

        Returns:
            `{"accuracy", "precision", "recall", "f1", "per_type"}`: token accuracy, and
            entity-level micro precision/recall/F1 with per-type scores. For plain labels
            (part of speech) precision/recall/F1 are per-label token scores, macro-averaged.
        """
        self._check_fitted()
        check_choice(mode, "mode", _entities.MODES)
        tokens, tags = as_tagged_sentences(token_lists, tag_lists, "token_lists", "tag_lists")
        _entities.check_scheme(tags, self.scheme_, "tag_lists")
        predicted = self.predict(tokens)
        if self.scheme_ is None:
            scores = _entities.label_scores(tags, predicted)
        else:
            scores = _entities.entity_scores(tags, predicted, mode=mode, scheme=self.scheme_)
        return {
            "accuracy": _entities.token_accuracy(tags, predicted),
            "precision": scores["precision"],
            "recall": scores["recall"],
            "f1": scores["f1"],
            "per_type": scores["per_type"],
        }

    # -- persistence and export -------------------------------------------------------------------
    def _get_state(self) -> dict:
        return {
            "classes": self.classes_,
            "scheme": self.scheme_,
            "model_scheme": self.model_scheme_,
            "history": getattr(self, "history_", {}),
            "entity_bias": self.entity_bias_,
        }

    def _set_state(self, state: dict) -> None:
        self.classes_ = list(state["classes"])
        self.scheme_ = state["scheme"]
        self.model_scheme_ = state["model_scheme"]
        self.history_ = state.get("history", {})
        self.entity_bias_ = float(state["entity_bias"])

    def _serving_endpoints(self) -> dict:
        def tag_text(text):
            tokens = rdata.tokenize_in_graph(require_utf8(text, "text"))
            return self._tag_tokens_graph(_at_least_one_column(tokens))

        def tag_tokens(tokens):
            return self._tag_tokens_graph(_at_least_one_column(require_utf8(tokens, "tokens")))

        def tag_ragged_tokens(values, row_lengths):
            ragged = tf.RaggedTensor.from_row_lengths(require_utf8(values, "values"), row_lengths)
            return self._tag_tokens_graph(_at_least_one_column(ragged.to_tensor("")))

        return {
            "serving_default": (tag_text, [tf.TensorSpec([None], tf.string, name="text")]),
            "tag_tokens": (tag_tokens, [tf.TensorSpec([None, None], tf.string, name="tokens")]),
            "tag_ragged_tokens": (
                tag_ragged_tokens,
                [
                    tf.TensorSpec([None], tf.string, name="values"),
                    tf.TensorSpec([None], tf.int64, name="row_lengths"),
                ],
            ),
        }


def _ragged(rows: list[list], dtype: tf.DType) -> tf.RaggedTensor:
    flat = [value for row in rows for value in row]
    values = tf.constant(flat, dtype, shape=[len(flat)])
    return tf.RaggedTensor.from_row_lengths(values, [len(row) for row in rows])


def _rare_from_id(vectorizer: rdata.TextVectorizer, tokens: list[list[str]]) -> int | None:
    """The first id of the words seen once (the vocabulary is sorted by frequency)."""
    ids = vectorizer(_ragged(tokens, tf.string)).numpy().ravel()
    counts = np.bincount(ids, minlength=vectorizer.vocabulary_size)
    rare = np.flatnonzero(counts[4:] <= 1)
    return int(rare[0]) + 4 if rare.size else None
