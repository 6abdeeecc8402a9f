"""`batch_dataset` / `batch_tensors`: right-padded, length-bucketed, token-budgeted batches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from rnnkit.checks import is_int

_LENGTH_SAMPLE = 10_000
_MAX_BUCKETS = 8
_LONGEST_BUCKET = 2048


def _default_padding(spec: Any) -> tf.Tensor:
    if spec.dtype == tf.string:
        return tf.constant("", tf.string)
    return tf.zeros([], spec.dtype)


def _densify(*element: Any) -> Any:
    """Ragged components (e.g. a sentence's characters per token) become right-padded dense."""
    structure = element[0] if len(element) == 1 else element

    def dense(part: Any) -> Any:
        if isinstance(part, tf.RaggedTensor):
            return part.to_tensor(_default_padding(part))
        return part

    return tf.nest.map_structure(dense, structure)


def _sequence_specs(element_spec: Any) -> list[tf.TensorSpec]:
    return [s for s in tf.nest.flatten(element_spec) if s.shape.rank and s.shape.rank >= 1]


def default_length_fn(element_spec: Any) -> Callable[..., tf.Tensor]:
    """Length of an element: the longest first dimension among its 1-D+ components."""
    if not _sequence_specs(element_spec):
        raise ValueError(
            "`dataset` elements have no sequence (every component is a scalar): "
            f"{element_spec}. batch_dataset pads variable-length sequences; pass unbatched "
            "elements such as (ids, label)."
        )

    def length(*element: Any) -> tf.Tensor:
        parts = element[0] if len(element) == 1 else element
        lengths = [
            tf.shape(part, out_type=tf.int32)[0]
            for part in tf.nest.flatten(parts)
            if part.shape.rank and part.shape.rank >= 1
        ]
        return tf.reduce_max(tf.stack(lengths))

    return length


def _sample_lengths(
    dataset: tf.data.Dataset, length_fn: Callable[..., tf.Tensor], sample: int
) -> np.ndarray:
    sampled = dataset.take(sample).map(length_fn, num_parallel_calls=tf.data.AUTOTUNE)
    batches = [batch.numpy() for batch in sampled.batch(4096)]
    if not batches:
        raise ValueError("`dataset` is empty: there is nothing to batch.")
    return np.concatenate(batches).astype(np.int64)


def _boundaries(lengths: np.ndarray, max_buckets: int) -> list[int]:
    """Bucket upper bounds (exclusive) at length quantiles, so buckets hold similar counts.

    Doubling bounds follow the longest sampled length, so longer elements that the sample
    missed (e.g. at the end of a length-sorted file) still get buckets (and, with a token
    budget, batch sizes) of their own instead of joining the last sampled bucket.
    """
    longest = int(lengths.max())
    bounds = set()
    if max_buckets > 1:
        cuts = np.linspace(0, 1, max_buckets + 1)[1:-1]
        quantiles = np.quantile(lengths, cuts, method="higher")
        bounds = {int(q) + 1 for q in quantiles if q + 1 <= longest}
    bounds.add(longest + 1)
    edge = longest + 1
    while edge < _LONGEST_BUCKET:
        edge *= 2
        bounds.add(edge)
    return sorted(bounds)


def _check_batch_sizes(batch_size: Any, token_budget: Any) -> None:
    for value, argument in ((batch_size, "batch_size"), (token_budget, "token_budget")):
        if value is None and argument == "token_budget":
            continue
        if not is_int(value, minimum=1):
            raise ValueError(f"`{argument}` must be a positive int; received {value!r}.")


def _checked_boundaries(bucket_boundaries: list[int]) -> list[int]:
    boundaries = sorted({int(b) for b in bucket_boundaries})
    if not boundaries or boundaries[0] < 2:
        raise ValueError(
            "`bucket_boundaries` must be ints >= 2 (exclusive upper bounds); received "
            f"{bucket_boundaries!r}."
        )
    return boundaries


def batch_dataset(
    dataset: tf.data.Dataset,
    batch_size: int = 32,
    *,
    bucket: bool = True,
    token_budget: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    cache: bool | str = False,
    drop_remainder: bool = False,
    length_fn: Callable[..., tf.Tensor] | None = None,
    padding_values: Any = None,
    shuffle_buffer: int | None = None,
    bucket_boundaries: list[int] | None = None,
    length_sample: int = _LENGTH_SAMPLE,
) -> tf.data.Dataset:
    """Batches unbatched variable-length elements into right-padded batches.

    Every sequence is padded at the end (never the start) with 0 for numbers and `""` for
    strings, so `keras.layers.Embedding(mask_zero=True)` masks exactly the padding. With
    `bucket=True`, elements of similar length are batched together
    (`tf.data.Dataset.bucket_by_sequence_length`), which cuts padding; bucket boundaries are
    length quantiles of the first `length_sample` elements, followed by doubling bounds
    (up to 2,048) for anything longer than the sample showed. With `token_budget`, each
    bucket's batch size is `token_budget // longest length in the bucket` (at least 1), so a
    batch holds at most about `token_budget` tokens, padding included.

    Args:
        dataset: a `tf.data.Dataset` of unbatched elements, any nested structure of tensors
            (e.g. `(ids, label)` or `((source_ids, target_in), target_out)`); components may
            be scalars, `[T]` or `[T, C]` (ragged components are padded to dense first).
        batch_size: elements per batch (ignored with `token_budget`).
        bucket: group elements of similar length.
        token_budget: target `batch * length` per batch (padding included) instead of a fixed
            `batch_size`.
        shuffle: shuffle elements (reshuffled every epoch) before batching.
        seed: shuffle seed, for reproducible order.
        cache: `True` caches elements in memory, a string caches to that file path (before
            shuffling, so the upstream work runs once).
        drop_remainder: drop the last, smaller batch (of each bucket).
        length_fn: maps an element to its length (int32 scalar); by default the longest first
            dimension among its sequence components.
        padding_values: pad values, a scalar or a structure like the elements; by default 0
            and `""`.
        shuffle_buffer: shuffle buffer size; by default the whole dataset when its size is
            known (up to 200,000), else 10,000.
        bucket_boundaries: explicit bucket upper bounds (exclusive), instead of sampled ones.
        length_sample: how many elements are sampled to choose bucket boundaries.

    Returns:
        A prefetched `tf.data.Dataset` of padded batches, with the elements' structure
        (tf.data's autotuning off: its thread held epoch ends for up to a minute on 2 cores).

    Example:
    >>> ds = tf.data.Dataset.from_generator(
    ...     lambda: iter([[1, 2, 3], [4], [5, 6]]),
    ...     output_signature=tf.TensorSpec([None], tf.int32))
    >>> [b.tolist() for b in batch_dataset(ds, 3, bucket=False, shuffle=False).as_numpy_iterator()]
    [[[1, 2, 3], [4, 0, 0], [5, 6, 0]]]
    """
    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(
            f"`dataset` must be a tf.data.Dataset of unbatched elements; received "
            f"{type(dataset).__name__}. Build one with tf.data.Dataset.from_tensor_slices or "
            "rnnkit.data.to_dataset."
        )
    _check_batch_sizes(batch_size, token_budget)
    if any(isinstance(c, tf.RaggedTensorSpec) for c in tf.nest.flatten(dataset.element_spec)):
        dataset = dataset.map(_densify, num_parallel_calls=tf.data.AUTOTUNE)
    spec = dataset.element_spec
    length_fn = length_fn or default_length_fn(spec)
    if padding_values is None:
        padding_values = tf.nest.map_structure(_default_padding, spec)
    elif not tf.nest.is_nested(padding_values) and tf.nest.is_nested(spec):
        padding_values = tf.nest.map_structure(lambda s: tf.constant(padding_values, s.dtype), spec)
    else:
        padding_values = tf.nest.map_structure(
            lambda value, s: tf.constant(value, s.dtype), padding_values, spec
        )

    boundaries: list[int] = []
    if bucket or token_budget is not None:
        if bucket_boundaries is not None:
            boundaries = _checked_boundaries(bucket_boundaries)
        else:
            # Sampled from the input before cache/shuffle, so a partial read never truncates
            # a cache and the boundaries do not depend on the shuffle seed.
            lengths = _sample_lengths(dataset, length_fn, length_sample)
            boundaries = _boundaries(lengths, _MAX_BUCKETS if bucket else 1)

    if cache:
        dataset = dataset.cache() if cache is True else dataset.cache(str(cache))
    if shuffle:
        if shuffle_buffer is None:
            size = int(dataset.cardinality())
            shuffle_buffer = size if 0 < size <= 200_000 else 10_000
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)

    if boundaries:
        sizes = _bucket_sizes(boundaries, batch_size, token_budget)
        batched = dataset.bucket_by_sequence_length(
            element_length_func=length_fn,
            bucket_boundaries=boundaries,
            bucket_batch_sizes=sizes,
            padding_values=padding_values,
            drop_remainder=drop_remainder,
        )
    else:
        batched = dataset.padded_batch(
            batch_size, padding_values=padding_values, drop_remainder=drop_remainder
        )
    # Without tf.data's autotuning: its background thread sometimes held the end of an epoch
    # (the exhausted iterator's destruction) for up to a minute with both cores idle, in 3 of
    # 7 epochs of a Tatoeba Translator run on 2 cores (45-120 s each, found with py-spy). These
    # pipelines are light (slices, a map, a shuffle, bucketing): a pass over Tatoeba's training
    # batches took 13-16 s without it against 21-26 s with it.
    options = tf.data.Options()
    options.autotune.enabled = False
    return batched.prefetch(tf.data.AUTOTUNE).with_options(options)


def _bucket_sizes(boundaries: list[int], batch_size: int, token_budget: int | None) -> list[int]:
    """Batch size of each bucket: `token_budget // longest length` (at least 1) or `batch_size`.

    Bucket i holds lengths in [boundaries[i-1], boundaries[i]); the last bucket is open-ended
    and sized for twice its lower bound.
    """
    if token_budget is None:
        return [batch_size] * (len(boundaries) + 1)
    upper = [b - 1 for b in boundaries] + [2 * boundaries[-1]]
    return [max(1, token_budget // u) for u in upper]


def _rows(part: Any) -> int:
    return int(part.nrows()) if isinstance(part, tf.RaggedTensor) else int(part.shape[0])


def _element_lengths(parts: list[Any]) -> np.ndarray:
    """Per element, the longest first dimension among its sequence components (as
    `default_length_fn`): row lengths of ragged components, the fixed size of dense ones."""
    lengths = []
    for part in parts:
        if isinstance(part, tf.RaggedTensor):
            lengths.append(part.row_lengths().numpy())
        elif part.shape.rank >= 2:
            lengths.append(np.full(_rows(part), part.shape[1]))
    if not lengths:
        raise ValueError(
            "`tensors` have no sequence component (every component is one scalar per "
            "element); batch_tensors pads variable-length sequences, e.g. (ids, labels) with "
            "ids a tf.RaggedTensor."
        )
    return np.max(np.stack(lengths), axis=0).astype(np.int64)


def _given_lengths(lengths: Any, count: int) -> np.ndarray:
    values = np.asarray(lengths)
    if values.shape != (count,) or not (
        np.issubdtype(values.dtype, np.integer) and (values >= 0).all()
    ):
        raise ValueError(
            f"`lengths` must hold one non-negative int per element ({count:,}); received "
            f"shape {values.shape} of dtype {values.dtype}."
        )
    return values.astype(np.int64)


def batch_tensors(
    tensors: Any,
    batch_size: int = 32,
    *,
    bucket: bool = True,
    token_budget: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    drop_remainder: bool = False,
    bucket_boundaries: list[int] | None = None,
    length_sample: int = _LENGTH_SAMPLE,
    lengths: Any = None,
) -> tf.data.Dataset:
    """`batch_dataset` for data already in memory: the same batches, built a batch at a time.

    `tensors` is what `tf.data.Dataset.from_tensor_slices` takes: a nested structure (tuples)
    of aligned tensors whose first dimension indexes the elements, sequences as
    `tf.RaggedTensor` rows. The batches are exactly those of `batch_dataset` over
    `from_tensor_slices(tensors)` with the same arguments and seed, in the same order (same
    bucket boundaries, batch sizes and padding), but only the element indices go through
    `tf.data` one by one: each epoch shuffles them, groups them by bucket, orders the batches
    as `bucket_by_sequence_length` emits them, and gathers every batch from the tensors at
    once. On Tatoeba's 136,868 sentence pairs an epoch of batches takes about a tenth of
    `batch_dataset`'s time and the first batch comes without waiting for a shuffle buffer
    of the whole data set (`benchmarks/results/data.md`).

    Args:
        tensors: aligned tensors, NumPy arrays or `tf.RaggedTensor`s (e.g. `(ids, labels)` or
            `((source_ids, target_in), target_out)`); components may hold a scalar, a
            sequence or a sequence of sequences per element.
        batch_size: elements per batch (ignored with `token_budget`).
        bucket: group elements of similar length.
        token_budget: target `batch * length` per batch (padding included) instead of a fixed
            `batch_size`.
        shuffle: reshuffle the elements and the batches every epoch.
        seed: shuffle seed, for reproducible order.
        drop_remainder: drop the last, smaller batch (of each bucket).
        bucket_boundaries: explicit bucket upper bounds (exclusive), instead of sampled ones.
        length_sample: bucket boundaries are length quantiles of the first this many elements
            (as `batch_dataset`).
        lengths: one int per element, the length that buckets and token budgets use
            (e.g. caption lengths, when an image `[N, H, W, 3]` would otherwise count as
            `H` rows); by default the longest first dimension among the element's
            sequence components (as `batch_dataset`).

    Returns:
        A prefetched `tf.data.Dataset` of padded batches with the structure of `tensors`.

    Example:
    >>> ids = tf.ragged.constant([[1, 2, 3], [4], [5, 6]])
    >>> [b.tolist() for b in batch_tensors(ids, 3, bucket=False, shuffle=False).as_numpy_iterator()]
    [[[1, 2, 3], [4, 0, 0], [5, 6, 0]]]
    """
    tensors = tf.nest.map_structure(
        lambda t: t if isinstance(t, tf.RaggedTensor) else tf.convert_to_tensor(t), tensors
    )
    parts = tf.nest.flatten(tensors, expand_composites=False)
    sizes_in = {_rows(part) for part in parts}
    if len(sizes_in) != 1:
        raise ValueError(
            f"`tensors` must be aligned (one row per element); their first dimensions differ: "
            f"{sorted(sizes_in)}."
        )
    count = sizes_in.pop()
    if count == 0:
        raise ValueError("`tensors` are empty: there is nothing to batch.")
    _check_batch_sizes(batch_size, token_budget)
    lengths = _element_lengths(parts) if lengths is None else _given_lengths(lengths, count)

    if bucket or token_budget is not None:
        if bucket_boundaries is not None:
            boundaries = _checked_boundaries(bucket_boundaries)
        else:
            boundaries = _boundaries(lengths[:length_sample], _MAX_BUCKETS if bucket else 1)
        buckets = np.searchsorted(boundaries, lengths, side="right")
        sizes = _bucket_sizes(boundaries, batch_size, token_budget)
    else:
        buckets = np.zeros(count, np.int64)
        sizes = [batch_size]
    # The number of elements per bucket never changes, so neither do the batch sizes of an
    # epoch: bucket after bucket, full batches then the remainder.
    counts = np.bincount(buckets, minlength=len(sizes))
    row_lengths, full = [], []
    for bucket_count, size in zip(counts, sizes, strict=True):
        row_lengths += [size] * (bucket_count // size)
        full += [True] * (bucket_count // size)
        if bucket_count % size:
            row_lengths.append(bucket_count % size)
            full.append(False)
    kept = np.flatnonzero(full) if drop_remainder else None
    if kept is not None and not len(kept):
        raise ValueError(
            "With `drop_remainder=True` no batch is full: every bucket holds fewer elements "
            "than its batch size. Pass a smaller `batch_size` / `token_budget`."
        )
    bucket_of = tf.constant(buckets, tf.int64)
    row_lengths_t = tf.constant(row_lengths, tf.int64)

    # When each batch is complete in the shuffled stream of elements (the position of its
    # last element); remainders complete at the end, bucket after bucket.
    row_ends = tf.constant(np.cumsum(row_lengths) - 1, tf.int64)
    remainder_at = tf.constant(
        [-1 if is_full else count + i for i, is_full in enumerate(full)], tf.int64
    )
    batches = len(kept) if kept is not None else len(row_lengths)

    def batches_of(order: tf.Tensor) -> tf.data.Dataset:
        # Elements grouped by bucket (a stable sort keeps the stream order within each
        # bucket) and cut into each bucket's batches, which are emitted when complete, as
        # `bucket_by_sequence_length` does over the same stream: the same batches in the same
        # order as `batch_dataset` with the same seed.
        position = tf.argsort(tf.gather(bucket_of, order), stable=True)
        completed = tf.where(
            remainder_at >= 0, remainder_at, tf.cast(tf.gather(position, row_ends), tf.int64)
        )
        rows = tf.RaggedTensor.from_row_lengths(
            tf.gather(order, position), row_lengths_t, validate=False
        )
        rows = tf.gather(rows, tf.argsort(completed, stable=True))
        if kept is not None:
            rows = rows[:batches]  # the remainders complete last
        return tf.data.Dataset.from_tensor_slices(rows)

    indices = tf.data.Dataset.range(count)
    if shuffle:
        indices = indices.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    batched = indices.batch(count).flat_map(batches_of)
    # A known number of batches per epoch (Keras shows it and needs no "ran out of data").
    batched = batched.apply(tf.data.experimental.assert_cardinality(batches))

    def gather(rows: tf.Tensor) -> Any:
        def pick(part: Any) -> tf.Tensor:
            picked = tf.gather(part, rows)
            if isinstance(picked, tf.RaggedTensor):
                return picked.to_tensor(_default_padding(picked))
            return picked

        return tf.nest.map_structure(pick, tensors)

    batched = batched.map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()  # without autotuning, as `batch_dataset`
    options.autotune.enabled = False
    return batched.prefetch(tf.data.AUTOTUNE).with_options(options)


def _column_tensor(values: Any, argument: str) -> Any:
    if isinstance(values, tf.Tensor | tf.RaggedTensor | np.ndarray):
        return values
    if hasattr(values, "tolist"):  # pandas Series
        values = values.tolist()
    values = list(values)
    if values and isinstance(values[0], list | tuple):
        flat = [item for row in values for item in row]
        lengths = [len(row) for row in values]
        dtype = tf.string if not flat or isinstance(flat[0], str) else None
        return tf.RaggedTensor.from_row_lengths(
            tf.constant(flat, dtype=dtype, shape=[len(flat)]),
            tf.constant(lengths, tf.int64, shape=[len(lengths)]),
        )
    if values and isinstance(values[0], str):
        return tf.constant(values, tf.string, shape=[len(values)])
    if not values:
        raise ValueError(f"`{argument}` is empty.")
    return tf.constant(values)


def to_dataset(*columns: Any) -> tf.data.Dataset:
    """Turns aligned record lists (what the readers return) into an unbatched `tf.data.Dataset`.

    Each column becomes one component of every element: a list of `str` gives scalar strings,
    a list of token lists gives `[T]` string tensors, a NumPy array gives its rows (e.g. images
    `[H, W, 3]`), a list of numbers gives scalars. Feed the result to `batch_dataset`.

    Args:
        *columns: one or more aligned lists or arrays of equal length.

    Returns:
        A `tf.data.Dataset` whose elements are one tensor (one column) or a tuple.

    Example:
    >>> ds = to_dataset([["a", "b"], ["c"]], [["X", "Y"], ["Z"]])
    >>> [(t.tolist(), g.tolist()) for t, g in ds.as_numpy_iterator()]
    [([b'a', b'b'], [b'X', b'Y']), ([b'c'], [b'Z'])]
    """
    if not columns:
        raise TypeError("to_dataset() needs at least one column.")
    tensors = [_column_tensor(column, f"columns[{i}]") for i, column in enumerate(columns)]
    sizes = [
        int(t.shape[0]) if not isinstance(t, tf.RaggedTensor) else int(t.nrows()) for t in tensors
    ]
    if len(set(sizes)) != 1:
        raise ValueError(f"Columns must be aligned; their lengths differ: {sizes}.")
    dataset = tf.data.Dataset.from_tensor_slices(
        tensors[0] if len(tensors) == 1 else tuple(tensors)
    )
    if any(isinstance(t, tf.RaggedTensor) for t in tensors):
        dataset = dataset.map(_densify)
    return dataset
