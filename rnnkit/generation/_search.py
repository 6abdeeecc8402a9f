"""In-graph greedy and batched beam search over a step function.

Generation is decoder-agnostic: a model exposes one decoding step,

    step_fn(tokens, state) -> (log_probs, new_state)

where `tokens` is int32 `[N]` (the previous token of each row), `state` is any nested structure
(tuple/list/dict) of tensors whose first axis is `N`, `log_probs` is `[N, vocabulary]` and
`new_state` has the structure, dtypes and shapes of `state`. Both searches run as one
`tf.while_loop` (no Python loop per token once traced), so they trace into a `tf.function` or a
SavedModel. Tensors that do not change while decoding (encoder outputs, masks) are best captured
by `step_fn` as a closure instead of being carried in `state`; for beam search, tile them
first with `tile_beams` so that their rows line up with the `batch * beam_width` rows of `state`.

TensorFlow is used directly (not `keras.ops`) because the searches are graph control flow that
must live in exported SavedModels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import tensorflow as tf

from rnnkit.checks import is_int

StepFn = Callable[[tf.Tensor, Any], tuple[tf.Tensor, Any]]


class SearchResult(NamedTuple):
    """What `greedy_search` and `beam_search` return.

    Greedy search gives `[batch, T]` tokens and `[batch]` numbers; beam search gives
    `[batch, beam_width, T]` and `[batch, beam_width]`, beams sorted best first. `T` is the number
    of steps run (at most `max_length`).

    Attributes:
        tokens: int32 generated tokens, without the start token, with the end token, and
            `pad_token` after it.
        lengths: int32 number of generated tokens, the end token included.
        log_probs: float32 sum of the tokens' log-probabilities.
        scores: float32 ranking score, `log_probs / length_penalty_factor(lengths, alpha)`.
    """

    tokens: tf.Tensor
    lengths: tf.Tensor
    log_probs: tf.Tensor
    scores: tf.Tensor


def length_penalty_factor(lengths: tf.Tensor, alpha: float | tf.Tensor) -> tf.Tensor:
    """GNMT length penalty `((5 + length) / 6) ** alpha` (1 for `alpha=0`).

    Dividing a hypothesis' log-probability by this factor counters beam search's preference
    for short outputs; `alpha` around 0.6-1.0 is usual.

    Args:
        lengths: int or float tensor of hypothesis lengths.
        alpha: penalty strength, `>= 0`.

    Returns:
        float32 tensor shaped like `lengths`.

    Example:
    >>> float(length_penalty_factor(tf.constant(7), 1.0))
    2.0
    """
    lengths = tf.cast(lengths, tf.float32)
    return tf.pow((5.0 + lengths) / 6.0, tf.cast(alpha, tf.float32))


def tile_beams(nested: Any, beam_width: int) -> Any:
    """Repeats each row of every tensor in `nested` `beam_width` times along axis 0.

    `[batch, ...]` becomes `[batch * beam_width, ...]` with the copies of row `b` at rows
    `b * beam_width ... b * beam_width + beam_width - 1`, the layout `beam_search` uses for
    `state` and for the rows `step_fn` receives.

    Args:
        nested: a tensor or nested structure of tensors with a leading batch axis; `None`
            entries (e.g. no attention mask) stay `None`.
        beam_width: copies per row.

    Returns:
        The same structure with tiled tensors.

    Example:
    >>> tile_beams(tf.constant([1, 2]), 2).numpy().tolist()
    [1, 1, 2, 2]
    >>> tile_beams((tf.constant([3]), None), 2)[1] is None
    True
    """
    return tf.nest.map_structure(
        lambda x: None if x is None else tf.repeat(x, beam_width, axis=0), nested
    )


def _check_args(max_length: Any, beam_width: int = 1, length_penalty: Any = 0.0) -> None:
    if isinstance(max_length, int) and (isinstance(max_length, bool) or max_length < 1):
        raise ValueError(f"`max_length` must be a positive integer, got {max_length!r}.")
    if not is_int(beam_width, minimum=1):
        raise ValueError(
            f"`beam_width` must be a positive Python integer (it fixes tensor shapes), "
            f"got {beam_width!r}."
        )
    if isinstance(length_penalty, int | float) and length_penalty < 0:
        raise ValueError(f"`length_penalty` must be >= 0, got {length_penalty!r}.")


def _write(buffer: tf.Tensor, step: tf.Tensor, values: tf.Tensor) -> tf.Tensor:
    # buffer [..., max_length]: put `values` [...] at position `step` of the last axis.
    hit = tf.cast(tf.one_hot(step, tf.shape(buffer)[-1]), tf.bool)
    return tf.where(hit, values[..., None], buffer)


def greedy_search(
    step_fn: StepFn,
    initial_state: Any,
    start_tokens: tf.Tensor,
    *,
    end_token: int | tf.Tensor,
    max_length: int | tf.Tensor,
    pad_token: int = 0,
) -> SearchResult:
    """Picks the most likely next token at every step, in one `tf.while_loop`.

    Stops when every row has produced `end_token` or after `max_length` tokens. Equal to
    `beam_search(..., beam_width=1)` (same tokens, same scores).

    Args:
        step_fn: `step_fn(tokens [N], state) -> (log_probs [N, V], state)` (module docstring).
        initial_state: nested tensors with leading axis `batch`.
        start_tokens: int32 `[batch]`, the first input of `step_fn`.
        end_token: id that ends a sequence.
        max_length: most tokens generated per row (end token included); int or scalar tensor.
        pad_token: id written after the end token.

    Returns:
        A `SearchResult` with `tokens [batch, T]` and `lengths`, `log_probs`, `scores` `[batch]`.

    Example:
    >>> # ids: 0 pad, 1 start, 2 end, 3 and 4 words; row = previous token, column = next one
    >>> table = tf.math.log([[0, 0, 1, 0, 0], [0, 0, 0, 0.4, 0.6], [0, 0, 1, 0, 0],
    ...                      [0, 0, 0.9, 0.05, 0.05], [0, 0, 0.45, 0.3, 0.25]])
    >>> step = lambda tokens, state: (tf.gather(table, tokens), state)
    >>> greedy_search(step, (), [1], end_token=2, max_length=5).tokens.numpy().tolist()
    [[4, 2]]
    """
    _check_args(max_length)
    start_tokens = tf.cast(tf.convert_to_tensor(start_tokens), tf.int32)
    end_token = tf.cast(end_token, tf.int32)
    batch = tf.shape(start_tokens)[0]
    max_length = tf.cast(max_length, tf.int32)

    def cond(step, last, state, tokens, lengths, log_probs, finished):
        del last, state, tokens, lengths, log_probs
        return tf.logical_and(step < max_length, tf.logical_not(tf.reduce_all(finished)))

    def body(step, last, state, tokens, lengths, log_probs, finished):
        step_log_probs, state = step_fn(last, state)
        # Ranking `log_probs + step_log_probs` (not `step_log_probs` alone) makes ties and
        # rounding resolve exactly as in beam search, so width 1 gives the same tokens.
        total = log_probs[:, None] + tf.cast(step_log_probs, tf.float32)
        best_total, best = tf.math.top_k(total, k=1)
        best, best_total = best[:, 0], best_total[:, 0]
        token = tf.where(finished, tf.cast(pad_token, tf.int32), best)
        log_probs = tf.where(finished, log_probs, best_total)
        lengths = lengths + tf.cast(tf.logical_not(finished), tf.int32)
        tokens = _write(tokens, step, token)
        finished = tf.logical_or(finished, tf.equal(token, end_token))
        return step + 1, token, state, tokens, lengths, log_probs, finished

    loop_vars = (
        tf.constant(0),
        start_tokens,
        initial_state,
        tf.fill([batch, max_length], tf.cast(pad_token, tf.int32)),
        tf.zeros([batch], tf.int32),
        tf.zeros([batch], tf.float32),
        tf.zeros([batch], tf.bool),
    )
    steps, _, _, tokens, lengths, log_probs, _ = tf.while_loop(cond, body, loop_vars)
    return SearchResult(tokens[:, :steps], lengths, log_probs, log_probs)


def beam_search(
    step_fn: StepFn,
    initial_state: Any,
    start_tokens: tf.Tensor,
    *,
    end_token: int | tf.Tensor,
    max_length: int | tf.Tensor,
    beam_width: int,
    length_penalty: float | tf.Tensor = 0.0,
    pad_token: int = 0,
) -> SearchResult:
    """Batched beam search in one `tf.while_loop`.

    Every row of the batch keeps `beam_width` hypotheses. At each step all `beam_width * V`
    continuations are ranked by `log_prob / length_penalty_factor(length, length_penalty)` and
    the best `beam_width` are kept. A hypothesis that produced `end_token` stays in the beam
    unchanged (its only continuation is padding at no cost) and competes with the live ones;
    decoding stops when all hypotheses of all rows have ended or after `max_length` tokens.
    With `beam_width=1` the result equals `greedy_search`.

    Args:
        step_fn: `step_fn(tokens [N], state) -> (log_probs [N, V], state)` with
            `N = batch * beam_width`, rows laid out as `tile_beams` does (module docstring).
        initial_state: nested tensors with leading axis `batch` (tiled here).
        start_tokens: int32 `[batch]`.
        end_token: id that ends a hypothesis.
        max_length: most tokens generated per hypothesis (end token included).
        beam_width: hypotheses kept per row (a Python int).
        length_penalty: GNMT `alpha`, `>= 0`; 0 ranks by log-probability alone.
        pad_token: id written after the end token.

    Returns:
        A `SearchResult` with `tokens [batch, beam_width, T]` and `lengths`, `log_probs`,
        `scores` `[batch, beam_width]`, beams sorted by `scores`, best first. When fewer than
        `beam_width` hypotheses exist (tiny vocabularies), the extra beams score `-inf` and
        hold only padding (length 0).

    Example:
    >>> table = tf.math.log([[0, 0, 1, 0, 0], [0, 0, 0, 0.4, 0.6], [0, 0, 1, 0, 0],
    ...                      [0, 0, 0.9, 0.05, 0.05], [0, 0, 0.45, 0.3, 0.25]])
    >>> step = lambda tokens, state: (tf.gather(table, tokens), state)
    >>> result = beam_search(step, (), [1], end_token=2, max_length=5, beam_width=2)
    >>> result.tokens[0].numpy().tolist()  # 0.4 * 0.9 beats greedy's 0.6 * 0.45
    [[3, 2], [4, 2]]
    """
    _check_args(max_length, beam_width, length_penalty)
    start_tokens = tf.cast(tf.convert_to_tensor(start_tokens), tf.int32)
    end_token = tf.cast(end_token, tf.int32)
    pad = tf.cast(pad_token, tf.int32)
    batch = tf.shape(start_tokens)[0]
    max_length = tf.cast(max_length, tf.int32)
    k = beam_width
    neg_inf = tf.constant(float("-inf"), tf.float32)
    # Row offsets that turn a beam index within a batch row into a row of the flat state.
    offsets = tf.range(batch)[:, None] * k

    def cond(step, last, state, tokens, lengths, log_probs, finished):
        del last, state, tokens, lengths, log_probs
        return tf.logical_and(step < max_length, tf.logical_not(tf.reduce_all(finished)))

    def body(step, last, state, tokens, lengths, log_probs, finished):
        step_log_probs, state = step_fn(tf.reshape(last, [-1]), state)
        vocab = tf.shape(step_log_probs)[-1]
        step_log_probs = tf.reshape(tf.cast(step_log_probs, tf.float32), [batch, k, vocab])
        # An ended hypothesis has one continuation (padding, cost 0), so it stays as it is.
        only_pad = tf.where(tf.equal(tf.range(vocab), pad), 0.0, neg_inf)
        step_log_probs = tf.where(finished[..., None], only_pad, step_log_probs)
        total = log_probs[..., None] + step_log_probs  # [batch, k, V]
        new_lengths = lengths + tf.cast(tf.logical_not(finished), tf.int32)
        rank = total / length_penalty_factor(new_lengths, length_penalty)[..., None]
        scores, index = tf.math.top_k(tf.reshape(rank, [batch, k * vocab]), k=k)
        beam = index // vocab
        token = index % vocab
        log_probs = tf.gather(tf.reshape(total, [batch, k * vocab]), index, batch_dims=1)
        lengths = tf.gather(new_lengths, beam, batch_dims=1)
        was_finished = tf.gather(finished, beam, batch_dims=1)
        tokens = tf.gather(tokens, beam, batch_dims=1)
        token = tf.where(was_finished, pad, token)
        tokens = _write(tokens, step, token)
        # A beam at -inf (fewer live hypotheses than beams) counts as ended, or the loop would
        # wait for it until `max_length`.
        finished = was_finished | tf.equal(token, end_token) | tf.math.is_inf(log_probs)
        rows = tf.reshape(beam + offsets, [-1])
        state = tf.nest.map_structure(lambda x: tf.gather(x, rows), state)
        return step + 1, token, state, tokens, lengths, log_probs, finished

    # Only the first copy of each row is live at the start, so the first step does not fill
    # the beam with `beam_width` copies of the same hypothesis.
    first = tf.concat([tf.zeros([1]), tf.fill([k - 1], neg_inf)], axis=0)
    loop_vars = (
        tf.constant(0),
        tf.tile(start_tokens[:, None], [1, k]),
        tile_beams(initial_state, k),
        tf.fill([batch, k, max_length], pad),
        tf.zeros([batch, k], tf.int32),
        tf.tile(first[None, :], [batch, 1]),
        tf.zeros([batch, k], tf.bool),
    )
    steps, _, _, tokens, lengths, log_probs, _ = tf.while_loop(cond, body, loop_vars)
    # Dead beams hold leftovers of the beams they were gathered from: show them as empty.
    dead = tf.math.is_inf(log_probs)
    tokens = tf.where(dead[..., None], pad, tokens[:, :, :steps])
    lengths = tf.where(dead, 0, lengths)
    scores = log_probs / length_penalty_factor(lengths, length_penalty)
    return SearchResult(tokens, lengths, log_probs, scores)
