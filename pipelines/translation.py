"""Many-to-many: encoder-decoder translation with attention and in-graph beam search.

`Translator` composes public rnnkit parts: two `rnnkit.data.TextVectorizer`s, an
`rnnkit.models.TextEncoder`, an `rnnkit.layers.AttentionDecoder` and the
`rnnkit.models.EncoderDecoder` that joins them and generates with `rnnkit.generation`'s
greedy or beam search in the TensorFlow graph, trained by `rnnkit.training.Trainer`. One
exported SavedModel takes source sentences and returns translations, with no rnnkit needed.

Example:
>>> from pipelines import Translator
>>> tr = Translator(units=8, embedding_dim=8, epochs=1, verbose=0, seed=0)
>>> tr = tr.fit(["uno dos", "dos tres", "tres"], ["one two", "two three", "three"])
>>> len(tr.translate(["uno dos"], beam_width=2))
1
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnnkit import data
from rnnkit.checks import (
    as_text_list,
    check_bool,
    check_callbacks,
    check_choice,
    check_fraction,
    check_learning_rate,
    check_number,
    check_positive_int,
    check_same_length,
    check_seed,
    check_vocabulary_size,
)
from rnnkit.export import require_utf8
from rnnkit.layers import RECURRENT_LAYERS, AttentionDecoder
from rnnkit.models import EncoderDecoder, TextEncoder
from rnnkit.training import LinearDecay, Task, Trainer

__all__ = ["Translator"]

_ATTENTIONS = ("luong", "bahdanau")
_TOKEN_LEVELS = ("word", "subword")
# learning_rate_decay="linear": the share of the run trained at the full learning rate.
_LINEAR_HOLD = 0.7


def _translate_text(model: EncoderDecoder, texts, beam_width: int, length_penalty: float):
    """`tf.string [B]` sources -> translations, in the graph (an empty source gives "")."""
    source_ids = model.preprocessor(texts)
    result = model.generate(source_ids, beam_width, length_penalty)
    text = data.detokenize(model.target_vectorizer.decode(result.tokens))
    empty = tf.reduce_all(tf.equal(source_ids, data.PAD_ID), axis=1)
    return tf.where(empty, tf.constant(""), text)


class Translator(Task):
    """Sentence translator: bidirectional encoder, attentional decoder, beam search in the graph.

    `fit` learns a source and a target vocabulary (words and punctuation, or subword pieces,
    lower-cased), batches the pairs by length under a token budget
    (`rnnkit.data.batch_tensors`) and trains an `rnnkit.models.EncoderDecoder` with teacher
    forcing through `rnnkit.training.Trainer` (Adam with gradient clipping by default, early
    stopping on the validation loss, a moving average of the weights). `translate` decodes with
    greedy search (`beam_width=1`) or batched beam search, each one TensorFlow `while_loop` per
    batch; `export` writes a SavedModel whose `serving_default(text)` returns exactly what
    `translate` returns. Outputs are lower-cased. The defaults train in under 30 minutes on a
    2-core CPU (docs/experiments/translation.md has the measurements behind them).

    Args:
        cell: recurrent layer of encoder and decoder (`rnnkit.layers.RECURRENT_LAYERS`).
        units: units per recurrent layer of the decoder.
        encoder_units: units per direction of the bidirectional encoder; None: half of
            `units` (as OpenNMT's `brnn`), so the encoder outputs have the decoder's size.
        embedding_dim: size of the word vectors (source and target).
        num_layers: recurrent layers in the encoder and in the decoder.
        attention_type: `"luong"` (multiplicative `general` score) or `"bahdanau"` (additive).
            (Named so because `attention` is the method that returns the weights.)
        token_level: `"word"` (words and punctuation) or `"subword"` (byte-pair pieces
            within the vocabulary sizes; see `rnnkit.data.TextVectorizer`).
        source_vocabulary_size: most frequent source tokens kept (4 reserved ids included).
        target_vocabulary_size: most frequent target tokens kept; the softmax is this wide.
        max_length: sources longer than this many tokens are truncated (with a warning in
            `translate`), training targets too; also the longest output.
        dropout: dropout on the embeddings and on the attentional vector.
        teacher_forcing: share of training steps fed the reference previous token (1 is
            plain teacher forcing; below 1 is scheduled sampling, slower to train).
        tie_embeddings: use the target embeddings as the output layer.
        sampled_softmax: train with a sampled softmax over this many words drawn per batch
            (cheaper steps); validation, `evaluate` and decoding use the full softmax. None:
            full softmax. Needs `teacher_forcing=1` (else ignored).
        label_smoothing: share of the training target spread over the other words.
        optimizer: `"auto"` (Adam with `learning_rate` and `clipnorm`), a Keras optimizer
            name, or a `keras.optimizers.Optimizer` (copied for each `fit`).
        loss: `"auto"` (cross-entropy over real target tokens, with `sampled_softmax` and
            `label_smoothing`), or a Keras loss / callable `loss(target_out, logits)` to
            train with instead (on the full softmax).
        learning_rate: learning rate of the first epoch.
        learning_rate_decay: a number multiplies the rate by it after every epoch (1 keeps it
            constant); `"linear"` holds it for the first 70% of the run (ended by the first
            of `epochs` and `time_budget`), then decays it linearly to 0.
        learning_rate_cooldown: the last share of the run over which the rate falls linearly
            to 0 from where `learning_rate_decay` has brought it; 0 turns it off.
        clipnorm: gradient clipping norm of the `"auto"` optimizer; None or 0: off.
        epochs: most training epochs.
        batch_tokens: tokens per training batch (padding included); batches hold sentences of
            similar length, so short sentences come in large batches.
        patience: epochs without a better validation loss before training stops (the best
            weights are restored); needs `validation_data`; None or 0 turns it off.
        ema_momentum: keep an exponential moving average of the weights (per step; 0.999
            averages over about the last 1,000 steps); at the end, with `validation_data`,
            the averaged and the final weights are scored by validation loss and the better
            kept (`kept_weights_`, `weight_losses_`); without it the average is kept. None or
            0: the final weights.
        beam_width: default beam width of `translate`, `evaluate`, `attention` and `export`.
        length_penalty: default GNMT length penalty `alpha` of beam search (0 is none).
        seed: seed for weights and shuffling; None is not reproducible.
        time_budget: stop training after this many seconds counted from the start of `fit`
            (vocabularies and batching included; checked after every batch, the epoch under
            way is then validated); None for no limit.
        callbacks: extra Keras callbacks for `fit`.
        verbose: Keras `fit` verbosity: `"auto"`/1 progress bar, 2 one line per epoch, 0 silent.

    Example:
    >>> tr = Translator(units=8, embedding_dim=8, epochs=2, verbose=0, seed=0)
    >>> tr = tr.fit(["uno", "dos", "uno dos"], ["one", "two", "one two"])
    >>> [type(t) for t in tr.translate(["dos uno"], beam_width=2)]
    [<class 'str'>]
    """

    # Replaced by `ema_momentum` (a mean of epoch ends did not beat the final weights).
    _retired_params = frozenset({"average_checkpoints"})

    @classmethod
    def _upgrade_params(cls, params: dict) -> dict:
        # Files saved before `encoder_units` existed had encoders of `units` per direction;
        # before `learning_rate_cooldown`, none.
        params.setdefault("encoder_units", params.get("units"))
        params.setdefault("learning_rate_cooldown", 0.0)
        return super()._upgrade_params(params)

    def __init__(
        self,
        *,
        cell: str = "gru",
        units: int = 256,
        encoder_units: int | None = None,
        embedding_dim: int = 128,
        num_layers: int = 1,
        attention_type: str = "luong",
        token_level: str = "word",
        source_vocabulary_size: int = 16000,
        target_vocabulary_size: int = 8000,
        max_length: int = 50,
        dropout: float = 0.0,
        teacher_forcing: float = 1.0,
        tie_embeddings: bool = False,
        sampled_softmax: int | None = 1024,
        label_smoothing: float = 0.0,
        optimizer: Any = "auto",
        loss: Any = "auto",
        learning_rate: float = 1.5e-3,
        learning_rate_decay: float | str = 0.85,
        learning_rate_cooldown: float = 0.0,
        clipnorm: float | None = 1.0,
        epochs: int = 12,
        batch_tokens: int = 1024,
        patience: int | None = 1,
        ema_momentum: float | None = 0.999,
        beam_width: int = 4,
        length_penalty: float = 0.6,
        seed: int | None = None,
        time_budget: float | None = 1750.0,
        callbacks: Sequence[keras.callbacks.Callback] | None = None,
        verbose: int | str = "auto",
    ):
        self.cell = cell
        self.units = units
        self.encoder_units = encoder_units
        self.embedding_dim = embedding_dim
        self.num_layers = num_layers
        self.attention_type = attention_type
        self.token_level = token_level
        self.source_vocabulary_size = source_vocabulary_size
        self.target_vocabulary_size = target_vocabulary_size
        self.max_length = max_length
        self.dropout = dropout
        self.teacher_forcing = teacher_forcing
        self.tie_embeddings = tie_embeddings
        self.sampled_softmax = sampled_softmax
        self.label_smoothing = label_smoothing
        self.optimizer = optimizer
        self.loss = loss
        self.learning_rate = learning_rate
        self.learning_rate_decay = learning_rate_decay
        self.learning_rate_cooldown = learning_rate_cooldown
        self.clipnorm = clipnorm
        self.epochs = epochs
        self.batch_tokens = batch_tokens
        self.patience = patience
        self.ema_momentum = ema_momentum
        self.beam_width = beam_width
        self.length_penalty = length_penalty
        self.seed = seed
        self.time_budget = time_budget
        self.callbacks = callbacks
        self.verbose = verbose

    def _check_params(self) -> None:
        check_choice(self.cell, "cell", list(RECURRENT_LAYERS))
        check_choice(self.attention_type, "attention_type", _ATTENTIONS)
        check_choice(self.token_level, "token_level", _TOKEN_LEVELS)
        check_bool(self.tie_embeddings, "tie_embeddings")
        check_positive_int(self.sampled_softmax, "sampled_softmax", allow_none=True)
        check_fraction(self.label_smoothing, "label_smoothing")
        for name in ("units", "embedding_dim", "num_layers", "max_length", "epochs"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.batch_tokens, "batch_tokens")
        check_positive_int(self.encoder_units, "encoder_units", allow_none=True)
        check_positive_int(self.patience, "patience", allow_none=True)
        if self.ema_momentum is not None:
            check_fraction(self.ema_momentum, "ema_momentum")
        check_positive_int(self.beam_width, "beam_width")
        for name in ("source_vocabulary_size", "target_vocabulary_size"):
            check_vocabulary_size(getattr(self, name), name)
        check_fraction(self.dropout, "dropout")
        check_fraction(self.teacher_forcing, "teacher_forcing", upper_inclusive=True)
        if self.teacher_forcing == 0:
            raise ValueError(
                "`teacher_forcing` must be > 0: with 0 the decoder never sees a reference "
                "token (use 1.0 for plain teacher forcing, e.g. 0.8 for scheduled sampling)."
            )
        check_learning_rate(self.learning_rate)
        check_seed(self.seed)
        decay = self.learning_rate_decay
        if decay != "linear" and not (
            isinstance(decay, int | float) and not isinstance(decay, bool) and 0 < decay <= 1
        ):
            raise ValueError(
                f"`learning_rate_decay` must be 'linear' or a number in (0, 1], got {decay!r}."
            )
        check_fraction(self.learning_rate_cooldown, "learning_rate_cooldown")
        check_number(self.length_penalty, "length_penalty", strict=False)
        if self.clipnorm is not None:
            check_number(self.clipnorm, "clipnorm", strict=False)
        if self.time_budget is not None:
            check_number(self.time_budget, "time_budget")
        check_callbacks(self.callbacks)

    # -- data -----------------------------------------------------------------------------------
    def _pairs(self, sources: list[str], targets: list[str]) -> tuple:
        """`((source_ids, target_in), target_out)` ragged rows, truncated to `max_length`."""
        model = self.model_
        source = tf.RaggedTensor.from_tensor(model.preprocessor(tf.constant(sources)), padding=0)
        source = source[:, : self.max_length]
        target = tf.RaggedTensor.from_tensor(
            model.target_vectorizer(tf.constant(targets)), padding=0
        )
        # [START] words [END]: keep at most `max_length` words and always the [END].
        words = target[:, 1:-1][:, : self.max_length]
        ones = tf.ones([words.nrows(), 1], tf.int32)
        target = tf.concat([ones * data.START_ID, words, ones * data.END_ID], axis=1)
        return (source, target[:, :-1]), target[:, 1:]

    def _batches(self, sources: list[str], targets: list[str], *, train: bool) -> tf.data.Dataset:
        return data.batch_tensors(
            self._pairs(sources, targets),
            token_budget=self.batch_tokens,
            bucket=True,
            shuffle=train,
            seed=self.seed,
        )

    def _make_model(self, source_vectorizer, target_vectorizer) -> EncoderDecoder:
        encoder = TextEncoder(
            source_vectorizer.vocabulary_size,
            cell=self.cell,
            units=self.encoder_units or max(1, self.units // 2),
            embedding_dim=self.embedding_dim,
            num_layers=self.num_layers,
            decoder_units=self.units,
            dropout=self.dropout,
            max_length=self.max_length,
            name="encoder",
        )
        decoder = AttentionDecoder(
            target_vectorizer.vocabulary_size,
            cell=self.cell,
            units=self.units,
            embedding_dim=self.embedding_dim,
            num_layers=self.num_layers,
            attention=self.attention_type,
            dropout=self.dropout,
            tie_embeddings=self.tie_embeddings,
            name="decoder",
        )
        model = EncoderDecoder(
            encoder,
            decoder,
            max_length=self.max_length,
            sampled_softmax=self.sampled_softmax,
            label_smoothing=self.label_smoothing,
            teacher_forcing=self.teacher_forcing,
            preprocessor=source_vectorizer,
            target_vectorizer=target_vectorizer,
            name="translation_model",
        )
        model.build()
        return model

    def _schedule(self, trainer: Trainer, model: keras.Model) -> list[keras.callbacks.Callback]:
        """The learning-rate schedule's callback (run before the runner's own).

        It starts from the optimizer's own rate, so a user's optimizer keeps its rate.
        """
        rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        if self.learning_rate_decay == "linear":
            budget = trainer.remaining_budget()
            return [LinearDecay(rate, self.epochs, budget, _LINEAR_HOLD)]
        if self.learning_rate_cooldown:
            return [
                LinearDecay(
                    rate,
                    self.epochs,
                    trainer.remaining_budget(),
                    hold=1.0 - self.learning_rate_cooldown,
                    epoch_decay=self.learning_rate_decay,
                )
            ]
        if self.learning_rate_decay != 1:
            decay = float(self.learning_rate_decay)
            return [keras.callbacks.LearningRateScheduler(lambda epoch: rate * decay**epoch)]
        return []

    # -- estimator API --------------------------------------------------------------------------
    def fit(
        self, sources: Any, targets: Any, *, validation_data: tuple[Any, Any] | None = None
    ) -> Translator:
        """Learns the vocabularies and trains the encoder-decoder.

        Args:
            sources: source sentences (list, tuple, NumPy array or pandas Series of `str`).
            targets: their translations, one per source.
            validation_data: `(sources, targets)` for the validation loss and early stopping.

        Returns:
            `self`, fitted: `model`, `history_` (per-epoch losses), `training_time_`
            (seconds of the whole `fit`), `epochs_` (epochs run), `kept_weights_`
            (`"moving average"` or `"final"`, see `ema_momentum`) and `weight_losses_`.
        """
        self._check_params()
        sources = as_text_list(sources, "sources")
        targets = as_text_list(targets, "targets")
        check_same_length(sources, targets, "sources", "targets")
        validation = None
        if validation_data is not None:
            if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
                raise TypeError("`validation_data` must be a pair `(sources, targets)`.")
            val_sources = as_text_list(validation_data[0], "validation_data[0]")
            val_targets = as_text_list(validation_data[1], "validation_data[1]")
            check_same_length(val_sources, val_targets, "validation_data[0]", "validation_data[1]")
            validation = (val_sources, val_targets)

        # Training time (and `time_budget`) counts from here: vocabularies and batching too.
        start = time.perf_counter()
        self._seed()
        for attr in ("model_", "history_", "training_time_", "epochs_"):
            self.__dict__.pop(attr, None)
        self.__dict__.pop("kept_weights_", None)
        self.__dict__.pop("weight_losses_", None)
        source_vectorizer = data.TextVectorizer(
            level=self.token_level, max_tokens=self.source_vocabulary_size, name="source_vectorizer"
        )
        source_vectorizer.adapt(sources)
        target_vectorizer = data.TextVectorizer(
            level=self.token_level,
            max_tokens=self.target_vocabulary_size,
            start_end=True,
            name="target_vectorizer",
        )
        target_vectorizer.adapt(targets)
        trainer = Trainer(
            optimizer=self.optimizer,
            loss=self.loss,
            learning_rate=self.learning_rate,
            clipnorm=self.clipnorm,
            epochs=self.epochs,
            patience=self.patience,
            time_budget=self.time_budget,
            start=start,
            ema_momentum=self.ema_momentum,
            callbacks=self.callbacks,
            verbose=self.verbose,
        )
        model = trainer.build(
            lambda: self._make_model(source_vectorizer, target_vectorizer),
            loss=keras.losses.SparseCategoricalCrossentropy(
                from_logits=True, ignore_class=data.PAD_ID
            ),
        )
        model.train_with_compiled_loss = trainer.custom_loss
        self.model_ = model
        train_ds = self._batches(sources, targets, train=True)
        val_ds = self._batches(*validation, train=False) if validation else None
        history = trainer.fit(
            model, train_ds, val_ds, first_callbacks=self._schedule(trainer, model)
        )
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        self.epochs_ = len(history.epoch)
        # Polyak averaging: with validation data the final weights (possibly restored by early
        # stopping) and their moving average are scored and the better kept.
        score = (lambda: self._token_loss(val_ds)) if val_ds is not None else None
        self.kept_weights_, self.weight_losses_ = trainer.choose_weights(model, score)
        if self.verbose and self.weight_losses_:
            report = ", ".join(f"{k} {v:.4f}" for k, v in self.weight_losses_.items())
            print(f"Validation loss of the weights: {report}; kept: {self.kept_weights_}.")
        self.training_time_ = time.perf_counter() - start
        return self

    # -- decoding -------------------------------------------------------------------------------
    def _decoder(self, beam_width: int, length_penalty: float):
        """The compiled `tf.function` strings -> translations for these settings (cached)."""

        def build(model):
            @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
            def decode(text):
                return _translate_text(model, text, beam_width, length_penalty)

            return decode

        return self._graph_function(("decode", beam_width, float(length_penalty)), build)

    def _decode_options(self, beam_width: int | None, length_penalty: float | None):
        beam_width = self.beam_width if beam_width is None else beam_width
        length_penalty = self.length_penalty if length_penalty is None else length_penalty
        check_positive_int(beam_width, "beam_width")
        check_number(length_penalty, "length_penalty", strict=False)
        return int(beam_width), float(length_penalty)

    def _warn_long(self, texts: list[str]) -> None:
        lengths = self.model_.preprocessor.tokenize(tf.constant(texts)).row_lengths().numpy()
        long = np.flatnonzero(lengths > self.max_length)
        if long.size:
            warnings.warn(
                f"{long.size} source text(s) (e.g. index {int(long[0])}, {int(lengths[long[0]])} "
                f"tokens) are longer than `max_length`={self.max_length} tokens and were "
                "truncated; pass a larger `max_length` to `Translator` to keep them whole.",
                UserWarning,
                stacklevel=3,
            )

    def translate(
        self,
        texts: Any,
        *,
        beam_width: int | None = None,
        length_penalty: float | None = None,
        batch_size: int = 64,
    ) -> list[str]:
        """Translates source sentences.

        Args:
            texts: source sentences (list of `str`, NumPy array, pandas Series).
            beam_width: 1 for greedy search, more for beam search; default `self.beam_width`.
            length_penalty: beam search's GNMT `alpha`; default `self.length_penalty`.
            batch_size: sentences decoded per graph call.

        Returns:
            One lower-cased translation per text (`""` for an empty text).
        """
        self._check_fitted()
        texts = as_text_list(texts, "texts")
        check_positive_int(batch_size, "batch_size")
        decode = self._decoder(*self._decode_options(beam_width, length_penalty))
        if not texts:
            return []
        self._warn_long(texts)
        out: list[str] = []
        for i in range(0, len(texts), batch_size):
            batch = decode(tf.constant(texts[i : i + batch_size], dtype=tf.string))
            out.extend(t.decode("utf-8") for t in batch.numpy().tolist())
        return out

    def evaluate(
        self,
        sources: Any,
        references: Any,
        *,
        beam_width: int | None = None,
        length_penalty: float | None = None,
        batch_size: int = 64,
    ) -> dict[str, float]:
        """Scores translations of `sources` against `references`.

        BLEU and chrF are sacrebleu's corpus scores (default 13a tokenisation) on lower-cased
        hypotheses and references; `loss` is the teacher-forced cross-entropy per target token.

        Args:
            sources: source sentences.
            references: one reference translation per source.
            beam_width: as in `translate`.
            length_penalty: as in `translate`.
            batch_size: sentences per decoding batch.

        Returns:
            `{"bleu": float, "chrf": float, "loss": float}`.
        """
        import sacrebleu

        self._check_fitted()
        sources = as_text_list(sources, "sources")
        references = as_text_list(references, "references")
        check_same_length(sources, references, "sources", "references")
        # Sorting by length keeps batches free of padding; results are put back in order.
        order = sorted(range(len(sources)), key=lambda i: (len(sources[i]), i))
        translated = self.translate(
            [sources[i] for i in order],
            beam_width=beam_width,
            length_penalty=length_penalty,
            batch_size=batch_size,
        )
        hypotheses = [""] * len(sources)
        for i, text in zip(order, translated, strict=True):
            hypotheses[i] = text.lower()
        refs = [[r.lower() for r in references]]
        loss = self._token_loss(self._batches(sources, references, train=False))
        return {
            "bleu": float(sacrebleu.corpus_bleu(hypotheses, refs).score),
            "chrf": float(sacrebleu.corpus_chrf(hypotheses, refs).score),
            "loss": float(loss),
        }

    def _token_loss(self, batches: tf.data.Dataset) -> float:
        # Keras's `evaluate` averages per-batch means; this is the exact mean over tokens.
        model = self.model_
        ids = tf.TensorSpec([None, None], tf.int32)

        @tf.function(input_signature=[(ids, ids), ids])
        def batch_loss(inputs, target_out):
            logits = tf.cast(model(inputs, training=False), "float32")
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(target_out, logits)
            real = tf.cast(tf.not_equal(target_out, data.PAD_ID), "float32")
            return tf.reduce_sum(losses * real), tf.reduce_sum(real)

        total, count = 0.0, 0.0
        for inputs, target_out in batches:
            batch_total, batch_count = batch_loss(inputs, target_out)
            total += float(batch_total)
            count += float(batch_count)
        return total / max(count, 1.0)

    def attention(
        self, texts: Any, *, beam_width: int | None = None, length_penalty: float | None = None
    ) -> list[dict[str, Any]]:
        """Translates `texts` and returns where the decoder looked for each output token.

        Args:
            texts: source sentences.
            beam_width: as in `translate`.
            length_penalty: as in `translate`.

        Returns:
            One dict per text: `"source_tokens"` (the `S` source tokens after
            standardisation), `"target_tokens"` (the `T` output tokens, `"[END]"` last) and
            `"weights"` (`np.ndarray [T, S]`, row `t` the attention of output token `t`; rows
            sum to 1). An empty text gives empty lists and a `[0, 0]` array.
        """
        self._check_fitted()
        texts = as_text_list(texts, "texts")
        beam_width, length_penalty = self._decode_options(beam_width, length_penalty)
        if not texts:
            return []
        self._warn_long(texts)
        model = self.model_
        source_ids = model.encoder.clip(model.preprocessor(tf.constant(texts)))
        result = model.generate(source_ids, beam_width, length_penalty)
        tokens = result.tokens
        start = tf.fill([tf.shape(tokens)[0], 1], data.START_ID)
        target_in = tf.concat([start, tokens[:, :-1]], 1)
        weights = keras.ops.convert_to_numpy(model.attention_weights(source_ids, target_in))
        target_vocabulary = model.target_vectorizer.get_vocabulary()
        source_ids, tokens = source_ids.numpy(), tokens.numpy()
        lengths = result.lengths.numpy()
        out = []
        for i in range(len(texts)):
            source_length = int((source_ids[i] != data.PAD_ID).sum())
            if source_length == 0:
                out.append({"source_tokens": [], "target_tokens": [], "weights": np.zeros((0, 0))})
                continue
            # The words themselves (unknown ones too, not "[UNK]"), after standardisation.
            words = model.preprocessor.tokenize(tf.constant([texts[i]]))
            words = [t.decode("utf-8") for t in words[0].numpy().tolist()][: self.max_length]
            target_length = int(lengths[i])
            out.append(
                {
                    "source_tokens": words[:source_length],
                    "target_tokens": [target_vocabulary[t] for t in tokens[i, :target_length]],
                    "weights": weights[i, :target_length, :source_length].astype("float64"),
                }
            )
        return out

    def plot_attention(
        self,
        text: str,
        path: str | os.PathLike,
        *,
        beam_width: int | None = None,
        length_penalty: float | None = None,
    ) -> str:
        """Draws the attention of one translation as a heatmap and saves it as a PNG.

        Args:
            text: one source sentence.
            path: the image file to write (`.png`).
            beam_width: as in `translate`.
            length_penalty: as in `translate`.

        Returns:
            The path written.
        """
        # A bare Figure (no pyplot): no GUI backend, and the user's pyplot state is untouched.
        from matplotlib.figure import Figure

        if not isinstance(text, str):
            raise TypeError(
                f"`text` must be one string, got {type(text).__name__}; call it once per sentence."
            )
        (item,) = self.attention([text], beam_width=beam_width, length_penalty=length_penalty)
        if not item["source_tokens"]:
            raise ValueError("`text` is empty: there is no attention to draw.")
        weights = item["weights"]
        rows, columns = weights.shape
        fig = Figure(figsize=(max(4.0, 2.0 + 0.55 * columns), max(3.0, 1.6 + 0.4 * rows)), dpi=120)
        ax = fig.subplots()
        image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        fig.colorbar(image, ax=ax, fraction=0.04, pad=0.03)
        ax.set_xticks(range(columns), item["source_tokens"], rotation=60, ha="right")
        ax.set_yticks(range(rows), item["target_tokens"])
        ax.set_xlabel("source")
        ax.set_ylabel("translation")
        fig.tight_layout()
        path = os.fspath(path)
        fig.savefig(path, format="png")
        return path

    # -- persistence / export -------------------------------------------------------------------
    def _get_state(self) -> dict:
        # The training record travels with a saved model (the weights are in the archive).
        return {
            "history": getattr(self, "history_", {}),
            "training_time": getattr(self, "training_time_", None),
            "epochs": getattr(self, "epochs_", None),
            "kept_weights": getattr(self, "kept_weights_", None),
            "weight_losses": getattr(self, "weight_losses_", None),
        }

    def _set_state(self, state: dict) -> None:
        self.history_ = state.get("history", {})
        # Translators saved before the moving average existed kept their final weights or,
        # with the retired `average_checkpoints`, the mean of the last n epoch ends.
        averaged = state.get("averaged_epochs") or 1
        old_kept = "final" if averaged == 1 else f"mean of last {averaged} epochs"
        self.kept_weights_ = state.get("kept_weights") or old_kept
        self.weight_losses_ = state.get("weight_losses") or state.get("checkpoint_losses") or {}
        if state.get("training_time") is not None:
            self.training_time_ = state["training_time"]
        if state.get("epochs") is not None:
            self.epochs_ = state["epochs"]

    def export(
        self, path: str | os.PathLike, *, overwrite: bool = False, beam_width: int | None = None
    ) -> str:
        """Exports a SavedModel: `serving_default(text: string[None]) -> translation: string[None]`.

        Tokenisation, encoder, attention decoder, beam search and detokenisation are all in
        the graph; the SavedModel runs with plain TensorFlow (no rnnkit) and returns exactly
        what `translate` returns with the same beam width and `length_penalty`.

        Args:
            path: folder to write.
            overwrite: replace an existing folder.
            beam_width: beam width built into the export; default `self.beam_width`.

        Returns:
            The path written.
        """
        self._check_fitted()
        self._export_options = self._decode_options(beam_width, None)
        try:
            return super().export(path, overwrite=overwrite)
        finally:
            del self._export_options

    def _serving_endpoints(self) -> dict:
        beam_width, length_penalty = getattr(
            self, "_export_options", self._decode_options(None, None)
        )
        model = self.model_

        def serve(text):
            text = require_utf8(text)  # refused as `translate` refuses it
            return {"translation": _translate_text(model, text, beam_width, length_penalty)}

        return {"serving_default": (serve, [tf.TensorSpec([None], tf.string, name="text")])}
