"""One-to-many: image captioning with attention over a CNN's feature grid.

`ImageCaptioner` composes public rnnkit parts: an `rnnkit.models.ImageEncoder` (a small CNN,
a `keras.applications` backbone or the user's own model), the `rnnkit.layers.AttentionDecoder`
and the `rnnkit.models.EncoderDecoder` that joins them and generates with greedy or beam
search in the TensorFlow graph, trained by `rnnkit.training.Trainer`. The exported SavedModel
takes `uint8` images of any size and returns captions, with no rnnkit needed.

Example:
>>> from pipelines import ImageCaptioner
>>> from rnnkit import datasets
>>> images, captions = datasets.captioned_shapes(8, image_size=16)
>>> cap = ImageCaptioner(filters=(4,), units=8, embedding_dim=8, epochs=1, verbose=0, seed=0)
>>> len(cap.fit(images, captions).caption(images[:2], beam_width=2))
2
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnnkit import data
from rnnkit.checks import (
    as_images,
    as_reference_lists,
    check_callbacks,
    check_choice,
    check_fraction,
    check_learning_rate,
    check_number,
    check_positive_int,
    check_same_length,
    check_vocabulary_size,
)
from rnnkit.layers import RECURRENT_LAYERS, AttentionDecoder
from rnnkit.metrics import corpus_bleu
from rnnkit.models import EncoderDecoder, ImageEncoder
from rnnkit.training import LinearDecay, Task, Trainer

__all__ = ["ImageCaptioner"]

_FILE_SIZE = (128, 128)  # images read from files, when `image_size` is None
_SCHEDULES = ("linear", "constant")
_IMAGE_SPEC = tf.TensorSpec([None, None, None, 3], tf.uint8, name="image")


def _caption_images(model: EncoderDecoder, images, beam_width: int, length_penalty: float):
    """`uint8 [B, H, W, 3]` images -> `tf.string [B]` captions, in the graph."""
    # Checked at run time too: a SavedModel signature feeds any shape through.
    images = tf.ensure_shape(images, [None, None, None, 3])
    size = tf.shape(images)[1:3]
    check = tf.debugging.assert_positive(
        size, message="`image` has zero height or width: every image needs at least one pixel"
    )
    with tf.control_dependencies([check]):
        images = tf.identity(images)
    result = model.generate(images, beam_width, length_penalty)
    return data.detokenize(model.target_vectorizer.decode(result.tokens))


def _as_images(images: Any, name: str, size: tuple[int, int] | None) -> np.ndarray:
    """uint8 arrays `[N, H, W, 3]`, or image paths read at `size`."""
    if isinstance(images, str | os.PathLike):
        raise TypeError(f"`{name}` must be a list of images or image paths, not one path.")
    if isinstance(images, list | tuple) and images and isinstance(images[0], str | os.PathLike):
        return data.load_images(images, size or _FILE_SIZE)
    return as_images(images, name)


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


class ImageCaptioner(Task):
    """Image captioner: CNN feature grid, attentional recurrent decoder, beam search in the graph.

    `fit` learns the caption vocabulary, pairs each image with each of its reference captions,
    batches them by caption length (`rnnkit.data.batch_tensors(lengths=...)`) and trains an
    `rnnkit.models.EncoderDecoder` of an `ImageEncoder` and an `AttentionDecoder` by teacher
    forcing through `rnnkit.training.Trainer` (Adam with gradient clipping; the learning rate
    held, then decayed linearly to 0 at the end of the run, which the first of `epochs` and
    `time_budget` ends). `caption` decodes with greedy search (`beam_width=1`) or beam search;
    `export` writes a SavedModel whose `serving_default(image)` returns exactly what
    `caption` returns. Captions come out lower-cased. The defaults train in under 10 minutes
    on 2 CPU cores (docs/experiments/captioning.md has the measurements behind them).

    Args:
        image_size: `(height, width)` the encoder sees; images of other sizes are resized in
            the graph. None: the size of the training images (arrays), 128 x 128 for files.
        backbone: `"cnn"`, a `keras.applications` name or a Keras model (see `ImageEncoder`).
        backbone_weights: a weights file for the backbone (never downloaded); None: random.
        filters: filters per block of the built-in CNN.
        freeze_encoder: keep the backbone's weights fixed.
        rescale: pixel scaling for the backbone (`"unit"`, `"symmetric"`, `"raw"`).
        encoder_units: size of the memory vectors (one per grid cell).
        grid_rnn: a recurrent layer name: a bidirectional one reads the grid cells column by
            column first (see `ImageEncoder`); None: no.
        cell: recurrent layer of the decoder (`rnnkit.layers.RECURRENT_LAYERS`).
        units: units of the decoder.
        embedding_dim: size of the word vectors.
        attention_type: `"luong"` or `"bahdanau"`.
        vocabulary_size: most frequent caption words kept (4 reserved ids included).
        max_length: training captions are cut to this many words; also the longest output.
        dropout: dropout on the memory, the word vectors and the attentional vector.
        optimizer: `"auto"` (Adam with `learning_rate` and `clipnorm`), a name or an optimizer.
        loss: `"auto"` (cross-entropy over real caption tokens) or a Keras loss / callable.
        learning_rate: the rate held for the first `learning_rate_hold` of the run.
        learning_rate_schedule: `"linear"` (held, then linearly to 0) or `"constant"`; a
            `keras.optimizers.Optimizer` passed as `optimizer` keeps its own rate.
        learning_rate_hold: share of the run at the full rate with `"linear"`.
        clipnorm: gradient clipping norm of `"auto"`; None or 0: off.
        epochs: most training epochs.
        batch_size: (image, caption) pairs per batch.
        patience: epochs without a better validation loss before stopping (needs
            `validation_data`); None: no early stopping.
        beam_width: default beam width of `caption`, `evaluate`, `attention` and `export`.
        length_penalty: GNMT length penalty `alpha` of beam search.
        seed: seed for weights and shuffling; None is not reproducible.
        time_budget: stop training this many seconds after `fit` starts; None: no limit.
        callbacks: extra Keras callbacks for `fit`.
        verbose: Keras `fit` verbosity.
    """

    def __init__(
        self,
        *,
        image_size: tuple[int, int] | None = None,
        backbone: Any = "cnn",
        backbone_weights: str | None = None,
        filters: Sequence[int] = (32, 64, 128),
        freeze_encoder: bool = False,
        rescale: str = "unit",
        encoder_units: int = 128,
        grid_rnn: str | None = "gru",
        cell: str = "gru",
        units: int = 256,
        embedding_dim: int = 64,
        attention_type: str = "luong",
        vocabulary_size: int = 5000,
        max_length: int = 30,
        dropout: float = 0.2,
        optimizer: Any = "auto",
        loss: Any = "auto",
        learning_rate: float = 2e-3,
        learning_rate_schedule: str = "linear",
        learning_rate_hold: float = 0.5,
        clipnorm: float | None = 1.0,
        epochs: int = 40,
        batch_size: int = 32,
        patience: int | None = None,
        beam_width: int = 3,
        length_penalty: float = 0.0,
        seed: int | None = None,
        time_budget: float | None = 540.0,
        callbacks: Sequence[keras.callbacks.Callback] | None = None,
        verbose: int | str = "auto",
    ):
        self.image_size = image_size
        self.backbone = backbone
        self.backbone_weights = backbone_weights
        self.filters = filters
        self.freeze_encoder = freeze_encoder
        self.rescale = rescale
        self.encoder_units = encoder_units
        self.grid_rnn = grid_rnn
        self.cell = cell
        self.units = units
        self.embedding_dim = embedding_dim
        self.attention_type = attention_type
        self.vocabulary_size = vocabulary_size
        self.max_length = max_length
        self.dropout = dropout
        self.optimizer = optimizer
        self.loss = loss
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.learning_rate_hold = learning_rate_hold
        self.clipnorm = clipnorm
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.beam_width = beam_width
        self.length_penalty = length_penalty
        self.seed = seed
        self.time_budget = time_budget
        self.callbacks = callbacks
        self.verbose = verbose

    def _check_params(self) -> None:
        check_choice(self.cell, "cell", list(RECURRENT_LAYERS))
        check_choice(self.attention_type, "attention_type", ("luong", "bahdanau"))
        check_choice(self.learning_rate_schedule, "learning_rate_schedule", _SCHEDULES)
        for name in ("encoder_units", "units", "embedding_dim", "max_length", "epochs"):
            check_positive_int(getattr(self, name), name)
        for name in ("batch_size", "beam_width"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.patience, "patience", allow_none=True)
        check_vocabulary_size(self.vocabulary_size, "vocabulary_size")
        check_fraction(self.dropout, "dropout")
        check_fraction(self.learning_rate_hold, "learning_rate_hold")
        check_learning_rate(self.learning_rate)
        check_number(self.length_penalty, "length_penalty", strict=False)
        if self.clipnorm is not None:
            check_number(self.clipnorm, "clipnorm", strict=False)
        if self.time_budget is not None:
            check_number(self.time_budget, "time_budget")
        check_callbacks(self.callbacks)

    # -- data -----------------------------------------------------------------------------
    def _batches(self, images: np.ndarray, references: list[list[str]], *, train: bool):
        """Every (image, reference) pair, batched by caption length."""
        index = np.repeat(np.arange(len(images)), [len(r) for r in references])
        captions = [c for refs in references for c in refs]
        target = tf.RaggedTensor.from_tensor(
            self.model_.target_vectorizer(tf.constant(captions)), padding=0
        )
        words = target[:, 1:-1][:, : self.max_length]  # keep the [END] of a cut caption
        ones = tf.ones([words.nrows(), 1], tf.int32)
        target = tf.concat([ones * data.START_ID, words, ones * data.END_ID], axis=1)
        return data.batch_tensors(
            ((images[index], target[:, :-1]), target[:, 1:]),
            self.batch_size,
            lengths=target.row_lengths().numpy() - 1,
            shuffle=train,
            seed=self.seed,
        )

    def _make_model(self, vectorizer: data.TextVectorizer) -> EncoderDecoder:
        encoder = ImageEncoder(
            self.image_size_,
            backbone=self.backbone,
            weights=self.backbone_weights,
            filters=self.filters,
            units=self.encoder_units,
            decoder_units=self.units,
            cell=self.cell,
            freeze_encoder=self.freeze_encoder,
            rescale=self.rescale,
            dropout=self.dropout,
            grid_rnn=self.grid_rnn,
            name="encoder",
        )
        decoder = AttentionDecoder(
            vectorizer.vocabulary_size,
            cell=self.cell,
            units=self.units,
            embedding_dim=self.embedding_dim,
            attention=self.attention_type,
            dropout=self.dropout,
            name="decoder",
        )
        model = EncoderDecoder(
            encoder,
            decoder,
            max_length=self.max_length,
            target_vectorizer=vectorizer,
            name="captioning_model",
        )
        model.build()
        return model

    # -- estimator API --------------------------------------------------------------------
    def fit(
        self, images: Any, captions: Any, *, validation_data: tuple[Any, Any] | None = None
    ) -> ImageCaptioner:
        """Learns the vocabulary and trains the captioner.

        Args:
            images: uint8 array `[N, H, W, 3]`, a list of such images, or image paths.
            captions: per image one caption (`str`) or several (list of `str`).
            validation_data: `(images, captions)` for the validation loss (and `patience`).

        Returns:
            `self`, fitted: `model`, `history_`, `training_time_` (seconds of the whole
            `fit`), `epochs_` (epochs run) and `image_size_`.
        """
        self._check_params()
        start = time.perf_counter()
        size = tuple(self.image_size) if self.image_size else None
        images = _as_images(images, "images", size)
        references = as_reference_lists(captions, "captions")
        check_same_length(images, references, "images", "captions")
        for attr in ("model_", "history_", "training_time_", "epochs_"):
            self.__dict__.pop(attr, None)
        self.image_size_ = size or tuple(int(d) for d in images.shape[1:3])
        validation = None
        if validation_data is not None:
            if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
                raise TypeError("`validation_data` must be a pair `(images, captions)`.")
            validation = (
                _as_images(validation_data[0], "validation_data[0]", self.image_size_),
                as_reference_lists(validation_data[1], "validation_data[1]"),
            )
            check_same_length(*validation, "validation_data[0]", "validation_data[1]")
        self._seed()
        vectorizer = data.TextVectorizer(
            max_tokens=self.vocabulary_size, start_end=True, name="caption_vectorizer"
        )
        vectorizer.adapt([c for refs in references for c in refs])
        trainer = Trainer(
            optimizer=self.optimizer,
            loss=self.loss,
            learning_rate=self.learning_rate,
            clipnorm=self.clipnorm,
            epochs=self.epochs,
            patience=self.patience,
            time_budget=self.time_budget,
            start=start,
            callbacks=self.callbacks,
            verbose=self.verbose,
        )
        model = trainer.build(
            lambda: self._make_model(vectorizer),
            loss=keras.losses.SparseCategoricalCrossentropy(
                from_logits=True, ignore_class=data.PAD_ID
            ),
        )
        model.train_with_compiled_loss = trainer.custom_loss
        self.model_ = model
        schedule = []
        # A user's optimizer object keeps its own rate (and schedule, if it has one).
        own = isinstance(self.optimizer, keras.optimizers.Optimizer)
        if self.learning_rate_schedule == "linear" and not own:
            rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
            budget = trainer.remaining_budget()
            schedule = [LinearDecay(rate, self.epochs, budget, self.learning_rate_hold)]
        train_ds = self._batches(images, references, train=True)
        val_ds = self._batches(*validation, train=False) if validation else None
        history = trainer.fit(model, train_ds, val_ds, first_callbacks=schedule)
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        self.epochs_ = len(history.epoch)
        self.training_time_ = time.perf_counter() - start
        return self

    def _options(self, beam_width: int | None) -> int:
        beam_width = self.beam_width if beam_width is None else beam_width
        check_positive_int(beam_width, "beam_width")
        return int(beam_width)

    def caption(
        self, images: Any, *, beam_width: int | None = None, batch_size: int = 64
    ) -> list[str]:
        """Captions images.

        Args:
            images: uint8 array `[N, H, W, 3]` (any size: resized in the graph), a list of
                such images, or image paths.
            beam_width: 1 for greedy search, more for beam search; default `self.beam_width`.
            batch_size: images decoded per graph call.

        Returns:
            One lower-cased caption per image.
        """
        self._check_fitted()
        images = _as_images(images, "images", self.image_size_)
        check_positive_int(batch_size, "batch_size")
        beam_width, alpha = self._options(beam_width), float(self.length_penalty)

        def build(model):
            @tf.function(input_signature=[_IMAGE_SPEC], autograph=False)
            def decode(image):
                return _caption_images(model, image, beam_width, alpha)

            return decode

        decode = self._graph_function(("caption", beam_width, alpha), build)
        out: list[str] = []
        for i in range(0, len(images), batch_size):
            batch = decode(tf.constant(images[i : i + batch_size]))
            out.extend(t.decode("utf-8") for t in batch.numpy().tolist())
        return out

    def evaluate(
        self, images: Any, references: Any, *, beam_width: int | None = None
    ) -> dict[str, float]:
        """Scores the captions of `images` against one or several references each.

        Returns:
            `bleu_1` ... `bleu_4` (sacrebleu corpus BLEU / 100, lower-cased), `bleu` (=
            `bleu_4`), `exact` (share of captions equal to one of their references, case and
            spacing aside) and `loss` (teacher-forced cross-entropy per caption token).
        """
        self._check_fitted()
        images = _as_images(images, "images", self.image_size_)
        references = as_reference_lists(references, "references")
        check_same_length(images, references, "images", "references")
        hypotheses = self.caption(images, beam_width=beam_width)
        lowered = [[_normal(r) for r in refs] for refs in references]
        scores = corpus_bleu(hypotheses, lowered)
        exact = np.mean([_normal(h) in refs for h, refs in zip(hypotheses, lowered, strict=True)])
        loss = self.model_.token_loss(self._batches(images, references, train=False))
        return {"bleu": scores["bleu_4"], **scores, "exact": float(exact), "loss": loss}

    def attention(self, image: Any, *, beam_width: int | None = None) -> dict[str, Any]:
        """Captions one image and returns where the decoder looked for each word.

        Args:
            image: one uint8 image `[H, W, 3]` (or an image path).
            beam_width: as in `caption`.

        Returns:
            `{"words": [...] (the caption's words, "[END]" last), "weights": np.ndarray
            [words, h, w] (attention over the feature grid, each map sums to 1),
            "image": the image as the encoder sees it (uint8 `image_size_`)}`.
        """
        self._check_fitted()
        one = [image] if isinstance(image, str | os.PathLike) else np.asarray(image)[None]
        images = _as_images(one, "image", self.image_size_)
        model = self.model_
        result = model.generate(tf.constant(images), self._options(beam_width), self.length_penalty)
        tokens = result.tokens
        target_in = tf.concat([tf.fill([1, 1], data.START_ID), tokens[:, :-1]], 1)
        weights = keras.ops.convert_to_numpy(model.attention_weights(images, target_in))
        length = int(result.lengths.numpy()[0])
        vocabulary = model.target_vectorizer.get_vocabulary()
        seen = model.encoder.preprocess(images) * 255.0
        return {
            "words": [vocabulary[t] for t in tokens.numpy()[0, :length]],
            "weights": weights[0, :length].reshape(length, *model.encoder.grid_shape()),
            "image": np.clip(np.round(keras.ops.convert_to_numpy(seen)[0]), 0, 255).astype("uint8"),
        }

    def plot_attention(
        self, image: Any, path: str | os.PathLike, *, beam_width: int | None = None
    ) -> str:
        """Draws the image once per generated word with its attention overlaid; saves a PNG.

        Returns:
            The path written.
        """
        from matplotlib.figure import Figure

        item = self.attention(image, beam_width=beam_width)
        weights = item["weights"]
        if weights.ndim != 3:
            raise ValueError("`plot_attention` needs a 2-D feature grid (the backbone's is 1-D).")
        height, width = item["image"].shape[:2]
        panels = len(item["words"])
        columns = min(panels, 6)
        rows = -(-panels // columns)
        scale = 2.2 / max(height, width) * max(width / height, 1.0)
        fig = Figure(figsize=(columns * width * scale, rows * (height * scale + 0.4)), dpi=120)
        axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
        for ax in axes:
            ax.axis("off")
        extent = (0, width, height, 0)
        for ax, word, grid in zip(axes, item["words"], weights, strict=False):
            ax.imshow(item["image"], extent=extent)
            ax.imshow(grid, cmap="magma", alpha=0.6, extent=extent, vmin=0, vmax=weights.max())
            ax.set_title(word, fontsize=10)
        fig.tight_layout()
        path = os.fspath(path)
        fig.savefig(path, format="png")
        return path

    # -- persistence / export -------------------------------------------------------------
    def _get_state(self) -> dict:
        return {
            "history": getattr(self, "history_", {}),
            "training_time": getattr(self, "training_time_", None),
            "epochs": getattr(self, "epochs_", None),
            "image_size": list(self.image_size_),
        }

    def _set_state(self, state: dict) -> None:
        self.history_ = state.get("history", {})
        self.image_size_ = tuple(state["image_size"])
        for key in ("training_time", "epochs"):
            if state.get(key) is not None:
                setattr(self, f"{key}_", state[key])

    def export(
        self, path: str | os.PathLike, *, overwrite: bool = False, beam_width: int | None = None
    ) -> str:
        """Exports a SavedModel: `serving_default(image: uint8[None, None, None, 3]) -> caption`.

        Resizing, encoder, decoder, search and detokenisation are all in the graph; it runs
        with plain TensorFlow and returns exactly what `caption` returns with the same beam
        width. A wrong rank, channel count or dtype, or a zero-sized image, fails with an
        `InvalidArgumentError` that says so.

        Args:
            path: folder to write.
            overwrite: replace an existing folder.
            beam_width: beam width built into the export; default `self.beam_width`.

        Returns:
            The path written.
        """
        self._check_fitted()
        self._export_beam = self._options(beam_width)
        try:
            return super().export(path, overwrite=overwrite)
        finally:
            del self._export_beam

    def _serving_endpoints(self) -> dict:
        beam_width = getattr(self, "_export_beam", self.beam_width)
        model, alpha = self.model_, float(self.length_penalty)

        def serve(image):
            return {"caption": _caption_images(model, image, beam_width, alpha)}

        return {"serving_default": (serve, [_IMAGE_SPEC])}
