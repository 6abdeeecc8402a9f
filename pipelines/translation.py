"""Many-to-many: encoder-decoder translation with attention and in-graph beam search.

`Translator` trains a bidirectional recurrent encoder and an attentional recurrent decoder
(rnnkit layers) on sentence pairs and translates raw strings with greedy or beam search that
runs entirely in the TensorFlow graph (`rnnkit._search`), so one exported SavedModel takes
source sentences and returns translations, with no rnnkit needed to run it.

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
from keras import ops

from rnnkit import data, layers
from rnnkit.checks import (
    as_text_list,
    check_bool,
    check_callbacks,
    check_choice,
    check_fraction,
    check_number,
    check_positive_int,
    check_same_length,
    check_vocabulary_size,
)
from rnnkit.generation import beam_search, greedy_search, tile_beams
from rnnkit.losses import sampled_softmax_loss, smoothed_cross_entropy
from rnnkit.training import LinearDecay, MovingAverage, Task

__all__ = ["Translator"]

_CELLS = ("gru", "lstm")
_ATTENTIONS = ("luong", "bahdanau")
_TOKEN_LEVELS = ("word", "subword")
# TextVectorizer's reserved ids.
_PAD, _UNK, _START, _END = 0, 1, 2, 3
# Ids the decoder never outputs: padding, [UNK] (a wrong word scores better than "[UNK]" in any
# metric and reads better) and [START].
_BANNED = (_PAD, _UNK, _START)
_NEG = -1e9
# learning_rate_decay="linear": the share of the run trained at the full learning rate.
_LINEAR_HOLD = 0.7


def _rnn(cell: str) -> type:
    return {"gru": layers.GRU, "lstm": layers.LSTM}[cell]


# Word-level outputs are tokens joined by spaces ("i don ' t know , tom ."): these rules join
# them back into ordinary text ("i don't know, tom."). Pure TF ops, so they run inside the
# exported SavedModel too. Applied in order; some twice because matches cannot overlap.
_DETOKENIZE_RULES = (
    (r"(\pL) ' (s|t|m|d|ll|re|ve)( |$)", r"\1'\2\3"),
    (r"(^| )o ' clock", r"\1o'clock"),
    (r"(\pL)s ' ", r"\1s' "),
    (r"([\pL\pN]) - ([\pL\pN])", r"\1-\2"),
    (r"([\pL\pN]) - ([\pL\pN])", r"\1-\2"),
    (r"(\pN) ([.,:]) (\pN)", r"\1\2\3"),
    (r"(\pN) ([.,:]) (\pN)", r"\1\2\3"),
    (r'(^| )" ([^"]*?) "', r'\1"\2"'),
    (r" ([.,!?;:%)\]}»…])", r"\1"),
    (r"([¿¡(\[{«$]) ", r"\1"),
)


def detokenize(text: tf.Tensor) -> tf.Tensor:
    """Joins space-separated word tokens back into text (`"don ' t ."` -> `"don't."`).

    Args:
        text: `tf.string` tensor of tokens joined by single spaces.

    Returns:
        `tf.string` tensor of the same shape.

    Example:
    >>> text = tf.constant(["¿ dónde está ?", "i don ' t know , tom ."])
    >>> [t.decode("utf-8") for t in detokenize(text).numpy()]
    ['¿dónde está?', "i don't know, tom."]
    """
    for pattern, rewrite in _DETOKENIZE_RULES:
        text = tf.strings.regex_replace(text, pattern, rewrite)
    return tf.strings.strip(text)


@keras.saving.register_keras_serializable(package="rnnkit")
class TranslationModel(keras.Model):
    """Attentional encoder-decoder over token ids, with its vectorisers and in-graph decoding.

    Encoder: embeddings, `num_layers` bidirectional recurrent layers. Decoder: embeddings,
    `num_layers` recurrent layers started from the encoder's final states (through a `tanh`
    bridge), then attention with the top decoder state as query over the encoder outputs, an
    attentional vector `tanh(W [context; state])` and a softmax over the target vocabulary
    (Luong et al., 2015). Because the attention sits after the recurrence, training computes
    the attention of all target positions at once, and each decoding step is one cell step, one
    attention query and one output layer.

    Call `model((source_ids, target_in))` for teacher-forced logits `[B, T, V]`;
    `translate_text` / `translate_ids` decode with greedy or beam search in the graph.

    Args:
        source_vectorizer: fitted `rnnkit.data.TextVectorizer` of the source language.
        target_vectorizer: fitted `rnnkit.data.TextVectorizer` of the target language.
        cell: `"gru"` or `"lstm"`.
        units: units of every recurrent layer (per direction in the encoder, unless
            `encoder_units`).
        encoder_units: units per direction of the encoder's layers; None: `units`.
        embedding_dim: size of the word vectors.
        num_layers: recurrent layers in the encoder and in the decoder.
        attention: `"luong"` (multiplicative, `general` score) or `"bahdanau"` (additive score).
        dropout: dropout on the embeddings and on the attentional vector.
        teacher_forcing: fraction of training steps fed the reference previous token; below 1
            the others get the model's own previous prediction (scheduled sampling), which
            needs a step-by-step decoder in training (slower).
        max_length: longest source kept (in tokens) and longest output generated.
        tie_embeddings: use the target embedding matrix as the output layer's weights.
        sampled_softmax: train with a sampled softmax over this many words drawn per batch
            (see `train_step`); None trains with the full softmax.
        label_smoothing: share of the training target spread over the other words (0: none).
        **kwargs: base `keras.Model` arguments.

    Example:
    >>> from pipelines import Translator
    >>> tr = Translator(units=8, embedding_dim=8, epochs=1, verbose=0, seed=0)
    >>> model = tr.fit(["uno dos", "dos"], ["one two", "two"]).model
    >>> ids = model.source_vectorizer(tf.constant(["dos uno"]))
    >>> model((ids, tf.constant([[2, 4]]))).shape  # logits over the target vocabulary
    TensorShape([1, 2, 6])
    >>> model.translate_ids(ids, beam_width=3).tokens.shape[0]
    1
    """

    def __init__(
        self,
        source_vectorizer,
        target_vectorizer,
        cell="gru",
        units=256,
        encoder_units=None,
        embedding_dim=128,
        num_layers=1,
        attention="luong",
        dropout=0.0,
        teacher_forcing=1.0,
        max_length=50,
        tie_embeddings=False,
        sampled_softmax=None,
        label_smoothing=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(source_vectorizer, dict):
            source_vectorizer = keras.saving.deserialize_keras_object(source_vectorizer)
        if isinstance(target_vectorizer, dict):
            target_vectorizer = keras.saving.deserialize_keras_object(target_vectorizer)
        check_choice(cell, "cell", _CELLS)
        check_choice(attention, "attention", _ATTENTIONS)
        self.source_vectorizer = source_vectorizer
        self.target_vectorizer = target_vectorizer
        self.cell = cell
        self.units = units
        self.encoder_units = encoder_units
        self.embedding_dim = embedding_dim
        self.num_layers = num_layers
        self.attention = attention
        self.dropout = dropout
        self.teacher_forcing = teacher_forcing
        self.max_length = max_length
        self.tie_embeddings = bool(tie_embeddings)
        self.sampled_softmax = sampled_softmax
        self.label_smoothing = float(label_smoothing)
        self.source_vocabulary_size = source_vectorizer.vocabulary_size
        self.target_vocabulary_size = target_vectorizer.vocabulary_size
        self._state_count = 2 if cell == "lstm" else 1

        rnn = _rnn(cell)
        # Unit-variance word vectors (as in PyTorch), not Keras's uniform(-0.05, 0.05): with
        # those, encoder states and the attention's gradients start so small that Adam (its
        # epsilon) barely moves the attention; measured on 40k Tatoeba pairs, validation loss
        # after 2 epochs was 2.52 with these and 4.91 with Keras's.
        self.source_embedding = keras.layers.Embedding(
            self.source_vocabulary_size,
            embedding_dim,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
            mask_zero=True,
            name="source_embedding",
        )
        self.target_embedding = keras.layers.Embedding(
            self.target_vocabulary_size,
            embedding_dim,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
            mask_zero=True,
            name="target_embedding",
        )
        self.encoder_layers = [
            keras.layers.Bidirectional(
                rnn(
                    encoder_units or units,
                    return_sequences=True,
                    return_state=True,
                    name=f"encoder_{cell}_{i}",
                ),
                name=f"encoder_{i}",
            )
            for i in range(num_layers)
        ]
        self.bridges = [
            [
                keras.layers.Dense(units, activation="tanh", name=f"bridge_{i}_{j}")
                for j in range(self._state_count)
            ]
            for i in range(num_layers)
        ]
        self.decoder_layers = [
            rnn(units, return_sequences=True, return_state=True, name=f"decoder_{cell}_{i}")
            for i in range(num_layers)
        ]
        if attention == "luong":
            self.attention_layer = layers.LuongAttention("general", name="attention")
        else:
            self.attention_layer = layers.BahdanauAttention(units, name="attention")
        # Tied: the output layer is the target embedding matrix (plus a bias), so the
        # attentional vector has the embedding size; the softmax, the costliest part of
        # training, then works on `embedding_dim` instead of `units` inputs.
        self.attentional = keras.layers.Dense(
            embedding_dim if self.tie_embeddings else units,
            activation="tanh",
            use_bias=False,
            name="attentional",
        )
        self.output_layer = None
        if not self.tie_embeddings:
            self.output_layer = keras.layers.Dense(self.target_vocabulary_size, name="logits")
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout")
        banned = np.zeros([self.target_vocabulary_size], "float32")
        banned[list(_BANNED)] = _NEG
        self._banned = banned

    # -- building blocks --------------------------------------------------------------------
    def build(self, input_shape=None):
        if self.tie_embeddings:
            self.output_bias = self.add_weight(
                shape=(self.target_vocabulary_size,), initializer="zeros", name="output_bias"
            )
        # Runs the network once on a tiny batch so every sublayer creates its weights.
        source = ops.ones((1, 2), dtype="int32")
        target = ops.ones((1, 2), dtype="int32")
        self._teacher_forced(source, target, training=False)
        self.built = True

    def encode(self, source_ids, training=False):
        """Encodes `[B, S]` source ids: `(memory [B, S, 2 encoder_units], mask [B, S], states)`.

        `states` holds, per decoder layer, the tuple of its initial states.
        """
        mask = ops.not_equal(source_ids, _PAD)
        x = self.dropout_layer(self.source_embedding(source_ids), training=training)
        states = []
        for layer, bridges in zip(self.encoder_layers, self.bridges, strict=True):
            outputs = layer(x, mask=mask, training=training)
            x, finals = outputs[0], outputs[1:]
            n = self._state_count
            states.append(
                tuple(
                    bridge(ops.concatenate([finals[j], finals[j + n]], axis=-1))
                    for j, bridge in enumerate(bridges)
                )
            )
        return x, mask, tuple(states)

    def _attentional_vector(self, query, context, training=False):
        attentional = self.attentional(ops.concatenate([context, query], axis=-1))
        return self.dropout_layer(attentional, training=training)

    def _output_weights(self):
        """The output layer as `(kernel [V, D], bias [V])` (float32 variables' values)."""
        if self.output_layer is not None:
            return ops.transpose(self.output_layer.kernel), self.output_layer.bias
        return self.target_embedding.embeddings, self.output_bias

    def _output(self, query, context, training=False):
        return self._logits(self._attentional_vector(query, context, training))

    def _logits(self, attentional):
        if self.output_layer is not None:
            return self.output_layer(attentional)
        embeddings = ops.cast(self.target_embedding.embeddings, attentional.dtype)
        # One 2-D matmul (an einsum over "...d,vd" measured 20x slower to train).
        flat = ops.reshape(attentional, (-1, attentional.shape[-1]))
        logits = ops.matmul(flat, ops.transpose(embeddings)) + self.output_bias
        return ops.reshape(logits, (*ops.shape(attentional)[:-1], self.target_vocabulary_size))

    def decode_step(self, tokens, states, memory, projected_keys, mask, training=False):
        """One decoder step: `tokens [N]` -> `(logits [N, V], states, attention weights)`."""
        # A plain lookup: the Embedding layer would attach a padding mask the cells do not take.
        x = ops.take(self.target_embedding.embeddings, tokens, axis=0)
        x = self.dropout_layer(x, training=training)
        new_states = []
        for layer, layer_states in zip(self.decoder_layers, states, strict=True):
            x, cell_states = layer.cell(x, list(layer_states), training=training)
            new_states.append(tuple(cell_states))
        context, weights = self.attention_layer(x, memory, projected_keys=projected_keys, mask=mask)
        return self._output(x, context, training), tuple(new_states), weights

    def _teacher_forced(self, source_ids, target_in, training=False):
        attentional, weights = self._teacher_forced_vectors(source_ids, target_in, training)
        return self._logits(attentional), weights

    def _teacher_forced_vectors(self, source_ids, target_in, training=False):
        """Attentional vectors `[B, T, D]` (the softmax's inputs) and attention weights."""
        memory, mask, states = self.encode(source_ids, training)
        x = self.dropout_layer(self.target_embedding(target_in), training=training)
        target_mask = ops.not_equal(target_in, _PAD)
        for layer, layer_states in zip(self.decoder_layers, states, strict=True):
            x = layer(x, initial_state=list(layer_states), mask=target_mask, training=training)[0]
        context, weights = self.attention_layer(x, memory, mask=mask)
        return self._attentional_vector(x, context, training), weights

    def train_step(self, data):
        """Keras's training step, with a sampled softmax and label smoothing when set.

        With `sampled_softmax` (and teacher forcing), each target word is scored against
        the `sampled_softmax` words drawn for the batch instead of the whole vocabulary
        (`sampled_softmax_loss`), on real (non-padding) positions only. With
        `label_smoothing`, the loss is the smoothed cross-entropy. Validation loss, `evaluate`
        and decoding always use the plain cross-entropy over the full softmax.
        """
        sampled = self.sampled_softmax and self.teacher_forcing >= 1.0
        if not sampled and not self.label_smoothing:
            return super().train_step(data)
        (source_ids, target_in), target_out = data
        real = tf.not_equal(target_out, _PAD)
        labels = tf.boolean_mask(target_out, real)
        with tf.GradientTape() as tape:
            if sampled:
                attentional, _ = self._teacher_forced_vectors(
                    self.clip_source(source_ids), target_in, training=True
                )
                weights, bias = self._output_weights()
                losses = sampled_softmax_loss(
                    weights,
                    bias,
                    labels,
                    tf.cast(tf.boolean_mask(attentional, real), "float32"),
                    num_sampled=min(self.sampled_softmax, self.target_vocabulary_size - 1),
                    label_smoothing=self.label_smoothing,
                )
            else:
                logits = self((source_ids, target_in), training=True)
                logits = tf.cast(tf.boolean_mask(logits, real), "float32")
                losses = smoothed_cross_entropy(labels, logits, self.label_smoothing)
            loss = tf.reduce_mean(losses)
            self._loss_tracker.update_state(loss, sample_weight=tf.shape(labels)[0])
            scaled = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights, strict=True))
        return self.get_metrics_result()

    def _scheduled_sampling(self, source_ids, target_in):
        # Step by step: each input is the reference token with probability `teacher_forcing`,
        # else the model's own prediction at the previous step (gradients stop there).
        memory, mask, states = self.encode(source_ids, training=True)
        keys = self.attention_layer.project_keys(memory)
        steps = tf.shape(target_in)[1]
        batch = tf.shape(target_in)[0]
        logits_ta = tf.TensorArray(self.compute_dtype, size=steps)

        def body(t, previous, states, logits_ta):
            reference = target_in[:, t]
            sampled = tf.cast(tf.argmax(previous, axis=-1), "int32")
            keep = tf.random.uniform([batch]) < self.teacher_forcing
            tokens = tf.where(keep | tf.equal(t, 0), reference, sampled)
            logits, states, _ = self.decode_step(tokens, states, memory, keys, mask, True)
            return t + 1, tf.stop_gradient(logits), states, logits_ta.write(t, logits)

        first = tf.zeros([batch, self.target_vocabulary_size], self.compute_dtype)
        _, _, _, logits_ta = tf.while_loop(
            lambda t, *_: t < steps, body, (tf.constant(0), first, states, logits_ta)
        )
        return tf.transpose(logits_ta.stack(), [1, 0, 2])

    def call(self, inputs, training=False):
        source_ids, target_in = inputs
        source_ids = self.clip_source(source_ids)
        if training and self.teacher_forcing < 1.0:
            return self._scheduled_sampling(source_ids, target_in)
        return self._teacher_forced(source_ids, target_in, training)[0]

    def attention_weights(self, source_ids, target_in):
        """Teacher-forced attention weights `[B, T, S]` (rows sum to 1 over real source tokens)."""
        return self._teacher_forced(self.clip_source(source_ids), target_in)[1]

    def clip_source(self, source_ids):
        """Truncates `[B, S]` ids to `max_length` steps, keeping at least one step."""
        padding = ops.zeros((ops.shape(source_ids)[0], 1), dtype=source_ids.dtype)
        source_ids = ops.concatenate([source_ids, padding], axis=1)
        steps = ops.minimum(ops.maximum(ops.shape(source_ids)[1] - 1, 1), self.max_length)
        return source_ids[:, :steps]

    # -- decoding (TensorFlow graph) ---------------------------------------------------------
    def translate_ids(
        self, source_ids, beam_width=1, length_penalty=0.0, max_length=None, use_beam_search=None
    ):
        """Decodes `[B, S]` source ids in the graph.

        Args:
            source_ids: int32 `[B, S]`, right-padded with 0.
            beam_width: 1 for greedy search, more for beam search (a Python int).
            length_penalty: GNMT length penalty `alpha` for beam search.
            max_length: most tokens generated; by default `2 * S + 10`, at most the model's
                `max_length` (+1 for the end token).
            use_beam_search: force (True) or avoid (False, needs `beam_width=1`) beam search;
                by default beam search runs when `beam_width > 1`.

        Returns:
            An `rnnkit._search.SearchResult` of the best hypothesis per sentence: `tokens`
            `[B, T]` (ending with the end id 3, then 0), `lengths`, `log_probs`, `scores` `[B]`.
        """
        source_ids = self.clip_source(tf.cast(source_ids, "int32"))
        batch = tf.shape(source_ids)[0]
        limit = self.max_length + 1
        if max_length is None:
            max_length = tf.minimum(2 * tf.shape(source_ids)[1] + 10, limit)
        memory, mask, states = self.encode(source_ids)
        keys = self.attention_layer.project_keys(memory)
        banned = tf.constant(self._banned)
        context = (memory, keys, mask)
        if beam_width > 1:
            context = tile_beams(context, beam_width)

        def step(tokens, states):
            logits, states, _ = self.decode_step(tokens, states, *context)
            logits = tf.cast(logits, "float32") + banned
            return tf.nn.log_softmax(logits), states

        start = tf.fill([batch], _START)
        if use_beam_search is None:
            use_beam_search = beam_width > 1
        if not use_beam_search:
            if beam_width != 1:
                raise ValueError(
                    f"`use_beam_search=False` is greedy search, which has no `beam_width` "
                    f"(got {beam_width}); pass beam_width=1."
                )
            return greedy_search(step, states, start, end_token=_END, max_length=max_length)
        result = beam_search(
            step,
            states,
            start,
            end_token=_END,
            max_length=max_length,
            beam_width=beam_width,
            length_penalty=length_penalty,
        )
        return type(result)(*(x[:, 0] for x in result))

    def translate_text(self, texts, beam_width=1, length_penalty=0.0):
        """Translates a `tf.string [B]` tensor into a `tf.string [B]` tensor, in the graph.

        An empty (or all-whitespace) source gives an empty translation.
        """
        source_ids = self.source_vectorizer(texts)
        result = self.translate_ids(source_ids, beam_width, length_penalty)
        text = detokenize(self.target_vectorizer.decode(result.tokens))
        empty = tf.reduce_all(tf.equal(source_ids, _PAD), axis=1)
        return tf.where(empty, tf.constant(""), text)

    def get_config(self):
        config = {
            "source_vectorizer": keras.saving.serialize_keras_object(self.source_vectorizer),
            "target_vectorizer": keras.saving.serialize_keras_object(self.target_vectorizer),
            "cell": self.cell,
            "units": self.units,
            "encoder_units": self.encoder_units,
            "embedding_dim": self.embedding_dim,
            "num_layers": self.num_layers,
            "attention": self.attention,
            "dropout": self.dropout,
            "teacher_forcing": self.teacher_forcing,
            "max_length": self.max_length,
            "tie_embeddings": self.tie_embeddings,
            "sampled_softmax": self.sampled_softmax,
            "label_smoothing": self.label_smoothing,
        }
        return {**super().get_config(), **config}


class Translator(Task):
    """Sentence translator: bi-GRU encoder, attentional GRU decoder, beam search in the graph.

    `fit` learns a source and a target vocabulary (`rnnkit.data.TextVectorizer`, words and
    punctuation, or pieces of words with `token_level="subword"`, lower-cased), batches the
    pairs by length under a token budget (`rnnkit.data.batch_tensors`) and trains a
    `TranslationModel` with teacher forcing, Adam, gradient clipping and early stopping on the
    validation loss. `translate` decodes with greedy search (`beam_width=1`) or batched beam
    search, both as one TensorFlow `while_loop` per batch; `export` writes a SavedModel whose
    `serving_default(text)` returns exactly what `translate` returns. Outputs are lower-cased
    (as the vocabularies).

    The defaults were chosen by measurement on Tatoeba Spanish->English
    (`rnnkit.datasets.tatoeba`) to train in under 30 minutes on a 2-core CPU; see
    `benchmarks/results/translation.md`.

    Args:
        cell: recurrent cell, `"gru"` or `"lstm"` (layers from `rnnkit.layers`).
        units: units per recurrent layer of the decoder.
        encoder_units: units per direction of the bidirectional encoder; None: half of
            `units` (as OpenNMT's `brnn`), so the encoder outputs have the decoder's size. On
            Tatoeba the half-size encoder made training steps about a quarter cheaper and
            learned more per epoch (42.3 BLEU beam 4 against 41.0 with `encoder_units=256`;
            `benchmarks/results/translation-src12k.md`).
        embedding_dim: size of the word vectors (source and target).
        num_layers: recurrent layers in the encoder and in the decoder.
        attention_type: `"luong"` (multiplicative `general` score) or `"bahdanau"` (additive
            score); both query with the decoder state after its recurrent layers. (Named
            `attention_type` because `attention` is the method that returns the weights.)
        token_level: `"word"` (words and punctuation) or `"subword"` (pieces of words learned by
            byte-pair encoding within the vocabulary sizes: rare and unseen words are split
            into known pieces instead of becoming `[UNK]`; see `rnnkit.data.TextVectorizer`).
        source_vocabulary_size: most frequent source tokens kept (4 reserved ids included).
            The default reaches down to Tatoeba Spanish training words seen twice; it
            learned more per epoch than 12,000 (validation loss 1.193 against 1.208 after 7
            epochs; `benchmarks/results/translation-src16k.md`). The source side has no
            softmax, so a wider vocabulary costs only the embedding rows' update.
        target_vocabulary_size: most frequent target tokens kept (the decoder never outputs
            the others); the output softmax is this wide. With `sampled_softmax` a training
            step grows only with the optimizer's update of the wider layer; validation and
            decoding use the full softmax.
        max_length: sources longer than this many tokens are truncated (with a warning in
            `translate`), training targets too; also the longest output.
        dropout: dropout on the embeddings and on the attentional vector.
        teacher_forcing: fraction of training steps fed the reference previous token (1 is
            plain teacher forcing; below 1 is scheduled sampling, slower to train).
        tie_embeddings: use the target embeddings as the output layer (the softmax then takes
            `embedding_dim` inputs instead of `units`, about 20% less training time). Off by
            default: on Tatoeba it stayed on the unigram plateau (loss 5.4) for 3 epochs
            where the untied model reached 4.4.
        sampled_softmax: train the output layer with a sampled softmax: each target word is
            scored against this many words drawn per batch (frequent words more often)
            instead of the whole target vocabulary, which makes training steps cheaper;
            validation loss, `evaluate` and decoding use the full softmax. None: full
            softmax in training too. Needs `teacher_forcing=1` (else ignored).
        label_smoothing: train towards a target that keeps `1 - label_smoothing` on the
            reference word and spreads the rest over the vocabulary (over the drawn words
            with `sampled_softmax`); 0 is plain cross-entropy. Validation loss and `evaluate`
            stay plain cross-entropy.
        learning_rate: Adam learning rate of the first epoch.
        learning_rate_decay: how the learning rate falls during training. A number multiplies
            it by that after every epoch (1 keeps it constant). `"linear"` holds it for the
            first 70% of the run, then decays it linearly to 0 at the end, where the run ends
            with the first of `epochs` and `time_budget` (so a slow machine, which gets fewer
            epochs, still ends on a small rate). Not the default: on Tatoeba (28 minutes, 2
            cores; with 30,000 / 14,000-word vocabularies) it reached 36.4 BLEU beam 4
            against 40.9 for the defaults of the time, as the held rate learns less per epoch
            than 0.8's early decay (`benchmarks/results/translation-linear-30k.md`). The
            default, 0.85 from 0.0015, learned more per epoch than 0.8 from 0.002 (validation
            loss 1.160 against 1.193 after 7 epochs; `benchmarks/results/translation-lr15.md`).
        learning_rate_cooldown: the last share of the run (ended by the first of `epochs` and
            `time_budget`) over which the learning rate falls linearly to 0, from where
            `learning_rate_decay` has brought it; 0 turns it off (`"linear"` has its own: the
            last 30%). Off by default: on Tatoeba, 0.2 made the trained weights validate
            better but not their moving average (`ema_momentum`), and the kept weights scored
            44.4 BLEU beam 4 against 44.3 (`benchmarks/results/translation-cooldown.md`).
        clipnorm: gradient clipping norm (on by default); `None` or 0 turns it off.
        epochs: most training epochs.
        batch_tokens: tokens per training batch (padding included); batches hold sentences of
            similar length, so short sentences come in large batches.
        patience: epochs without a better validation loss before training stops (the best
            weights are restored); needs `validation_data`; `None` or 0 turns it off.
        ema_momentum: Polyak averaging: `fit` keeps an exponential moving average of the
            weights (momentum per training step; 0.999 averages over about the last 1,000
            steps). At the end, with `validation_data`, the averaged and the final weights
            are scored by validation loss and the better are kept (`kept_weights_`,
            `weight_losses_`); without it the average is kept. `None` or 0: the final weights.
        beam_width: default beam width of `translate`, `evaluate`, `attention` and `export`
            (1 is greedy search).
        length_penalty: default GNMT length penalty `alpha` of beam search (0 is none).
        seed: seed for weights and shuffling; `None` is not reproducible.
        time_budget: stop training after this many seconds, counted from the start of `fit`
            (vocabularies and batching included; checked after every batch; the epoch under
            way is then validated and ends). The default, 1,750 s (29 min 10 s), leaves room
            for that last validation and the choice of weights (`ema_momentum`) within a
            30-minute budget; `None` for no limit.
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
        # Files saved before `encoder_units` existed had encoders of `units` per direction.
        params.setdefault("encoder_units", params.get("units"))
        # ... and before `learning_rate_cooldown`, none.
        params.setdefault("learning_rate_cooldown", 0.0)
        return params

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

    # -- validation -----------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_choice(self.cell, "cell", _CELLS)
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
        check_number(self.learning_rate, "learning_rate")
        decay = self.learning_rate_decay
        if decay != "linear" and not (
            isinstance(decay, int | float) and not isinstance(decay, bool) and 0 < decay <= 1
        ):
            raise ValueError(
                f"`learning_rate_decay` must be 'linear' or a number in (0, 1], got {decay!r}."
            )
        cooldown = self.learning_rate_cooldown
        if not (isinstance(cooldown, int | float) and not isinstance(cooldown, bool)) or not (
            0 <= cooldown < 1
        ):
            raise ValueError(
                f"`learning_rate_cooldown` must be a number in [0, 1), got {cooldown!r}."
            )
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
        source = tf.RaggedTensor.from_tensor(
            model.source_vectorizer(tf.constant(sources)), padding=0
        )
        source = source[:, : self.max_length]
        target = tf.RaggedTensor.from_tensor(
            model.target_vectorizer(tf.constant(targets)), padding=0
        )
        # [START] words [END]: keep at most `max_length` words and always the [END].
        words = target[:, 1:-1][:, : self.max_length]
        ones = tf.ones([words.nrows(), 1], tf.int32)
        target = tf.concat([ones * _START, words, ones * _END], axis=1)
        return (source, target[:, :-1]), target[:, 1:]

    def _batches(self, sources: list[str], targets: list[str], *, train: bool) -> tf.data.Dataset:
        return data.batch_tensors(
            self._pairs(sources, targets),
            token_budget=self.batch_tokens,
            bucket=True,
            shuffle=train,
            seed=self.seed,
        )

    # -- estimator API --------------------------------------------------------------------------
    def fit(
        self,
        sources: Any,
        targets: Any,
        *,
        validation_data: tuple[Any, Any] | None = None,
    ) -> Translator:
        """Learns the vocabularies and trains the encoder-decoder.

        Args:
            sources: source sentences (list, tuple, NumPy array or pandas Series of `str`).
            targets: their translations, one per source.
            validation_data: `(sources, targets)` for the validation loss and early stopping.

        Returns:
            `self`, fitted: `model`, `history_` (per-epoch losses), `training_time_`
            (seconds of the whole `fit`: vocabularies, batching, training and the choice of
            weights), `epochs_` (epochs run),
            `kept_weights_` (`"moving average"` or `"final"`, see `ema_momentum`) and
            `weight_losses_` (validation loss of both, when they were compared).
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
        for attr in (
            "model_",
            "history_",
            "training_time_",
            "epochs_",
            "kept_weights_",
            "weight_losses_",
        ):
            self.__dict__.pop(attr, None)
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
        model = TranslationModel(
            source_vectorizer,
            target_vectorizer,
            cell=self.cell,
            units=self.units,
            encoder_units=self.encoder_units or max(1, self.units // 2),
            embedding_dim=self.embedding_dim,
            num_layers=self.num_layers,
            attention=self.attention_type,
            dropout=self.dropout,
            teacher_forcing=self.teacher_forcing,
            max_length=self.max_length,
            tie_embeddings=self.tie_embeddings,
            sampled_softmax=self.sampled_softmax,
            label_smoothing=self.label_smoothing,
            name="translation_model",
        )
        model.build()
        model.compile(
            optimizer=self._optimizer(self.learning_rate, self.clipnorm),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=_PAD),
        )
        self.model_ = model
        train_ds = self._batches(sources, targets, train=True)
        val_ds = self._batches(*validation, train=False) if validation else None
        budget = None
        if self.time_budget:
            # What is left of the budget once the vocabularies and batches are built.
            budget = max(1e-3, self.time_budget - (time.perf_counter() - start))
        with warnings.catch_warnings():
            # `batch_tensors` states its number of batches per epoch; should Keras still count
            # differently, its "ran out of data" would be noise: every epoch sees every pair.
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            average = MovingAverage(self.ema_momentum) if self.ema_momentum else None
            history = self._fit_model(model, train_ds, val_ds, average, budget)
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        self.epochs_ = len(history.epoch)
        self.kept_weights_ = "final"
        self.weight_losses_ = {}
        if average is not None:
            self._keep_better_weights(average, val_ds)
        self.training_time_ = time.perf_counter() - start
        return self

    def _keep_better_weights(self, average: MovingAverage, val_ds: tf.data.Dataset | None) -> None:
        # Polyak averaging: the moving average of the weights usually scores better than the
        # last weights (it smooths the last steps' noise). With validation data both (the
        # final ones possibly restored by early stopping) are scored and the better kept; the
        # time counts as training time.
        model = self.model_
        if val_ds is None:
            MovingAverage.assign(model, average.average())
            self.kept_weights_ = "moving average"
            return
        candidates = {"final": MovingAverage.weights(model), "moving average": average.average()}
        losses = {}
        for name, arrays in candidates.items():
            MovingAverage.assign(model, arrays)
            losses[name] = self._token_loss(val_ds)
        self.kept_weights_ = min(losses, key=losses.get)
        self.weight_losses_ = losses
        MovingAverage.assign(model, candidates[self.kept_weights_])
        if self.verbose:
            report = ", ".join(f"{name} {loss:.4f}" for name, loss in losses.items())
            print(f"Validation loss of the weights: {report}; kept: {self.kept_weights_}.")

    def _fit_model(self, model, train_ds, val_ds, average, budget):
        callbacks = self._callbacks(
            has_validation=val_ds is not None,
            patience=self.patience,
            user_callbacks=self.callbacks,
            time_budget=budget,
        )
        if average is not None:
            # First, so that it folds in the last trained weights before EarlyStopping's
            # `on_train_end` restores those of the best epoch.
            callbacks.insert(0, average)
        if self.learning_rate_decay == "linear":
            decay = LinearDecay(self.learning_rate, self.epochs, budget, _LINEAR_HOLD)
            callbacks.insert(0, decay)
        elif self.learning_rate_cooldown:
            decay = LinearDecay(
                self.learning_rate,
                self.epochs,
                budget,
                hold=1.0 - self.learning_rate_cooldown,
                epoch_decay=self.learning_rate_decay,
            )
            callbacks.insert(0, decay)
        elif self.learning_rate_decay != 1:
            rate, decay = float(self.learning_rate), float(self.learning_rate_decay)
            callbacks.insert(
                0, keras.callbacks.LearningRateScheduler(lambda epoch: rate * decay**epoch)
            )
        return model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=self.epochs,
            shuffle=False,  # the dataset reshuffles itself every epoch
            verbose=self.verbose,
            callbacks=callbacks,
        )

    # -- decoding -------------------------------------------------------------------------------
    def _decoder(self, beam_width: int, length_penalty: float):
        """The compiled `tf.function` strings -> translations for these settings (cached)."""

        def build(model):
            @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
            def decode(text):
                return model.translate_text(text, beam_width, length_penalty)

            return decode

        return self._graph_function(("decode", beam_width, float(length_penalty)), build)

    def _decode_options(self, beam_width: int | None, length_penalty: float | None):
        beam_width = self.beam_width if beam_width is None else beam_width
        length_penalty = self.length_penalty if length_penalty is None else length_penalty
        check_positive_int(beam_width, "beam_width")
        check_number(length_penalty, "length_penalty", strict=False)
        return int(beam_width), float(length_penalty)

    def _warn_long(self, texts: list[str]) -> None:
        lengths = self.model_.source_vectorizer.tokenize(tf.constant(texts)).row_lengths().numpy()
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
            real = tf.cast(tf.not_equal(target_out, _PAD), "float32")
            return tf.reduce_sum(losses * real), tf.reduce_sum(real)

        total, count = 0.0, 0.0
        for inputs, target_out in batches:
            batch_total, batch_count = batch_loss(inputs, target_out)
            total += float(batch_total)
            count += float(batch_count)
        return total / max(count, 1.0)

    def attention(
        self,
        texts: Any,
        *,
        beam_width: int | None = None,
        length_penalty: float | None = None,
    ) -> list[dict[str, Any]]:
        """Translates `texts` and returns where the decoder looked for each output token.

        Args:
            texts: source sentences.
            beam_width: as in `translate`.
            length_penalty: as in `translate`.

        Returns:
            One dict per text: `"source_tokens"` (list of `S` source tokens after
            standardisation), `"target_tokens"` (the `T` output tokens, `"[END]"` last) and
            `"weights"` (`np.ndarray [T, S]`, row `t` the attention of output token `t` over the
            source tokens; each row sums to 1). An empty text gives empty lists and a `[0, 0]`
            array.
        """
        self._check_fitted()
        texts = as_text_list(texts, "texts")
        beam_width, length_penalty = self._decode_options(beam_width, length_penalty)
        if not texts:
            return []
        self._warn_long(texts)
        model = self.model_
        source_ids = model.clip_source(model.source_vectorizer(tf.constant(texts)))
        result = model.translate_ids(source_ids, beam_width, length_penalty)
        tokens = result.tokens
        target_in = tf.concat([tf.fill([tf.shape(tokens)[0], 1], _START), tokens[:, :-1]], 1)
        weights = ops.convert_to_numpy(model.attention_weights(source_ids, target_in))
        target_vocabulary = model.target_vectorizer.get_vocabulary()
        source_ids, tokens = source_ids.numpy(), tokens.numpy()
        lengths = result.lengths.numpy()
        out = []
        for i in range(len(texts)):
            source_length = int((source_ids[i] != _PAD).sum())
            # The words themselves (unknown ones too, not "[UNK]"), after standardisation.
            source_tokens = model.source_vectorizer.tokenize(tf.constant([texts[i]]))
            source_tokens = [t.decode("utf-8") for t in source_tokens[0].numpy().tolist()]
            source_tokens = source_tokens[: self.max_length]
            if source_length == 0:
                out.append({"source_tokens": [], "target_tokens": [], "weights": np.zeros((0, 0))})
                continue
            target_length = int(lengths[i])
            out.append(
                {
                    "source_tokens": source_tokens[:source_length],
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
        ax.set_xticks(range(weights.shape[1]), item["source_tokens"], rotation=60, ha="right")
        ax.set_yticks(range(weights.shape[0]), item["target_tokens"])
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
            beam_width: beam width built into the export (fixed there); default
                `self.beam_width` (4 unless set).

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
            return {"translation": model.translate_text(text, beam_width, length_penalty)}

        return {"serving_default": (serve, [tf.TensorSpec([None], tf.string, name="text")])}
