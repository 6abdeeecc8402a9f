"""Encoder-decoder with attention: teacher-forced training and in-graph generation."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from rnnkit.checks import check_fraction, check_positive_int
from rnnkit.generation import beam_search, greedy_search, tile_beams
from rnnkit.losses import sampled_softmax_loss, smoothed_cross_entropy

# rnnkit.data's reserved ids: padding, [UNK], [START], [END].
_PAD, _UNK, _START, _END = 0, 1, 2, 3
_NEG = -1e9


def _deserialize(value):
    return keras.saving.deserialize_keras_object(value) if isinstance(value, dict) else value


@keras.saving.register_keras_serializable(package="rnnkit")
class EncoderDecoder(keras.Model):
    """Any encoder plus an `rnnkit.layers.AttentionDecoder`, trained by teacher forcing.

    The encoder is any layer whose `call(inputs, training=False)` returns
    `(memory [B, S, D], attention_mask [B, S] or None, initial_states)`, `initial_states` holding
    one tuple of the decoder's states per decoder layer (`rnnkit.models.TextEncoder` for
    text, `rnnkit.models.ImageEncoder` for images). It may define `generation_limit(inputs)`
    (most tokens worth generating) and `example_inputs()` (a tiny batch that builds every
    weight).

    `model((inputs, target_in))` gives teacher-forced logits `[B, T, V]`; `generate` decodes
    with greedy or beam search in the graph. The decoder never outputs padding, `[UNK]` or
    `[START]` (ids 0-2).

    Training (`fit`) uses Keras's step unless `sampled_softmax` or `label_smoothing` is set:
    then each target word is scored against `sampled_softmax` words drawn per batch
    (`rnnkit.losses.sampled_softmax_loss`) on real (non-padding) positions, with label
    smoothing when set. Validation loss, `evaluate` and decoding always use the full softmax.
    Set `train_with_compiled_loss = True` to train with the loss given to `compile` instead.

    Args:
        encoder: the encoder layer.
        decoder: an `rnnkit.layers.AttentionDecoder`.
        max_length: most tokens generated (+1 for the end token).
        sampled_softmax: words drawn per batch for the sampled softmax; None: full softmax.
        label_smoothing: share of the training target spread over the other words.
        teacher_forcing: share of training steps fed the reference previous token; below 1
            the others get the model's own previous prediction (scheduled sampling, a
            step-by-step decoder in training: slower).
        preprocessor: optional layer from raw inputs (strings, images) to encoder inputs,
            used by `generate_text`.
        target_vectorizer: optional `rnnkit.data.TextVectorizer` (with `start_end=True`) that
            turns generated ids back into text in `generate_text`.
        **kwargs: base `keras.Model` arguments.

    Example:
    >>> from rnnkit.layers import AttentionDecoder
    >>> from rnnkit.models import TextEncoder
    >>> model = EncoderDecoder(
    ...     TextEncoder(12, units=4, embedding_dim=4, decoder_units=8),
    ...     AttentionDecoder(9, units=8, embedding_dim=4),
    ...     max_length=5,
    ... )
    >>> model((keras.ops.array([[4, 5]]), keras.ops.array([[2, 6, 7]]))).shape
    TensorShape([1, 3, 9])
    >>> model.generate(tf.constant([[4, 5]]), beam_width=2).tokens.shape[0]
    1
    """

    def __init__(
        self,
        encoder,
        decoder,
        max_length=50,
        sampled_softmax=None,
        label_smoothing=0.0,
        teacher_forcing=1.0,
        preprocessor=None,
        target_vectorizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int(max_length, "max_length")
        check_positive_int(sampled_softmax, "sampled_softmax", allow_none=True)
        check_fraction(label_smoothing, "label_smoothing")
        check_fraction(teacher_forcing, "teacher_forcing", upper_inclusive=True)
        if teacher_forcing == 0:
            raise ValueError(
                "`teacher_forcing` must be > 0: with 0 the decoder never sees a reference "
                "token (use 1.0 for plain teacher forcing, e.g. 0.8 for scheduled sampling)."
            )
        self.encoder = _deserialize(encoder)
        self.decoder = _deserialize(decoder)
        self.preprocessor = _deserialize(preprocessor)
        self.target_vectorizer = _deserialize(target_vectorizer)
        self.max_length = int(max_length)
        self.sampled_softmax = sampled_softmax
        self.label_smoothing = float(label_smoothing)
        self.teacher_forcing = float(teacher_forcing)
        self.train_with_compiled_loss = False
        banned = np.zeros([self.decoder.vocabulary_size], "float32")
        banned[[_PAD, _UNK, _START]] = _NEG
        self._banned = banned

    def build(self, input_shape=None):
        # Runs the network once on a tiny batch so every sublayer creates its weights.
        if hasattr(self.encoder, "example_inputs"):
            inputs = self.encoder.example_inputs()
        else:
            shape = [1 if d is None else d for d in input_shape[0]]
            inputs = ops.ones(shape, dtype="int32")
        self._teacher_forced(inputs, ops.ones((1, 2), dtype="int32"), training=False)
        self.built = True

    # -- teacher forcing ------------------------------------------------------------------
    def _teacher_forced(self, inputs, target_in, training=False):
        memory, mask, states = self.encoder(inputs, training=training)
        return self.decoder(target_in, memory, mask, states, training=training)

    def call(self, inputs, training=False):
        inputs, target_in = inputs
        if training and self.teacher_forcing < 1.0:
            return self._scheduled_sampling(inputs, target_in)
        return self._teacher_forced(inputs, target_in, training)[0]

    def attention_weights(self, inputs, target_in):
        """Teacher-forced attention weights `[B, T, S]` (rows sum to 1 over the memory)."""
        return self._teacher_forced(inputs, target_in)[1]

    def token_loss(self, batches):
        """Mean teacher-forced cross-entropy per real target token over `((inputs, target_in),
        target_out)` batches (exact over tokens, unlike Keras's mean of batch means)."""
        total, count = 0.0, 0.0
        for (inputs, target_in), target_out in batches:
            logits = tf.cast(self((inputs, target_in), training=False), "float32")
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(target_out, logits)
            real = tf.cast(tf.not_equal(target_out, _PAD), "float32")
            total += float(tf.reduce_sum(losses * real))
            count += float(tf.reduce_sum(real))
        return total / max(count, 1.0)

    def train_step(self, data):
        """Keras's training step, with a sampled softmax and label smoothing when set."""
        sampled = self.sampled_softmax and self.teacher_forcing >= 1.0
        if self.train_with_compiled_loss or (not sampled and not self.label_smoothing):
            return super().train_step(data)
        (inputs, target_in), target_out = data
        real = tf.not_equal(target_out, _PAD)
        labels = tf.boolean_mask(target_out, real)
        with tf.GradientTape() as tape:
            if sampled:
                memory, mask, states = self.encoder(inputs, training=True)
                attentional, _ = self.decoder.vectors(
                    target_in, memory, mask, states, training=True
                )
                weights, bias = self.decoder.output_weights()
                losses = sampled_softmax_loss(
                    weights,
                    bias,
                    labels,
                    tf.cast(tf.boolean_mask(attentional, real), "float32"),
                    num_sampled=min(self.sampled_softmax, self.decoder.vocabulary_size - 1),
                    label_smoothing=self.label_smoothing,
                )
            else:
                logits = self((inputs, target_in), training=True)
                logits = tf.cast(tf.boolean_mask(logits, real), "float32")
                losses = smoothed_cross_entropy(labels, logits, self.label_smoothing)
            loss = tf.reduce_mean(losses)
            self._loss_tracker.update_state(loss, sample_weight=tf.shape(labels)[0])
            scaled = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights, strict=True))
        return self.get_metrics_result()

    def _scheduled_sampling(self, inputs, target_in):
        # Step by step: each input is the reference token with probability `teacher_forcing`,
        # else the model's own prediction at the previous step (gradients stop there).
        memory, mask, states = self.encoder(inputs, training=True)
        keys = self.decoder.project_keys(memory)
        steps = tf.shape(target_in)[1]
        batch = tf.shape(target_in)[0]
        logits_ta = tf.TensorArray(self.compute_dtype, size=steps)

        def body(t, previous, states, logits_ta):
            reference = target_in[:, t]
            sampled = tf.cast(tf.argmax(previous, axis=-1), "int32")
            keep = tf.random.uniform([batch]) < self.teacher_forcing
            tokens = tf.where(keep | tf.equal(t, 0), reference, sampled)
            logits, states, _ = self.decoder.step(tokens, states, memory, keys, mask, True)
            return t + 1, tf.stop_gradient(logits), states, logits_ta.write(t, logits)

        first = tf.zeros([batch, self.decoder.vocabulary_size], self.compute_dtype)
        _, _, _, logits_ta = tf.while_loop(
            lambda t, *_: t < steps, body, (tf.constant(0), first, states, logits_ta)
        )
        return tf.transpose(logits_ta.stack(), [1, 0, 2])

    # -- generation (TensorFlow graph) -------------------------------------------------------
    def generate(
        self, inputs, beam_width=1, length_penalty=0.0, max_length=None, use_beam_search=None
    ):
        """Decodes a batch of encoder inputs in the graph.

        Args:
            inputs: a batch of encoder inputs (e.g. int32 `[B, S]` ids, right-padded with 0).
            beam_width: 1 for greedy search, more for beam search (a Python int).
            length_penalty: GNMT length penalty `alpha` of beam search.
            max_length: most tokens generated; by default the encoder's
                `generation_limit(inputs)` (if it has one), at most `self.max_length + 1`.
            use_beam_search: force (True) or avoid (False, needs `beam_width=1`) beam search;
                by default beam search runs when `beam_width > 1`.

        Returns:
            An `rnnkit.generation.SearchResult` of the best hypothesis per input: `tokens`
            `[B, T]` (ending with the end id 3, then 0), `lengths`, `log_probs`, `scores` `[B]`.
        """
        limit = self.max_length + 1
        if max_length is None:
            max_length = limit
            if hasattr(self.encoder, "generation_limit"):
                max_length = tf.minimum(self.encoder.generation_limit(inputs), limit)
        memory, mask, states = self.encoder(inputs)
        batch = tf.shape(memory)[0]
        keys = self.decoder.project_keys(memory)
        banned = tf.constant(self._banned)
        context = (memory, keys, mask)
        if beam_width > 1:
            context = tile_beams(context, beam_width)

        def step(tokens, states):
            logits, states, _ = self.decoder.step(tokens, states, *context)
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

    def generate_text(self, raw_inputs, beam_width=1, length_penalty=0.0):
        """Raw inputs -> `tf.string [B]` of generated tokens joined by spaces, in the graph.

        Needs `preprocessor` and `target_vectorizer`.
        """
        if self.preprocessor is None or self.target_vectorizer is None:
            raise ValueError(
                "`generate_text` needs the model's `preprocessor` and `target_vectorizer`; "
                "pass them to `EncoderDecoder`, or call `generate` on encoder inputs."
            )
        result = self.generate(self.preprocessor(raw_inputs), beam_width, length_penalty)
        return self.target_vectorizer.decode(result.tokens)

    def get_config(self):
        config = {
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "max_length": self.max_length,
            "sampled_softmax": self.sampled_softmax,
            "label_smoothing": self.label_smoothing,
            "teacher_forcing": self.teacher_forcing,
            "preprocessor": (
                None
                if self.preprocessor is None
                else keras.saving.serialize_keras_object(self.preprocessor)
            ),
            "target_vectorizer": (
                None
                if self.target_vectorizer is None
                else keras.saving.serialize_keras_object(self.target_vectorizer)
            ),
        }
        return {**super().get_config(), **config}
