"""Greedy and beam search (rnnkit._search) against brute-force enumeration on tiny vocabularies."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from rnnkit.generation import beam_search, greedy_search, length_penalty_factor, tile_beams

PAD, START, END = 0, 1, 2
VOCAB = 5  # 0 pad, 1 start, 2 end, 3 and 4 words
MAX_LEN = 4
BASE = VOCAB + 1


def _random_tables(batch, seed):
    """Log-probabilities per batch row and prefix code: [batch, BASE ** MAX_LEN, VOCAB]."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=1.5, size=(batch, BASE**MAX_LEN, VOCAB))
    logits[..., [PAD, START]] = -np.inf  # never generated
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


def _code(prefix):
    return sum((tok + 1) * BASE**i for i, tok in enumerate(prefix))


def _step_fn(tables):
    """A prefix-dependent step function whose state is nested (dict, tuple, rank-3 tensor).

    The prefix is read back from the carried `history` tensor, so a search that gathers the
    state of the wrong beam produces the wrong probabilities.
    """
    table = tf.constant(tables, tf.float32)
    powers = tf.constant([BASE**i for i in range(MAX_LEN + 1)], tf.int32)

    def step(tokens, state):
        t, row, (history,) = state["t"], state["row"], state["history"]
        onehot = tf.one_hot(t, MAX_LEN + 1, dtype=tf.float32)[:, :, None]
        # history [N, MAX_LEN + 1, 1] float: token ids at positions 1.., -1 where empty
        history = history * (1 - onehot) + onehot * tf.cast(tokens, tf.float32)[:, None, None]
        ids = tf.cast(history[:, 1:, 0], tf.int32)
        code = tf.reduce_sum(tf.where(ids >= 0, (ids + 1) * powers[:-1], 0), axis=1)
        log_probs = tf.gather_nd(table, tf.stack([row, code], axis=1))
        return log_probs, {"t": t + 1, "row": row, "history": (history,)}

    return step


def _initial_state(batch):
    return {
        "t": tf.zeros([batch], tf.int32),
        "row": tf.range(batch),
        "history": (-tf.ones([batch, MAX_LEN + 1, 1]),),
    }


def _brute_force(tables, row, alpha):
    """Every hypothesis (ended, or cut at MAX_LEN) with its log-prob and score, best first."""
    out = []
    for length in range(1, MAX_LEN + 1):
        for seq in itertools.product([END, 3, 4], repeat=length):
            if END in seq[:-1] or (seq[-1] != END and length < MAX_LEN):
                continue
            log_prob = sum(tables[row, _code(seq[:i]), tok] for i, tok in enumerate(seq))
            score = log_prob / ((5 + length) / 6) ** alpha
            out.append((score, log_prob, list(seq)))
    return sorted(out, key=lambda x: -x[0])


def _as_lists(tokens, lengths):
    return [list(tokens[i][: lengths[i]]) for i in range(len(lengths))]


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_exhaustive_beam_equals_brute_force_ranking(alpha):
    batch = 3
    tables = _random_tables(batch, seed=7)
    # 31 hypotheses exist, so 32 beams keep them all: the search is then exhaustive and its
    # sorted beams must be the brute-force ranking, for every row of the batch.
    result = beam_search(
        _step_fn(tables),
        _initial_state(batch),
        tf.fill([batch], START),
        end_token=END,
        max_length=MAX_LEN,
        beam_width=32,
        length_penalty=alpha,
    )
    for row in range(batch):
        expected = _brute_force(tables, row, alpha)
        assert len(expected) == 31
        got_scores = result.scores[row].numpy()
        assert np.isneginf(got_scores[31])
        np.testing.assert_allclose(got_scores[:31], [e[0] for e in expected], rtol=1e-5)
        np.testing.assert_allclose(
            result.log_probs[row, :31].numpy(), [e[1] for e in expected], rtol=1e-5
        )
        tokens = _as_lists(result.tokens[row].numpy(), result.lengths[row].numpy())
        assert tokens[:31] == [e[2] for e in expected]


@pytest.mark.parametrize("alpha", [0.0, 0.7])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_width_one_equals_greedy(seed, alpha):
    batch = 6
    tables = _random_tables(batch, seed)
    step = _step_fn(tables)
    start = tf.fill([batch], START)
    greedy = tf.function(
        lambda: greedy_search(step, _initial_state(batch), start, end_token=END, max_length=MAX_LEN)
    )()
    beam = tf.function(
        lambda: beam_search(
            step,
            _initial_state(batch),
            start,
            end_token=END,
            max_length=MAX_LEN,
            beam_width=1,
            length_penalty=alpha,
        )
    )()
    np.testing.assert_array_equal(beam.tokens[:, 0].numpy(), greedy.tokens.numpy())
    np.testing.assert_array_equal(beam.lengths[:, 0].numpy(), greedy.lengths.numpy())
    np.testing.assert_array_equal(beam.log_probs[:, 0].numpy(), greedy.log_probs.numpy())
    # and greedy really is the argmax path: check against the tables
    for row in range(batch):
        seq = _as_lists(greedy.tokens.numpy(), greedy.lengths.numpy())[row]
        for i, tok in enumerate(seq):
            assert tok == int(np.argmax(tables[row, _code(seq[:i])]))


def _bigram_step(probs):
    table = tf.math.log(tf.constant(probs, tf.float32))
    return lambda tokens, state: (tf.gather(table, tokens), state)


# A greedy trap: after START, word 4 (0.6) beats word 3 (0.4), but 4 is mostly followed by a
# poor continuation while 3 ends with probability 0.9.
TRAP = [
    [0, 0, 1, 0, 0],
    [0, 0, 0, 0.4, 0.6],
    [0, 0, 1, 0, 0],
    [0, 0, 0.9, 0.05, 0.05],
    [0, 0, 0.45, 0.3, 0.25],
]


def _bigram_brute_force(probs, max_length, alpha=0.0):
    with np.errstate(divide="ignore"):
        logp = np.log(np.asarray(probs, dtype=np.float64))
    best = None
    for length in range(1, max_length + 1):
        for seq in itertools.product(range(VOCAB), repeat=length):
            if END in seq[:-1] or (seq[-1] != END and length < max_length):
                continue
            prev = [START, *seq[:-1]]
            score = sum(logp[p, t] for p, t in zip(prev, seq, strict=True))
            score /= ((5 + length) / 6) ** alpha
            if best is None or score > best[0]:
                best = (score, list(seq))
    return best


def test_beam_beats_greedy_and_finds_the_exact_optimum():
    step = _bigram_step(TRAP)
    start = tf.constant([START])
    greedy = greedy_search(step, (), start, end_token=END, max_length=6)
    beam = beam_search(step, (), start, end_token=END, max_length=6, beam_width=2)
    best_score, best_seq = _bigram_brute_force(TRAP, 6)
    assert greedy.tokens.numpy().tolist() == [[4, 2]]
    assert beam.tokens[0, 0].numpy().tolist() == best_seq == [3, 2]
    np.testing.assert_allclose(beam.log_probs[0, 0].numpy(), best_score, rtol=1e-6)
    assert beam.log_probs[0, 0].numpy() > greedy.log_probs[0].numpy() + 0.1


def test_length_penalty_changes_the_winner_as_the_formula_says():
    # [END]: 0.4 (length 1); [3, END]: 0.36 (length 2); [3, 4, END]: 0.24 (length 3)
    probs = [
        [0, 0, 1, 0, 0],
        [0, 0, 0.4, 0.6, 0],
        [0, 0, 1, 0, 0],
        [0, 0, 0.6, 0, 0.4],
        [0, 0, 1, 0, 0],
    ]
    step = _bigram_step(probs)
    winners = {}
    for alpha in [0.0, 1.0]:
        result = beam_search(
            step,
            (),
            tf.constant([START]),
            end_token=END,
            max_length=5,
            beam_width=3,
            length_penalty=alpha,
        )
        seqs = _as_lists(result.tokens[0].numpy(), result.lengths[0].numpy())
        winners[alpha] = seqs[0]
        assert seqs == [[2], [3, 2], [3, 4, 2]] or alpha > 0
        assert seqs[0] == _bigram_brute_force(probs, 5, alpha)[1]
        expected = np.log([0.4, 0.36, 0.24]) / ((5 + np.array([1, 2, 3])) / 6) ** alpha
        np.testing.assert_allclose(sorted(result.scores[0].numpy()), sorted(expected), rtol=1e-5)
    assert winners == {0.0: [2], 1.0: [3, 2]}
    assert float(length_penalty_factor(tf.constant([1]), 1.0)[0]) == pytest.approx(1.0)


def test_stops_at_end_token_and_pads_after_it():
    # two hypotheses exist: [3, END] and [4, 3, END]; max_length would allow 10 tokens
    probs = [
        [0, 0, 1, 0, 0],
        [0, 0, 0, 0.5, 0.5],
        [0, 0, 1, 0, 0],
        [0, 0, 1, 0, 0],
        [0, 0, 0, 1, 0],
    ]
    calls = tf.Variable(0)
    table = tf.math.log(tf.constant(probs, tf.float32))

    def step(tokens, state):
        calls.assign_add(1)
        return tf.gather(table, tokens), state

    start = tf.constant([START, START])
    # greedy stops once [3, END] is out (2 steps); 3 beams wait for [4, 3, END] (3 steps) while
    # their third beam, with no hypothesis left to hold, is dead at -inf and must not wait.
    for search, kwargs, steps in [(greedy_search, {}, 2), (beam_search, {"beam_width": 3}, 3)]:
        calls.assign(0)
        result = tf.function(
            lambda search=search, kwargs=kwargs: search(
                step, (), start, end_token=END, max_length=10, **kwargs
            )
        )()
        assert result.tokens.shape[-1] == steps == int(calls.numpy())
        tokens = result.tokens.numpy().reshape(-1, steps)
        lengths = result.lengths.numpy().reshape(-1)
        scores = result.scores.numpy().reshape(-1)
        live = np.isfinite(scores)
        assert live.sum() == (1 if search is greedy_search else 2) * 2
        for seq, length in zip(tokens[live], lengths[live], strict=True):
            assert seq[length - 1] == END and END not in seq[: length - 1]
            assert (seq[length:] == PAD).all()
        assert (tokens[~live] == PAD).all() and (lengths[~live] == 0).all()


def test_max_length_cuts_unfinished_hypotheses():
    probs = np.full((VOCAB, VOCAB), 0.5)
    probs[:, [PAD, START, END]] = 0.0
    step = _bigram_step(probs)
    for search, kwargs in [(greedy_search, {}), (beam_search, {"beam_width": 2})]:
        result = search(step, (), tf.constant([START]), end_token=END, max_length=3, **kwargs)
        assert result.tokens.shape[-1] == 3
        assert (result.lengths.numpy() == 3).all()
        assert END not in result.tokens.numpy()
        np.testing.assert_allclose(result.log_probs.numpy(), 3 * np.log(0.5), rtol=1e-6)


def test_dynamic_batch_and_max_length_in_one_trace():
    tables = _random_tables(4, seed=3)
    step = _step_fn(tables)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32)])
    def decode(start, max_length):
        batch = tf.shape(start)[0]
        return beam_search(
            step, _initial_state(batch), start, end_token=END, max_length=max_length, beam_width=2
        ).tokens

    assert decode(tf.fill([1], START), tf.constant(2)).shape[:2] == (1, 2)
    assert decode(tf.fill([4], START), tf.constant(4)).shape[:2] == (4, 2)
    assert decode.experimental_get_tracing_count() == 1


def test_tile_beams_keeps_copies_of_a_row_together():
    nested = {"a": tf.constant([[1, 2], [3, 4]]), "b": (tf.constant([5, 6]),)}
    tiled = tile_beams(nested, 3)
    assert tiled["a"].numpy().tolist() == [[1, 2]] * 3 + [[3, 4]] * 3
    assert tiled["b"][0].numpy().tolist() == [5, 5, 5, 6, 6, 6]


def test_tile_beams_keeps_a_missing_mask_missing():
    memory, mask = tile_beams((tf.constant([[1.0], [2.0]]), None), 2)
    assert mask is None and memory.numpy().ravel().tolist() == [1.0, 1.0, 2.0, 2.0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"beam_width": 0}, "beam_width"),
        ({"beam_width": 2.0}, "beam_width"),
        ({"beam_width": 2, "max_length": 0}, "max_length"),
        ({"beam_width": 2, "length_penalty": -1.0}, "length_penalty"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, match):
    kwargs = {"max_length": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        beam_search(_bigram_step(TRAP), (), tf.constant([START]), end_token=END, **kwargs)
