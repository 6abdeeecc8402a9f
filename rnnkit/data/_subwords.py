"""Subword units for `TextVectorizer(level="subword")`: learned by byte-pair encoding, applied
by greedy longest match in pure TensorFlow ops.

Learning (Python, in `adapt`) follows Sennrich et al. (2016): start from the characters of the
training words and repeatedly merge the most frequent adjacent pair of units. Pieces that do
not start a word carry the WordPiece continuation mark `##` (`"cant" "##aba"`), so a word can
always be put back together, and the same letters at the start and inside a word are different
units. Applying (in the graph, so it runs inside `tf.data` and an exported SavedModel) splits
each word left to right into the longest pieces of the vocabulary (WordPiece's greedy longest
match, Wu et al., 2016): every word seen in training whose piece survived keeps it whole, and
a word never seen still gets pieces, down to single characters.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Mapping

import tensorflow as tf

CONTINUATION = "##"


def _join(left: str, right: str) -> str:
    return left + right[len(CONTINUATION) :]


def learn_subwords(counts: Mapping[str, int], size: int | None, min_count: int = 2) -> list[str]:
    """Learns a piece inventory of at most `size` units from word counts (byte-pair encoding).

    Args:
        counts: word -> number of occurrences in the training texts.
        size: most pieces to return (characters included); `None` merges while some pair of
            units occurs `min_count` times.
        min_count: a pair is merged only when it occurs at least this often (at least 2).

    Returns:
        Pieces, characters first (most frequent first), then merged pieces in merge order.
    """
    words = [word for word in counts if word]
    symbols = [[word[0], *(CONTINUATION + ch for ch in word[1:])] for word in words]
    freqs = [counts[word] for word in words]
    unit_counts: Counter = Counter()
    for units, freq in zip(symbols, freqs, strict=True):
        for unit in units:
            unit_counts[unit] += freq
    inventory = [u for u, _ in sorted(unit_counts.items(), key=lambda item: (-item[1], item[0]))]
    if size is not None and len(inventory) >= size:
        return inventory[:size]

    pair_counts: Counter = Counter()
    where: defaultdict = defaultdict(set)
    for index, units in enumerate(symbols):
        for pair in zip(units, units[1:], strict=False):
            pair_counts[pair] += freqs[index]
            where[pair].add(index)
    heap = [(-count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)
    known = set(inventory)
    threshold = max(2, min_count)
    while heap and (size is None or len(inventory) < size):
        negative, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -negative:
            continue  # a stale entry: the pair's count changed since it was pushed
        if -negative < threshold:
            break
        merged = _join(*pair)
        if merged not in known:
            known.add(merged)
            inventory.append(merged)
        changed: set = set()
        for index in list(where.pop(pair, ())):
            units, freq = symbols[index], freqs[index]
            for old in zip(units, units[1:], strict=False):
                pair_counts[old] -= freq
                changed.add(old)
                where[old].discard(index)
            out, i = [], 0
            while i < len(units):
                if i + 1 < len(units) and (units[i], units[i + 1]) == pair:
                    out.append(merged)
                    i += 2
                else:
                    out.append(units[i])
                    i += 1
            symbols[index] = out
            for new in zip(out, out[1:], strict=False):
                pair_counts[new] += freq
                changed.add(new)
                where[new].add(index)
        pair_counts.pop(pair, None)
        for other in changed:
            count = pair_counts.get(other, 0)
            if count <= 0:
                pair_counts.pop(other, None)
                where.pop(other, None)
            elif other != pair:
                heapq.heappush(heap, (-count, other))
    return inventory


def longest_piece(pieces: list[str]) -> int:
    """Characters in the longest piece, without its continuation mark (at least 1)."""
    lengths = [len(p[len(CONTINUATION) :] if p.startswith(CONTINUATION) else p) for p in pieces]
    return max([1, *lengths])


def segment(
    words: tf.Tensor, table: tf.lookup.StaticHashTable, longest: int, first_piece_id: int
) -> tf.RaggedTensor:
    """Splits words `[N]` into the ids of their longest-match pieces, `[N, None]` (int64).

    A position where no piece of the vocabulary starts (a character never seen) becomes one
    out-of-vocabulary id (the table's default) and the match goes on after that character.
    Ids below `first_piece_id` (the reserved ones) never match.
    """
    unique, index = tf.unique(words)
    chars = tf.strings.length(unique, unit="UTF8_CHAR")
    count = tf.shape(unique)[0]
    lengths = tf.range(1, longest + 1)
    grid = tf.broadcast_to(unique[:, None], [count, longest])
    unknown = tf.cast(table.default_value, tf.int64)

    def body(step, position, pieces):
        active = position < chars
        starts = tf.broadcast_to(position[:, None], [count, longest])
        spans = tf.broadcast_to(lengths[None, :], [count, longest])
        candidates = tf.strings.substr(grid, starts, spans, unit="UTF8_CHAR")
        marked = tf.strings.join([CONTINUATION, candidates])
        candidates = tf.where(starts > 0, marked, candidates)
        ids = table.lookup(candidates)
        fits = spans <= (chars - position)[:, None]
        found = fits & (ids >= first_piece_id)
        best = tf.reduce_max(tf.where(found, spans, 0), axis=1)
        best_id = tf.gather(ids, tf.maximum(best - 1, 0), axis=1, batch_dims=1)
        piece = tf.where(best > 0, best_id, unknown)
        pieces = pieces.write(step, tf.where(active, piece, -1))
        position = tf.where(active, position + tf.maximum(best, 1), position)
        return step + 1, position, pieces

    def not_done(step, position, pieces):
        return tf.reduce_any(position < chars)

    pieces = tf.TensorArray(tf.int64, size=0, dynamic_size=True, element_shape=[None])
    _, _, pieces = tf.while_loop(not_done, body, (tf.constant(0), tf.zeros_like(chars), pieces))
    steps = pieces.size()
    stacked = tf.cond(
        steps > 0,
        lambda: tf.transpose(pieces.stack()),
        lambda: tf.zeros([count, 0], tf.int64),
    )
    per_word = tf.ragged.boolean_mask(stacked, stacked >= 0)
    return tf.gather(per_word, index)


def join_pieces(text: tf.Tensor) -> tf.Tensor:
    """Joins space-separated pieces back into words: `"cant ##aba"` -> `"cantaba"`."""
    return tf.strings.regex_replace(text, r"(^| )##", "")
