"""Translator: training, in-graph decoding, attention, save/load and SavedModel export."""

import os
import time
import warnings

import keras
import numpy as np
import pytest
import sacrebleu
import tensorflow as tf
from sklearn.exceptions import NotFittedError

from pipelines import Translator
from rnnkit import data
from rnnkit.models import EncoderDecoder
from tests.helpers import edit_saved_pipeline, run_without_rnnkit

# A toy "translation": every word has one translation and the order is kept.
WORDS = {"uno": "one", "dos": "two", "tres": "three", "cuatro": "four", "cinco": "five"}
SOURCES = [
    "uno dos",
    "dos tres",
    "tres cuatro",
    "cuatro cinco",
    "cinco uno",
    "uno tres cinco",
    "dos cuatro uno",
    "cinco cinco dos",
    "tres uno dos cuatro",
    "cuatro dos cinco tres",
    "uno",
    "dos",
]
TARGETS = [" ".join(WORDS[w] for w in s.split()) for s in SOURCES]
TINY = {"units": 8, "embedding_dim": 8, "verbose": 0, "seed": 0}
# Enough training for the toy task to be learnt exactly.
LEARN = {
    "epochs": 25,
    "learning_rate": 0.03,
    "learning_rate_decay": 1.0,
    "batch_tokens": 8,
    "length_penalty": 0.0,
    "patience": None,
}


@pytest.fixture(scope="module")
def trained():
    tr = Translator(**TINY, **LEARN, dropout=0.0)
    return tr.fit(SOURCES, TARGETS, validation_data=(SOURCES[:4], TARGETS[:4]))


@pytest.fixture(scope="module")
def untrained():
    # One epoch: near-uniform predictions with many close calls, which gives beam search room.
    return Translator(**TINY, epochs=1, length_penalty=0.0).fit(SOURCES, TARGETS)


def _ids(tr, texts):
    return tr.model.preprocessor(tf.constant(texts))


def test_learns_the_toy_task_and_reports_history(trained):
    assert trained.translate(SOURCES, beam_width=1) == TARGETS
    assert trained.translate(SOURCES, beam_width=3) == TARGETS
    assert trained.epochs_ == 25 and trained.training_time_ > 0
    assert trained.history_["loss"][-1] < trained.history_["loss"][0] / 10
    assert len(trained.history_["val_loss"]) == 25


def test_beam_width_one_equals_greedy_exactly(trained, untrained):
    ids = _ids(trained, SOURCES + ["cinco tres uno uno", "dos dos dos", "uno zzz"])
    model = trained.model
    greedy = model.generate(ids, 1)
    beam = model.generate(ids, 1, use_beam_search=True)
    np.testing.assert_array_equal(beam.tokens.numpy(), greedy.tokens.numpy())
    np.testing.assert_array_equal(beam.log_probs.numpy(), greedy.log_probs.numpy())
    # and with an untrained model (near-uniform, many close calls)
    fresh = untrained
    ids = _ids(fresh, SOURCES)
    greedy = fresh.model.generate(ids, 1, max_length=6)
    beam = fresh.model.generate(ids, 1, max_length=6, use_beam_search=True)
    np.testing.assert_array_equal(beam.tokens.numpy(), greedy.tokens.numpy())


def test_beam_search_never_scores_below_greedy(untrained):
    # Scores are the model's own log-probabilities of whole outputs, so a wider beam can only
    # find outputs at least as likely (length_penalty=0 ranks by log-probability alone).
    fresh = untrained
    ids = _ids(fresh, SOURCES)
    greedy = fresh.model.generate(ids, 1, max_length=5).log_probs.numpy()
    beam = fresh.model.generate(ids, 4, max_length=5).log_probs.numpy()
    assert (beam >= greedy - 1e-5).all()
    assert (beam > greedy + 1e-3).any(), "the untrained model should give beam search room"


def test_teacher_forced_logits_equal_the_step_decoder(trained):
    model = trained.model
    source = _ids(trained, ["tres uno dos cuatro", "uno"])
    target_in = tf.constant([[2, 4, 5, 6, 7], [2, 8, 0, 0, 0]])
    full = model((source, target_in)).numpy()
    memory, mask, states = model.encoder(source)
    keys = model.decoder.project_keys(memory)
    for t in range(target_in.shape[1]):
        logits, states, _ = model.decoder.step(target_in[:, t], states, memory, keys, mask)
        np.testing.assert_allclose(logits[0].numpy(), full[0, t], atol=1e-5)
        if t == 0:
            np.testing.assert_allclose(logits[1].numpy(), full[1, t], atol=1e-5)


def test_scheduled_sampling_at_full_forcing_equals_teacher_forcing(trained):
    model = trained.model
    source = _ids(trained, ["tres uno dos cuatro", "dos uno"])
    target_in = tf.constant([[2, 4, 5, 6, 7], [2, 8, 4, 0, 0]])
    sampled = model._scheduled_sampling(source, target_in)
    forced = model((source, target_in))
    np.testing.assert_allclose(sampled[0].numpy(), forced[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(sampled[1, :3].numpy(), forced[1, :3].numpy(), atol=1e-5)


def test_scheduled_sampling_trains():
    tr = Translator(**TINY, epochs=4, teacher_forcing=0.5, learning_rate=0.02, batch_tokens=16)
    tr.fit(SOURCES, TARGETS)
    assert tr.history_["loss"][-1] < tr.history_["loss"][0]


def test_sampled_softmax_learns_the_toy_task():
    # 9 target ids (4 reserved + 5 words); each step scores the reference word against 6
    # sampled ones. The validation loss is the full softmax, as `evaluate`'s. 40 epochs: with
    # 25, one sentence of 12 was still wrong for one seed of 3.
    tr = Translator(**TINY, **{**LEARN, "epochs": 40}, sampled_softmax=6)
    tr.fit(SOURCES, TARGETS, validation_data=(SOURCES, TARGETS))
    assert tr.model.sampled_softmax == 6
    assert tr.translate(SOURCES, beam_width=1) == TARGETS
    assert tr.history_["loss"][-1] < tr.history_["loss"][0] / 10
    # Keras's val_loss: per batch, the full-softmax mean over real tokens; batches weighted
    # by their number of sentences.
    total = count = 0.0
    for inputs, target_out in tr._batches(SOURCES, TARGETS, train=False):
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(target_out, tr.model(inputs))
        real = tf.cast(target_out != 0, "float32")
        total += float(tf.reduce_sum(losses * real) / tf.reduce_sum(real)) * len(target_out)
        count += len(target_out)
    assert tr.history_["val_loss"][-1] == pytest.approx(total / count, rel=1e-4)


@pytest.mark.parametrize("sampled_softmax", [6, None])
def test_label_smoothing_learns_the_toy_task(sampled_softmax):
    tr = Translator(**TINY, **LEARN, label_smoothing=0.1, sampled_softmax=sampled_softmax)
    tr.fit(SOURCES, TARGETS, validation_data=(SOURCES, TARGETS))
    assert tr.model.label_smoothing == 0.1
    assert tr.translate(SOURCES, beam_width=1) == TARGETS
    # The training loss is the smoothed one: it cannot reach 0 (the smoothed target's
    # entropy is its floor); the validation loss is plain cross-entropy, which can.
    assert tr.history_["loss"][-1] > 0.1
    assert tr.history_["val_loss"][-1] < tr.history_["loss"][-1]


def test_evaluate_matches_sacrebleu_and_the_masked_loss(trained):
    sources, references = SOURCES[:6], [t.capitalize() + "." for t in TARGETS[:6]]
    scores = trained.evaluate(sources, references, beam_width=2)
    assert set(scores) == {"bleu", "chrf", "loss"}
    hypotheses = trained.translate(sources, beam_width=2)
    refs = [[r.lower() for r in references]]
    assert scores["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hypotheses, refs).score)
    assert scores["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hypotheses, refs).score)
    # the loss: mean cross-entropy over the real target tokens ([END] included, padding not)
    vec = trained.model.target_vectorizer
    total, count = 0.0, 0
    for source, reference in zip(sources, references, strict=True):
        target = vec(tf.constant([reference])).numpy()
        logits = trained.model((_ids(trained, [source]), target[:, :-1])).numpy()[0]
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        total -= log_probs[np.arange(len(target[0]) - 1), target[0, 1:]].sum()
        count += len(target[0]) - 1
    assert scores["loss"] == pytest.approx(total / count, rel=1e-4)


def test_attention_rows_sum_to_one_and_padding_gets_nothing(trained):
    texts = ["tres uno dos cuatro", "uno", "dos zzz"]
    items = trained.attention(texts, beam_width=2)
    translations = trained.translate(texts, beam_width=2)
    for text, item, translation in zip(texts, items, translations, strict=True):
        assert item["source_tokens"] == text.split()
        assert item["target_tokens"][-1] == "[END]"
        assert " ".join(item["target_tokens"][:-1]) == translation
        weights = item["weights"]
        assert weights.shape == (len(item["target_tokens"]), len(item["source_tokens"]))
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    # in the padded batch, padded source positions get exactly zero weight
    source = _ids(trained, texts)
    target_in = tf.constant([[2, 4, 5], [2, 4, 0], [2, 5, 0]])
    weights = trained.model.attention_weights(source, target_in).numpy()
    assert (weights[1, :, 1:] == 0).all() and (weights[2, :, 2:] == 0).all()


def test_plot_attention_writes_a_png(trained, tmp_path):
    path = trained.plot_attention("uno dos tres", tmp_path / "attention.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="empty"):
        trained.plot_attention("", tmp_path / "empty.png")
    with pytest.raises(TypeError, match="`text`"):
        trained.plot_attention(["uno"], tmp_path / "list.png")


def test_empty_unknown_and_overlong_inputs(trained):
    assert trained.translate([]) == []
    out = trained.translate(["", "   ", "¿zzz?", "uno"], beam_width=2)
    assert out[:2] == ["", ""] and out[3] == "one"
    assert isinstance(out[2], str)
    items = trained.attention([""])
    assert items[0]["weights"].shape == (0, 0)
    short = Translator(**TINY, epochs=1, max_length=3).fit(SOURCES, TARGETS)
    with pytest.warns(UserWarning, match="max_length"):
        long = short.translate(["uno dos tres cuatro cinco"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert long == short.translate(["uno dos tres"])


def test_save_load_gives_identical_outputs(trained, tmp_path):
    path = tmp_path / "translator.keras"
    trained.save(path)
    loaded = Translator.load(path)
    texts = SOURCES + ["zzz uno", ""]
    for beam_width in (1, 3):
        assert loaded.translate(texts, beam_width=beam_width) == trained.translate(
            texts, beam_width=beam_width
        )
    np.testing.assert_array_equal(
        loaded.model((_ids(trained, SOURCES[:3]), tf.constant([[2, 4]] * 3))).numpy(),
        trained.model((_ids(trained, SOURCES[:3]), tf.constant([[2, 4]] * 3))).numpy(),
    )
    assert loaded.get_params() == trained.get_params()
    assert loaded.history_ == trained.history_ and loaded.epochs_ == trained.epochs_
    assert loaded.training_time_ == trained.training_time_
    plain = keras.saving.load_model(path)
    assert isinstance(plain, EncoderDecoder)


def test_export_runs_without_rnnkit_and_equals_translate(trained, tmp_path):
    texts = SOURCES + ["", "zzz cinco", "uno " * 60]
    path = str(tmp_path / "translator_savedmodel")
    trained.export(path, beam_width=3)
    with pytest.warns(UserWarning, match="max_length"):
        expected = trained.translate(texts, beam_width=3)
    got = run_without_rnnkit(
        f"""
        import tensorflow as tf
        model = tf.saved_model.load({path!r})
        serve = model.signatures["serving_default"]
        assert list(serve.structured_input_signature[1]) == ["text"]
        out = serve(text=tf.constant({texts!r}))
        assert list(out) == ["translation"]
        result = [t.decode("utf-8") for t in out["translation"].numpy().tolist()]
        """
    )
    assert got == expected
    with pytest.raises(FileExistsError):
        trained.export(path)


def test_subword_translator_splits_unseen_words_and_exports_what_it_translates(tmp_path):
    tr = Translator(
        **TINY,
        **LEARN,
        token_level="subword",
        source_vocabulary_size=30,
        target_vocabulary_size=30,
    ).fit(SOURCES, TARGETS)
    source, target = tr.model.preprocessor, tr.model.target_vectorizer
    assert source.level == target.level == "subword"
    assert source.vocabulary_size == target.vocabulary_size == 30
    # A word never seen is pieces of known ones, not [UNK].
    pieces = source.tokenize(tf.constant(["cuatrocinco"]))[0].numpy().tolist()
    assert len(pieces) > 1 and b"[UNK]" not in pieces
    texts = SOURCES + ["", "cuatrocinco dos", "uno " * 60]
    with pytest.warns(UserWarning, match="max_length"):
        expected = tr.translate(texts, beam_width=2)
    assert not any("##" in t for t in expected)  # pieces are joined back into words
    path = str(tmp_path / "subword_savedmodel")
    tr.export(path, beam_width=2)
    got = run_without_rnnkit(
        f"""
        import tensorflow as tf
        serve = tf.saved_model.load({path!r}).signatures["serving_default"]
        out = serve(text=tf.constant({texts!r}))["translation"].numpy().tolist()
        result = [t.decode("utf-8") for t in out]
        """
    )
    assert got == expected


def test_unfitted_and_bad_inputs_give_clear_errors(trained):
    with pytest.raises(NotFittedError):
        Translator().translate(["uno"])
    with pytest.raises(TypeError, match="`texts`"):
        trained.translate("uno dos")
    with pytest.raises(TypeError, match=r"`texts\[1\]`"):
        trained.translate(["uno", 3])
    with pytest.raises(ValueError, match="`beam_width`"):
        trained.translate(["uno"], beam_width=0)
    with pytest.raises(ValueError, match="`length_penalty`"):
        trained.translate(["uno"], length_penalty=-1.0)
    with pytest.raises(ValueError, match="same length"):
        Translator(**TINY).fit(["uno", "dos"], ["one"])
    with pytest.raises(ValueError, match="same length"):
        trained.evaluate(["uno"], ["one", "two"])
    with pytest.raises(TypeError, match="validation_data"):
        Translator(**TINY).fit(SOURCES, TARGETS, validation_data=SOURCES)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"cell": "rnn"}, "`cell`"),
        ({"attention_type": "dot"}, "`attention_type`"),
        ({"token_level": "char"}, "`token_level`"),
        ({"units": 0}, "`units`"),
        ({"encoder_units": 0}, "`encoder_units`"),
        ({"target_vocabulary_size": 4}, "`target_vocabulary_size`"),
        ({"teacher_forcing": 0.0}, "`teacher_forcing`"),
        ({"teacher_forcing": 1.5}, "`teacher_forcing`"),
        ({"dropout": 1.0}, "`dropout`"),
        ({"label_smoothing": 1.0}, "`label_smoothing`"),
        ({"label_smoothing": -0.1}, "`label_smoothing`"),
        ({"learning_rate": 0}, "`learning_rate`"),
        ({"batch_tokens": 0}, "`batch_tokens`"),
        ({"time_budget": -5}, "`time_budget`"),
        ({"learning_rate_decay": 1.5}, "`learning_rate_decay`"),
        ({"learning_rate_decay": "cosine"}, "`learning_rate_decay`"),
        ({"learning_rate_cooldown": 1.0}, "`learning_rate_cooldown`"),
        ({"ema_momentum": 1.0}, "`ema_momentum`"),
        ({"ema_momentum": -0.5}, "`ema_momentum`"),
    ],
)
def test_bad_options_name_the_option(params, match):
    with pytest.raises(ValueError, match=match):
        Translator(**{**TINY, **params}).fit(SOURCES, TARGETS)


@pytest.mark.parametrize(
    "cell, attention_type, tie_embeddings, encoder_units",
    [("lstm", "bahdanau", False, 3), ("gru", "luong", True, None)],
)
def test_other_cells_attention_and_tied_embeddings_with_two_layers(
    cell, attention_type, tie_embeddings, encoder_units, tmp_path
):
    tr = Translator(
        **TINY,
        epochs=1,
        cell=cell,
        attention_type=attention_type,
        tie_embeddings=tie_embeddings,
        encoder_units=encoder_units,
        num_layers=2,
        batch_tokens=32,
    ).fit(SOURCES, TARGETS)
    assert (tr.model.decoder.output_layer is None) == tie_embeddings
    memory, _, _ = tr.model.encoder(_ids(tr, SOURCES[:2]))
    assert memory.shape[-1] == 2 * (encoder_units or TINY["units"] // 2)
    ids = _ids(tr, SOURCES[:4])
    greedy = tr.model.generate(ids, 1, max_length=5)
    beam = tr.model.generate(ids, 1, max_length=5, use_beam_search=True)
    np.testing.assert_array_equal(beam.tokens.numpy(), greedy.tokens.numpy())
    path = tmp_path / "m.keras"
    tr.save(path)
    assert Translator.load(path).translate(SOURCES[:4], beam_width=2) == tr.translate(
        SOURCES[:4], beam_width=2
    )


def test_moving_average_or_final_weights_whichever_validates_better(tmp_path):
    val = (SOURCES[:6], TARGETS[:6])
    # Over 50 steps (the average folds in the weights every 50 steps and at the end).
    tr = Translator(**TINY, epochs=12, batch_tokens=8, patience=None, ema_momentum=0.9)
    tr.fit(SOURCES, TARGETS, validation_data=val)
    losses = tr.weight_losses_
    assert list(losses) == ["final", "moving average"]
    assert tr.kept_weights_ == min(losses, key=losses.get)
    assert losses["final"] != losses["moving average"]
    # The kept weights are the ones scored: evaluate's loss is the same exact token mean.
    assert tr.evaluate(*val)["loss"] == pytest.approx(losses[tr.kept_weights_], rel=1e-5)
    # "final" is what fit left: the last epoch's weights (no early stopping here), whose
    # validation loss Keras logged (its batch weighting differs slightly from the token mean).
    assert losses["final"] == pytest.approx(tr.history_["val_loss"][-1], rel=0.05)
    tr.save(tmp_path / "t.keras")
    loaded = Translator.load(tmp_path / "t.keras")
    assert loaded.kept_weights_ == tr.kept_weights_
    assert loaded.weight_losses_ == losses
    # Without validation data the average is kept; with the option off, the final weights.
    plain = Translator(**TINY, epochs=2, ema_momentum=0.9).fit(SOURCES, TARGETS)
    assert plain.kept_weights_ == "moving average" and plain.weight_losses_ == {}
    off = Translator(**TINY, epochs=2, ema_momentum=None).fit(SOURCES, TARGETS)
    assert off.kept_weights_ == "final" and off.weight_losses_ == {}


def test_moving_average_folds_the_trained_weights_before_other_callbacks_end():
    # EarlyStopping restores the best epoch's weights in `on_train_end`; the average must have
    # taken the last trained weights before any callback changes them there.
    class ZeroAtEnd(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            for variable in self.model.trainable_weights:
                variable.assign(np.zeros(variable.shape, variable.dtype))

    tr = Translator(**TINY, epochs=2, batch_tokens=16, ema_momentum=0.9, callbacks=[ZeroAtEnd()])
    tr.fit(SOURCES, TARGETS)
    assert tr.kept_weights_ == "moving average"
    kernel = tr.model.trainable_weights[0].numpy()
    assert np.abs(kernel).mean() > 1e-3, "the average took the weights zeroed after training"


def test_loads_a_file_saved_with_the_retired_average_checkpoints(trained, tmp_path):
    path = tmp_path / "old.keras"
    trained.save(path)

    def to_old_format(payload):
        params, state = payload["params"], payload["state"]
        del params["ema_momentum"], state["kept_weights"], state["weight_losses"]
        params["average_checkpoints"] = 3
        state.update(
            averaged_epochs=2, checkpoint_losses={"final": 1.5, "mean of last 2 epochs": 1.4}
        )

    edit_saved_pipeline(path, to_old_format)
    old = Translator.load(path)
    assert old.kept_weights_ == "mean of last 2 epochs"
    assert old.weight_losses_ == {"final": 1.5, "mean of last 2 epochs": 1.4}
    assert old.translate(SOURCES[:4]) == trained.translate(SOURCES[:4])


def test_loads_a_file_saved_before_encoder_units_with_the_encoder_it_had(tmp_path):
    tr = Translator(**TINY, epochs=1, encoder_units=TINY["units"]).fit(SOURCES, TARGETS)
    path = tmp_path / "old.keras"
    tr.save(path)
    edit_saved_pipeline(path, lambda payload: payload["params"].pop("encoder_units"))
    old = Translator.load(path)
    assert old.encoder_units == TINY["units"]  # not None, which now means half of `units`
    assert old.translate(SOURCES[:4]) == tr.translate(SOURCES[:4])
    assert Translator(**TINY).encoder_units is None


def test_linear_learning_rate_decay_ends_near_zero():
    tr = Translator(**TINY, epochs=3, batch_tokens=16, learning_rate_decay="linear")
    rates = tr.fit(SOURCES, TARGETS).history_["learning_rate"]
    assert rates[0] >= rates[1] >= rates[2]
    assert rates[2] < tr.learning_rate / 3


def test_learning_rate_cooldown_follows_the_decay_then_ends_near_zero():
    tr = Translator(
        **TINY, epochs=4, batch_tokens=16, learning_rate_decay=0.5, learning_rate_cooldown=0.5
    )
    rates = tr.fit(SOURCES, TARGETS).history_["learning_rate"]
    # Logged after each epoch's last batch: epochs 1-2 are held at rate * 0.5**epoch (the
    # cool-down starts with epoch 3), then the rate falls to about 0 by the end of epoch 4.
    np.testing.assert_allclose(rates[:2], [tr.learning_rate, tr.learning_rate * 0.5], rtol=1e-6)
    assert rates[2] < tr.learning_rate * 0.25 and rates[3] < tr.learning_rate * 0.125 / 4


def test_time_budget_stops_training():
    tr = Translator(**TINY, epochs=50, batch_tokens=8, time_budget=0.001).fit(SOURCES, TARGETS)
    assert tr.epochs_ == 1


def test_time_budget_counts_vocabulary_building(monkeypatch):
    # The budget is for the whole `fit`: a slow vocabulary leaves less time for epochs.
    adapt = data.TextVectorizer.adapt

    def slow_adapt(self, texts):
        time.sleep(0.5)
        return adapt(self, texts)

    monkeypatch.setattr(data.TextVectorizer, "adapt", slow_adapt)
    tr = Translator(**TINY, epochs=50, batch_tokens=8, time_budget=0.9).fit(SOURCES, TARGETS)
    assert tr.epochs_ == 1
    assert tr.training_time_ >= 1.0


def test_beam_search_over_the_model_step_matches_rescoring(trained):
    # Each returned log-probability is the sum of the model's log-probabilities of its tokens.
    model = trained.model
    source = _ids(trained, ["tres uno dos cuatro"])
    result = model.generate(source, 3)
    tokens = result.tokens.numpy()[0][: int(result.lengths[0])]
    target_in = tf.constant([[2, *tokens[:-1]]])
    logits = model((source, target_in)).numpy()[0].astype("float64")
    logits[:, [0, 1, 2]] = -np.inf  # the decoder never outputs padding, [UNK] or [START]
    top = logits.max(-1, keepdims=True)
    log_probs = logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))
    expected = log_probs[np.arange(len(tokens)), tokens].sum()
    np.testing.assert_allclose(result.log_probs.numpy()[0], expected, rtol=1e-4)


@pytest.mark.data
def test_tatoeba_subset_trains_and_translates():
    from rnnkit import datasets

    try:
        splits = datasets.tatoeba("spa", source="spa")
    except ModuleNotFoundError as err:
        pytest.skip(f"corpus package missing: {err}")
    sources, targets = (x[:1500] for x in splits["train"])
    tr = Translator(
        units=16, embedding_dim=16, epochs=1, verbose=0, seed=0, target_vocabulary_size=500
    )
    tr.fit(sources, targets)
    test_sources, test_targets = (x[:32] for x in splits["test"])
    out = tr.translate(test_sources[:4], beam_width=2)
    assert len(out) == 4 and all(isinstance(t, str) for t in out)
    scores = tr.evaluate(test_sources, test_targets, beam_width=1)
    assert np.isfinite(scores["loss"]) and 0 <= scores["bleu"] <= 100
    assert tr.model.target_vectorizer.vocabulary_size == 500


@pytest.mark.slow
def test_default_translator_reaches_the_quality_bar():
    from rnnkit import datasets

    splits = datasets.tatoeba("spa", source="spa")
    tr = Translator(seed=0, verbose=0).fit(*splits["train"], validation_data=splits["validation"])
    beam = tr.evaluate(*splits["test"], beam_width=4)
    greedy = tr.evaluate(*splits["test"], beam_width=1)
    assert beam["bleu"] > greedy["bleu"]
    assert beam["bleu"] >= 45.0, (beam, greedy, os.cpu_count())
