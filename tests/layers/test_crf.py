"""CRF: exact checks against brute-force enumeration, training, saving and export."""

import itertools
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnkit.layers import CRF
from tests.helpers import assert_close, keras_round_trip, run_layer_test, run_without_rnnkit

NUM_TAGS = 3

# Right padding, no padding, left padding, holes, a single token, all padding.
MASKS = np.array(
    [
        [1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1],
        [0, 0, 1, 1, 1],
        [1, 0, 1, 0, 1],
        [0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0],
    ],
    dtype=bool,
)


def _crf(boundary, seed=0):
    crf = CRF(
        NUM_TAGS,
        use_boundary_transitions=boundary,
        transitions_initializer=keras.initializers.RandomNormal(seed=seed),
        boundary_initializer=keras.initializers.RandomNormal(seed=seed + 1),
    )
    crf.build((None, None, NUM_TAGS))
    return crf


def _enumerate(crf, potentials, mask):
    """Every tag sequence over the real positions of one row -> its score."""
    trans = keras.ops.convert_to_numpy(crf.transitions)
    if crf.use_boundary_transitions:
        start = keras.ops.convert_to_numpy(crf.start_transitions)
        end = keras.ops.convert_to_numpy(crf.end_transitions)
    else:
        start = end = np.zeros(NUM_TAGS)
    real = np.flatnonzero(mask)
    scores = {}
    for seq in itertools.product(range(NUM_TAGS), repeat=len(real)):
        if not seq:
            scores[seq] = 0.0
            continue
        score = start[seq[0]] + end[seq[-1]]
        score += sum(potentials[t, tag] for t, tag in zip(real, seq, strict=True))
        score += sum(trans[a, b] for a, b in zip(seq[:-1], seq[1:], strict=True))
        scores[seq] = score
    return real, scores


def _reference(crf, potentials, mask, tags):
    """Brute-force log Z, log-likelihood of `tags`, Viterbi path and marginals."""
    batch, steps, _ = potentials.shape
    log_z = np.zeros(batch)
    log_lik = np.zeros(batch)
    best = np.zeros((batch, steps), np.int32)
    marginals = np.zeros((batch, steps, NUM_TAGS))
    for b in range(batch):
        real, scores = _enumerate(crf, potentials[b].astype(np.float64), mask[b])
        values = np.array(list(scores.values()))
        log_z[b] = np.logaddexp.reduce(values) if real.size else 0.0
        log_lik[b] = scores[tuple(tags[b, real])] - log_z[b]
        best[b, real] = max(scores, key=scores.get)
        for seq, score in scores.items():
            marginals[b, real, list(seq)] += np.exp(score - log_z[b])
    return log_z, log_lik, best, marginals


@pytest.mark.parametrize("boundary", [True, False])
@pytest.mark.parametrize("steps", [1, 2, 5])
def test_crf_equals_brute_force_enumeration(boundary, steps):
    rng = np.random.default_rng(steps + 10 * boundary)
    crf = _crf(boundary, seed=steps)
    mask = MASKS[:, :steps]
    potentials = rng.normal(scale=2.0, size=(len(mask), steps, NUM_TAGS)).astype("float32")
    tags = rng.integers(0, NUM_TAGS, size=mask.shape)
    log_z, log_lik, best, marginals = _reference(crf, potentials, mask, tags)
    # Values at padding must not matter.
    noisy_tags = np.where(mask, tags, -1)

    assert_close(crf.log_partition(potentials, mask), log_z)
    assert_close(crf.log_likelihood(potentials, noisy_tags, mask), log_lik)
    decoded = keras.ops.convert_to_numpy(crf.decode(potentials, mask))
    assert decoded.dtype == np.int32
    np.testing.assert_array_equal(decoded, best)
    probs = keras.ops.convert_to_numpy(crf.marginals(potentials, mask))
    assert_close(probs, marginals)
    np.testing.assert_allclose(probs.sum(-1), mask.astype(float), atol=1e-5)
    assert (probs[~mask] == 0).all()


def test_no_mask_means_every_token_is_real_and_keras_mask_is_the_default():
    rng = np.random.default_rng(3)
    crf = _crf(True)
    potentials = rng.normal(size=(2, 4, NUM_TAGS)).astype("float32")
    full = np.ones((2, 4), bool)
    assert_close(crf.log_partition(potentials), crf.log_partition(potentials, full))
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], bool)
    masked = keras.ops.convert_to_tensor(potentials)
    masked._keras_mask = keras.ops.convert_to_tensor(mask)
    np.testing.assert_array_equal(crf.decode(masked), crf.decode(potentials, mask))
    assert_close(crf.log_partition(masked), crf.log_partition(potentials, mask))


def test_log_partition_gradient_is_the_marginals_and_gradients_are_finite():
    rng = np.random.default_rng(4)
    crf = _crf(True)
    mask = MASKS
    potentials = tf.constant(rng.normal(size=(len(mask), 5, NUM_TAGS)).astype("float32"))
    tags = rng.integers(0, NUM_TAGS, size=mask.shape)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(potentials)
        log_z = tf.reduce_sum(crf.log_partition(potentials, mask))
        nll = -tf.reduce_sum(crf.log_likelihood(potentials, tags, mask))
    # d log Z / d potentials[b, t, j] = P(tag_t = j): forward-backward equals autodiff.
    assert_close(tape.gradient(log_z, potentials), crf.marginals(potentials, mask))
    grads = tape.gradient(nll, [potentials, *crf.trainable_weights])
    for grad in grads:
        assert np.isfinite(keras.ops.convert_to_numpy(grad)).all()
        assert np.abs(keras.ops.convert_to_numpy(grad)).sum() > 0


def test_loss_with_and_without_keras_mask():
    rng = np.random.default_rng(5)
    crf = _crf(True)
    mask = MASKS[:5]
    potentials = rng.normal(size=(5, 5, NUM_TAGS)).astype("float32")
    tags = rng.integers(0, NUM_TAGS, size=mask.shape)
    expected = -np.mean(keras.ops.convert_to_numpy(crf.log_likelihood(potentials, tags, mask)))

    # Padding marked by -1 in y_true, no Keras mask.
    assert_close(crf.loss(np.where(mask, tags, -1), potentials), expected)
    # Padding marked only by the Keras mask of y_pred (y_true padded with a real tag).
    y_pred = keras.ops.convert_to_tensor(potentials)
    y_pred._keras_mask = keras.ops.convert_to_tensor(mask)
    assert_close(crf.loss(np.where(mask, tags, 0), y_pred), expected)
    # Both, and a [B, T, 1] y_true.
    assert_close(crf.loss(np.where(mask, tags, -1)[..., None], y_pred), expected)
    # Per-sequence sample weights.
    weights = np.array([1.0, 0.0, 2.0, 1.0, 0.5], "float32")
    per_seq = -keras.ops.convert_to_numpy(crf.log_likelihood(potentials, tags, mask))
    assert_close(
        crf.loss(np.where(mask, tags, -1), potentials, weights), np.mean(per_seq * weights)
    )
    with pytest.raises(ValueError, match="sample_weight"):
        crf.loss(tags, potentials, np.ones((5, 5), "float32"))


# Five sentences, vocabulary of 10 (0 = padding), tags padded with -1.
X = np.array([[1, 2, 3, 4], [5, 6, 0, 0], [7, 8, 9, 0], [1, 3, 5, 7], [2, 4, 0, 0]])
Y = np.array([[0, 1, 2, 0], [2, 1, -1, -1], [1, 1, 0, -1], [0, 0, 1, 2], [2, 2, -1, -1]])


def _tagger(lstm=True):
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    if lstm:
        x = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))(x)
    crf = CRF(NUM_TAGS, name="crf")
    potentials = crf(keras.layers.Dense(NUM_TAGS)(x))
    return inputs, potentials, crf


def _manual_nll(model, crf, x, y):
    potentials = model(x)
    return -np.mean(keras.ops.convert_to_numpy(crf.log_likelihood(potentials, y, x != 0)))


def test_fit_bilstm_tagger_with_keras_mask():
    inputs, potentials, crf = _tagger()
    model = keras.Model(inputs, potentials)
    model.compile(keras.optimizers.Adam(0.05), loss=crf.loss)
    transitions = keras.ops.convert_to_numpy(crf.transitions)
    expected_first = _manual_nll(model, crf, X, Y)
    history = model.fit(X, Y, epochs=15, batch_size=5, verbose=0).history["loss"]
    # One batch per epoch: the first reported loss is the masked NLL before any update, so
    # the Keras mask and the -1 padding reach the loss as intended.
    assert np.isclose(history[0], expected_first, atol=1e-5)
    assert history[-1] < history[0] - 0.5
    assert not np.allclose(keras.ops.convert_to_numpy(crf.transitions), transitions)
    # Padding marked only by the Keras mask (y_true padded with the real tag 0).
    assert np.isclose(
        model.evaluate(X, np.maximum(Y, 0), verbose=0), _manual_nll(model, crf, X, Y), atol=1e-5
    )
    tagger = keras.Model(inputs, crf.decode(potentials))
    tags = keras.ops.convert_to_numpy(tagger(X))
    # Training data is memorised well enough that most real tokens are right.
    assert (tags[X != 0] == Y[X != 0]).mean() > 0.8
    assert (tags[X == 0] == 0).all()


def test_fit_without_keras_mask_under_xla():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4)(inputs)  # no mask: padding only via y_true == -1
    crf = CRF(NUM_TAGS)
    potentials = crf(keras.layers.Dense(NUM_TAGS)(x))
    model = keras.Model(inputs, potentials)
    # XLA is what `jit_compile="auto"` picks on a GPU; it needs bounded time loops.
    model.compile(keras.optimizers.Adam(0.05), loss=crf.loss, jit_compile=True)
    expected = -np.mean(
        keras.ops.convert_to_numpy(crf.log_likelihood(model(X), np.maximum(Y, 0), Y != -1))
    )
    history = model.fit(X, Y, epochs=5, batch_size=5, verbose=0).history["loss"]
    assert np.isclose(history[0], expected, atol=1e-5)
    assert history[-1] < history[0]
    tagger = keras.Model(inputs, crf.decode(potentials))
    tagger.compile(jit_compile=True)
    np.testing.assert_array_equal(
        tagger.predict(X, verbose=0), keras.ops.convert_to_numpy(crf.decode(model(X)))
    )


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_keras_round_trip_of_training_and_inference_models(tmp_path):
    inputs, potentials, crf = _tagger()
    model = keras.Model(inputs, potentials)
    model.compile("adam", loss=crf.loss)
    tagger = keras.Model(inputs, [crf.decode(potentials), crf.marginals(potentials)])
    tags, probs = tagger(X)

    (tmp_path / "tagger").mkdir()
    loaded_tagger = keras_round_trip(tagger, tmp_path / "tagger")
    got_tags, got_probs = loaded_tagger(X)
    np.testing.assert_array_equal(got_tags, tags)
    assert_close(got_probs, probs)

    (tmp_path / "train").mkdir()
    loaded = keras_round_trip(model, tmp_path / "train")
    with pytest.raises(ValueError, match=r"compile\(optimizer, loss=model.get_layer\('crf'\)"):
        loaded.fit(X, Y, verbose=0)
    loaded.compile("adam", loss=loaded.get_layer("crf").loss)
    assert np.isclose(loaded.evaluate(X, Y, verbose=0), _manual_nll(model, crf, X, Y), atol=1e-5)


def test_saved_model_export_runs_without_rnnkit(tmp_path):
    inputs, potentials, crf = _tagger()
    tagger = keras.Model(inputs, crf.decode(potentials))
    # Longer than any training sentence, to show the time axis is dynamic.
    x = np.concatenate([np.pad(X, ((0, 0), (0, 3))), [[1, 2, 3, 4, 5, 6, 7]]])
    expected = tagger.predict(x, verbose=0)
    path = os.path.join(str(tmp_path), "tagger")
    tagger.export(path, format="tf_saved_model", verbose=False)
    got = run_without_rnnkit(
        f"""
        import numpy as np
        import tensorflow as tf
        served = tf.saved_model.load({path!r})
        result = served.serve(tf.constant(np.array({x.tolist()}), tf.int32)).numpy().tolist()
        """
    )
    np.testing.assert_array_equal(np.array(got), expected)


def test_layer_contract_and_identity_call():
    rng = np.random.default_rng(6)
    potentials = rng.normal(size=(2, 4, NUM_TAGS)).astype("float32")
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    layer = run_layer_test(
        CRF,
        {"num_tags": NUM_TAGS, "use_boundary_transitions": False},
        potentials,
        expected_output_shape=(2, 4, NUM_TAGS),
        call_kwargs={"mask": mask},
        train=False,
    )
    assert_close(layer(potentials), potentials)
    assert [w.path.split("/")[-1] for w in layer.weights] == ["transitions"]
    out = layer(potentials, mask=mask)
    np.testing.assert_array_equal(out._keras_mask, mask)


def test_errors_name_the_argument():
    assert CRF(np.int64(4)).num_tags == 4
    with pytest.raises(ValueError, match="`num_tags`"):
        CRF(0)
    with pytest.raises(TypeError, match="`use_boundary_transitions`"):
        CRF(3, use_boundary_transitions="yes")
    with pytest.raises(ValueError, match=r"Dense\(3\)"):
        CRF(3)(np.zeros((1, 2, 4), "float32"))
    with pytest.raises(ValueError, match="`output`"):
        CRF(3)(np.zeros((1, 2, 3), "float32"), output="scores")
    symbolic = keras.Input((None, 3))
    with pytest.raises(TypeError, match="`CRF.log_partition`"):
        CRF(3).log_partition(symbolic)
