"""ImageEncoder: the encoder contract over a feature grid, backbones, weights files, round trips."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnkit.layers import AttentionDecoder
from rnnkit.models import EncoderDecoder, ImageEncoder

IMAGES = np.random.default_rng(0).integers(0, 256, (2, 8, 12, 3)).astype("uint8")


def _encoder(**kwargs):
    keras.utils.set_random_seed(0)
    options = {"filters": (4, 8), "units": 6, "decoder_units": 5, **kwargs}
    return ImageEncoder((8, 12), **options)


def test_memory_is_the_feature_grid_with_states_for_every_decoder_layer():
    encoder = _encoder(num_layers=2, cell="lstm")
    memory, mask, states = encoder(IMAGES)
    # Two blocks: one 2x2 pooling, so a 4 x 6 grid of 6-vectors; no mask (every cell is real).
    assert tuple(memory.shape) == (2, 24, 6) and mask is None and encoder.grid_shape() == (4, 6)
    assert [len(s) for s in states] == [2, 2] and tuple(states[1][1].shape) == (2, 5)


def test_images_of_any_size_are_resized_in_the_graph():
    encoder = _encoder()
    exact = encoder(IMAGES)[0]
    # Resizing to the size images already have changes nothing ...
    np.testing.assert_allclose(encoder.preprocess(IMAGES) * 255.0, IMAGES, atol=1e-3)
    # ... and a larger image gives the same grid.
    larger = np.repeat(np.repeat(IMAGES, 2, axis=1), 3, axis=2)
    assert tuple(encoder(larger)[0].shape) == tuple(exact.shape)
    np.testing.assert_allclose(encoder(IMAGES.astype("float32"))[0], exact, atol=1e-5)


def test_a_users_model_as_backbone_and_freeze_encoder():
    def backbone():
        return keras.Sequential(
            [keras.Input((8, 12, 3)), keras.layers.Conv2D(3, 3, strides=2, padding="same")]
        )

    encoder = _encoder(backbone=backbone())
    assert tuple(encoder(IMAGES)[0].shape) == (2, 24, 6)
    frozen = _encoder(backbone=backbone(), freeze_encoder=True)
    frozen(IMAGES)
    trainable = {id(w) for w in frozen.trainable_weights}
    assert frozen.backbone.weights and not trainable & {id(w) for w in frozen.backbone.weights}
    assert {id(w) for w in frozen.projection.weights} <= trainable


def test_a_keras_application_with_the_users_weights_file(tmp_path):
    encoder = ImageEncoder((32, 32), backbone="MobileNetV3Small", rescale="raw", units=4)
    images = np.random.default_rng(1).integers(0, 256, (1, 32, 32, 3)).astype("uint8")
    features = encoder.backbone(encoder.preprocess(images))
    path = str(tmp_path / "backbone.weights.h5")
    encoder.backbone.save_weights(path)
    again = ImageEncoder(
        (32, 32), backbone="MobileNetV3Small", rescale="raw", units=4, weights=path
    )
    np.testing.assert_allclose(again.backbone(again.preprocess(images)), features, atol=1e-5)
    assert again.get_config()["weights"] is None  # the weights travel in the model file


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"backbone": "NoSuchNet"}, ValueError, "MobileNetV2"),
        ({"image_size": (0, 4)}, ValueError, "`image_size`"),
        ({"filters": ()}, ValueError, "`filters`"),
        ({"rescale": "half"}, ValueError, "`rescale`"),
        ({"weights": "missing.weights.h5"}, FileNotFoundError, "`weights`"),
    ],
)
def test_bad_settings_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        ImageEncoder(**{"image_size": (8, 8), **kwargs})


def test_bad_images_are_refused():
    with pytest.raises(ValueError, match=r"\[batch, height, width, 3\]"):
        _encoder()(IMAGES[0])


def test_encoder_decoder_over_images_saves_loads_and_beam_searches(tmp_path):
    encoder = _encoder()
    decoder = AttentionDecoder(9, units=5, embedding_dim=4)
    model = EncoderDecoder(encoder, decoder, max_length=4)
    model.build()
    images = tf.constant(IMAGES)
    greedy = model.generate(images).tokens.numpy()
    beam = model.generate(images, beam_width=3).tokens.numpy()
    one_beam = model.generate(images, 1, use_beam_search=True).tokens.numpy()
    np.testing.assert_array_equal(one_beam, greedy)
    assert beam.shape[0] == 2
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    np.testing.assert_array_equal(loaded.generate(images, beam_width=3).tokens.numpy(), beam)
    np.testing.assert_allclose(
        loaded.attention_weights(images, tf.constant([[2, 4], [2, 5]])),
        model.attention_weights(images, tf.constant([[2, 4], [2, 5]])),
        atol=1e-6,
    )


def test_grid_rnn_reads_columns_left_to_right():
    encoder = _encoder(grid_rnn="gru", units=4)
    memory = encoder(IMAGES)[0]
    assert tuple(memory.shape) == (2, 24, 4)
    # Changing the rightmost column of the grid changes the memory of the leftmost cells only
    # through the backward direction: the forward half of cell (0, 0) stays the same.
    changed = IMAGES.copy()
    changed[:, :, -2:] = 255
    other = encoder(changed)[0]
    np.testing.assert_allclose(other[:, 0, :2], memory[:, 0, :2], atol=1e-6)
    assert not np.allclose(other[:, 0, 2:], memory[:, 0, 2:])
    again = ImageEncoder.from_config(encoder.get_config())
    assert again.grid_rnn == "gru"


def test_token_loss_is_the_mean_over_real_tokens():
    model = EncoderDecoder(_encoder(), AttentionDecoder(9, units=5, embedding_dim=4), max_length=4)
    model.build()
    target_in = tf.constant([[2, 4, 5], [2, 6, 0]])
    target_out = tf.constant([[4, 5, 3], [6, 3, 0]])
    logits = model((tf.constant(IMAGES), target_in)).numpy()
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    picked = [log_p[b, t, target_out[b, t]] for b in range(2) for t in range(3) if (b, t) != (1, 2)]
    batches = [((tf.constant(IMAGES), target_in), target_out)]
    assert model.token_loss(batches) == pytest.approx(-np.mean(picked), rel=1e-5)
