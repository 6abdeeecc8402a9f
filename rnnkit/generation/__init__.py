"""In-graph generation for any step function: greedy search and batched beam search.

A decoder exposes one step, `step_fn(tokens [N], state) -> (log_probs [N, V], new_state)`;
`greedy_search` and `beam_search` run it in one `tf.while_loop`, so they trace into a
`tf.function` or an exported SavedModel. See `rnnkit.models.EncoderDecoder.generate` for the
encoder-decoder wiring.
"""

from rnnkit.generation._search import (
    SearchResult,
    beam_search,
    greedy_search,
    length_penalty_factor,
    tile_beams,
)

__all__ = [
    "SearchResult",
    "beam_search",
    "greedy_search",
    "length_penalty_factor",
    "tile_beams",
]
