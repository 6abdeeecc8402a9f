"""TextEncoder, AttentionDecoder and EncoderDecoder: equivalences and round trips, untrained."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnkit.layers import AttentionDecoder
from rnnkit.models import EncoderDecoder, TextEncoder

SOURCE = tf.constant([[4, 5, 6, 7], [8, 4, 0, 0]])
TARGET_IN = tf.constant([[2, 4, 5, 6, 7], [2, 8, 0, 0, 0]])


def _model(cell="gru", num_layers=1, attention="luong", tie=False, **kwargs):
    keras.utils.set_random_seed(1)
    model = EncoderDecoder(
        TextEncoder(
            12, cell=cell, units=4, embedding_dim=5, num_layers=num_layers, decoder_units=6
        ),
        AttentionDecoder(
            10,
            cell=cell,
            units=6,
            embedding_dim=5,
            num_layers=num_layers,
            attention=attention,
            tie_embeddings=tie,
        ),
        max_length=6,
        **kwargs,
    )
    model.build()
    return model


@pytest.mark.parametrize(
    "cell, num_layers, attention, tie",
    [("gru", 1, "luong", False), ("lstm", 2, "bahdanau", True), ("gru", 2, "luong", True)],
)
def test_teacher_forcing_equals_the_step_decoder(cell, num_layers, attention, tie):
    model = _model(cell, num_layers, attention, tie)
    full = model((SOURCE, TARGET_IN)).numpy()
    memory, mask, states = model.encoder(SOURCE)
    assert len(states) == num_layers and len(states[0]) == (2 if cell == "lstm" else 1)
    keys = model.decoder.project_keys(memory)
    for t in range(TARGET_IN.shape[1]):
        logits, states, _ = model.decoder.step(TARGET_IN[:, t], states, memory, keys, mask)
        np.testing.assert_allclose(logits[0].numpy(), full[0, t], atol=1e-5)
        if t < 2:  # row 1 is padding after two tokens
            np.testing.assert_allclose(logits[1].numpy(), full[1, t], atol=1e-5)


def test_beam_of_one_is_greedy_and_wider_beams_score_at_least_as_well():
    model = _model()
    greedy = model.generate(SOURCE, 1)
    beam = model.generate(SOURCE, 1, use_beam_search=True)
    np.testing.assert_array_equal(beam.tokens.numpy(), greedy.tokens.numpy())
    wide = model.generate(SOURCE, 4, max_length=5)
    narrow = model.generate(SOURCE, 1, max_length=5)
    assert (wide.log_probs.numpy() >= narrow.log_probs.numpy() - 1e-5).all()
    # the decoder never outputs padding (before the end), [UNK] or [START]
    tokens = greedy.tokens.numpy()
    assert not np.isin(tokens, [1, 2]).any()


def test_generation_limit_and_max_length():
    model = _model()
    result = model.generate(SOURCE, 1)
    assert result.tokens.shape[1] <= 7  # max_length + 1 for the end token
    assert model.generate(SOURCE, 1, max_length=3).tokens.shape[1] <= 3


def test_config_and_keras_file_round_trip(tmp_path):
    model = _model(sampled_softmax=5, label_smoothing=0.1)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, EncoderDecoder)
    assert loaded.sampled_softmax == 5 and loaded.label_smoothing == pytest.approx(0.1)
    np.testing.assert_allclose(
        loaded((SOURCE, TARGET_IN)).numpy(), model((SOURCE, TARGET_IN)).numpy(), atol=1e-6
    )
    np.testing.assert_array_equal(
        loaded.generate(SOURCE, 3).tokens.numpy(), model.generate(SOURCE, 3).tokens.numpy()
    )


def test_bad_settings_name_the_argument():
    with pytest.raises(ValueError, match="`teacher_forcing` must be > 0"):
        _model(teacher_forcing=0.0)
    with pytest.raises(ValueError, match="`cell` must be one of"):
        AttentionDecoder(10, cell="rnn")
    with pytest.raises(ValueError, match="`vocabulary_size`"):
        TextEncoder(1)
    with pytest.raises(ValueError, match="`generate_text` needs"):
        _model().generate_text(tf.constant(["a"]))
