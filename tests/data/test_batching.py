"""batch_dataset: right padding, bucketing, token budgets, shuffling, caching."""

import numpy as np
import pytest
import tensorflow as tf

from rnnkit.data import batch_dataset, batch_tensors

LENGTHS = [1, 9, 2, 8, 3, 7, 1, 9, 2, 8, 3, 7]


def ids_dataset(lengths=LENGTHS):
    rows = [list(range(i * 10 + 1, i * 10 + 1 + n)) for i, n in enumerate(lengths)]
    return tf.data.Dataset.from_generator(
        lambda: iter(zip(rows, range(len(rows)), strict=True)),
        output_signature=(tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32)),
    ), rows


def unpad(batch):
    ids, labels = batch
    return [(row[row != 0].tolist(), int(label)) for row, label in zip(ids, labels, strict=True)]


def test_right_padding_keeps_order_without_shuffle_or_buckets():
    ds, rows = ids_dataset([3, 1, 2])
    ((ids, labels),) = batch_dataset(ds, 3, bucket=False, shuffle=False).as_numpy_iterator()
    np.testing.assert_array_equal(ids, [[1, 2, 3], [11, 0, 0], [21, 22, 0]])
    np.testing.assert_array_equal(labels, [0, 1, 2])


def test_nested_structures_strings_and_2d_components():
    def gen():
        yield ((["a", "b"], [1, 2, 3]), [[1, 2], [3, 0]]), 0
        yield ((["c"], [4]), [[5, 6, 7]]), 1

    spec = (
        (
            (tf.TensorSpec([None], tf.string), tf.TensorSpec([None], tf.int64)),
            tf.TensorSpec([None, None], tf.int32),
        ),
        tf.TensorSpec([], tf.int32),
    )
    ds = tf.data.Dataset.from_generator(gen, output_signature=spec)
    ((tokens, ids), chars), labels = next(iter(batch_dataset(ds, 2, bucket=False, shuffle=False)))
    assert tokens.numpy().tolist() == [[b"a", b"b"], [b"c", b""]]
    assert ids.numpy().tolist() == [[1, 2, 3], [4, 0, 0]]
    assert chars.numpy().tolist() == [[[1, 2, 0], [3, 0, 0]], [[5, 6, 7], [0, 0, 0]]]
    assert labels.numpy().tolist() == [0, 1]


def test_custom_padding_values():
    ds, _ = ids_dataset([2, 1])
    ((ids, _),) = batch_dataset(
        ds, 2, bucket=False, shuffle=False, padding_values=(-1, 0)
    ).as_numpy_iterator()
    np.testing.assert_array_equal(ids, [[1, 2], [11, -1]])


def test_bucketing_keeps_every_element_and_cuts_padding():
    ds, rows = ids_dataset()
    plain = list(batch_dataset(ds, 4, bucket=False, shuffle=False).as_numpy_iterator())
    bucketed = list(
        batch_dataset(ds, 4, shuffle=False, bucket_boundaries=[3, 6]).as_numpy_iterator()
    )
    seen = sorted(item for batch in bucketed for item in unpad(batch))
    assert seen == sorted((row, i) for i, row in enumerate(rows))

    def padding(batches):
        return sum(int((batch[0] == 0).sum()) for batch in batches)

    assert padding(bucketed) < padding(plain)
    for ids, _ in bucketed:  # one bucket per batch: [1,3), [3,6), [6,inf)
        lengths = (ids != 0).sum(axis=1)
        assert len({int(np.searchsorted([3, 6], n, side="right")) for n in lengths}) == 1


def test_sampled_boundaries_bucket_by_length():
    ds, rows = ids_dataset(LENGTHS * 5)
    batches = list(batch_dataset(ds, 5, seed=0).as_numpy_iterator())
    assert sum(len(b[1]) for b in batches) == len(rows)
    spreads = [int(np.ptp((ids != 0).sum(axis=1))) for ids, _ in batches]
    # random batches of 5 from these lengths almost always mix 1s and 9s; buckets never do
    assert max(spreads) <= 2


def test_token_budget_limits_batch_times_length():
    ds, rows = ids_dataset(LENGTHS * 3)
    batches = list(batch_dataset(ds, token_budget=18, seed=0).as_numpy_iterator())
    assert sum(len(b[1]) for b in batches) == len(rows)
    for ids, _ in batches:
        assert ids.shape[0] * ids.shape[1] <= 18
    sizes = {ids.shape[1]: ids.shape[0] for ids, _ in batches}
    assert sizes[1] > sizes[9]
    single = list(batch_dataset(ds, token_budget=18, bucket=False, seed=0).as_numpy_iterator())
    assert all(ids.shape[0] <= 2 for ids, _ in single)  # 18 // 9


def test_shuffle_is_seeded_and_reshuffles_each_epoch():
    ds, _ = ids_dataset(LENGTHS * 4)

    def order(dataset):
        return [int(x) for _, labels in dataset.as_numpy_iterator() for x in labels]

    first = batch_dataset(ds, 4, bucket=False, seed=7)
    again = batch_dataset(ds, 4, bucket=False, seed=7)
    assert order(first) == order(again)
    assert sorted(order(first)) == list(range(48))
    assert order(first) != list(range(48))
    assert order(first) != order(first)  # a new order every epoch


def test_runs_without_tf_data_autotuning():
    # Its background thread held the ends of Translator epochs for up to a minute on 2 cores.
    ds, rows = ids_dataset()
    batched = batch_dataset(ds, 4, bucket=True, shuffle=True, seed=0)
    assert batched.options().autotune.enabled is False
    seen = sorted(pair for batch in batched.as_numpy_iterator() for pair in unpad(batch))
    assert seen == sorted((row, i) for i, row in enumerate(rows))


def test_cache_and_drop_remainder(tmp_path):
    ds, _ = ids_dataset()
    cached = batch_dataset(ds, 5, bucket=False, shuffle=False, cache=True, drop_remainder=True)
    epochs = [[b[1].tolist() for b in cached.as_numpy_iterator()] for _ in range(2)]
    assert epochs[0] == epochs[1] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    on_disk = batch_dataset(ds, 12, bucket=False, shuffle=False, cache=str(tmp_path / "c"))
    assert next(iter(on_disk))[1].numpy().tolist() == list(range(12))


def test_errors():
    with pytest.raises(TypeError, match="`dataset`"):
        batch_dataset([[1, 2]], 2)
    with pytest.raises(ValueError, match="no sequence"):
        batch_dataset(tf.data.Dataset.range(3), 2)
    with pytest.raises(ValueError, match="`batch_size`"):
        batch_dataset(ids_dataset()[0], 0)


def test_ragged_components_are_padded_dense():
    chars = tf.ragged.constant([[[1], [2, 3]], [[4, 5, 6]]], ragged_rank=2)
    ds = tf.data.Dataset.from_tensor_slices(chars)
    assert isinstance(ds.element_spec, tf.RaggedTensorSpec)
    (batch,) = batch_dataset(ds, 2, bucket=False, shuffle=False).as_numpy_iterator()
    np.testing.assert_array_equal(batch, [[[1, 0, 0], [2, 3, 0]], [[4, 5, 6], [0, 0, 0]]])


# -- batch_tensors: the same batches from in-memory tensors, gathered a batch at a time --------


def ragged_rows(lengths=LENGTHS):
    rows = [list(range(i * 10 + 1, i * 10 + 1 + n)) for i, n in enumerate(lengths)]
    return tf.ragged.constant(rows, dtype=tf.int32), tf.range(len(rows)), rows


@pytest.mark.parametrize(
    "options",
    [
        {"batch_size": 3, "bucket": False},
        {"batch_size": 2, "bucket": True},
        {"token_budget": 20},
        {"token_budget": 20, "drop_remainder": True},
        {"batch_size": 2, "bucket_boundaries": [3, 8]},
    ],
)
@pytest.mark.parametrize("shuffle", [False, True])
def test_batch_tensors_makes_the_batches_of_batch_dataset_in_its_order(options, shuffle):
    # Same seed: the same shuffle of the elements, so the very same batches, epoch after epoch.
    ids, labels, _ = ragged_rows(LENGTHS * 4)
    dataset = tf.data.Dataset.from_tensor_slices((ids, labels))
    expected = batch_dataset(dataset, shuffle=shuffle, seed=5, **options)
    got = batch_tensors((ids, labels), shuffle=shuffle, seed=5, **options)
    for _ in range(2):
        pairs = [(a[0].tolist(), a[1].tolist()) for a in expected.as_numpy_iterator()]
        assert [(b[0].tolist(), b[1].tolist()) for b in got.as_numpy_iterator()] == pairs
    assert got.element_spec[0].shape.as_list() == [None, None]


def test_batch_tensors_pads_right_nested_structures_strings_and_2d_components():
    tokens = tf.ragged.constant([["a", "b"], ["c"]])
    ids = tf.ragged.constant([[1, 2, 3], [4]], dtype=tf.int64)
    chars = tf.ragged.constant([[[1, 2], [3]], [[5, 6, 7]]], dtype=tf.int32)
    labels = np.array([0, 1])
    ((tok, idb), chb), lab = next(
        iter(batch_tensors((((tokens, ids), chars), labels), 2, bucket=False, shuffle=False))
    )
    assert tok.numpy().tolist() == [[b"a", b"b"], [b"c", b""]]
    assert idb.numpy().tolist() == [[1, 2, 3], [4, 0, 0]]
    assert chb.numpy().tolist() == [[[1, 2, 0], [3, 0, 0]], [[5, 6, 7], [0, 0, 0]]]
    assert lab.numpy().tolist() == [0, 1]


def test_batch_tensors_shuffle_is_seeded_reshuffles_and_keeps_every_element():
    ids, labels, rows = ragged_rows(LENGTHS * 5)
    ds = batch_tensors((ids, labels), token_budget=20, seed=3)

    def epoch(dataset):
        return [pair for b in dataset.as_numpy_iterator() for pair in unpad(b)]

    first, second = epoch(ds), epoch(ds)
    expected = sorted((row, i) for i, row in enumerate(rows))
    assert sorted(first) == expected and sorted(second) == expected
    assert first != second  # reshuffled every epoch
    assert epoch(batch_tensors((ids, labels), token_budget=20, seed=3)) == first
    for b in ds.as_numpy_iterator():  # one bucket per batch, within the token budget
        assert b[0].shape[0] * b[0].shape[1] <= 20 or b[0].shape[0] == 1


def test_batch_tensors_errors():
    ids, labels, _ = ragged_rows()
    with pytest.raises(ValueError, match="aligned"):
        batch_tensors((ids, labels[:3]))
    with pytest.raises(ValueError, match="sequence"):
        batch_tensors((labels, labels))
    with pytest.raises(ValueError, match="`batch_size`"):
        batch_tensors((ids, labels), 0)
    with pytest.raises(ValueError, match="`token_budget`"):
        batch_tensors((ids, labels), token_budget=-1)
    with pytest.raises(ValueError, match="`bucket_boundaries`"):
        batch_tensors((ids, labels), bucket_boundaries=[1])
    with pytest.raises(ValueError, match="no batch is full"):
        batch_tensors((ids, labels), 100, drop_remainder=True)


def test_batch_tensors_knows_its_number_of_batches():
    ids, labels, _ = ragged_rows()
    for options in ({"token_budget": 20}, {"token_budget": 20, "drop_remainder": True}):
        ds = batch_tensors((ids, labels), **options)
        assert int(ds.cardinality()) == sum(1 for _ in ds)


@pytest.mark.parametrize("options", [{"batch_size": 2}, {"token_budget": 20}])
def test_batch_tensors_buckets_images_by_the_given_lengths(options):
    # Images `[N, 6, 5, 3]` would count as 6 rows each: `lengths` buckets them by caption.
    ids, _, rows = ragged_rows(LENGTHS * 3)
    images = np.arange(len(rows))[:, None, None, None] * np.ones((1, 6, 5, 3), np.int32)
    lengths = [len(r) for r in rows]
    dataset = tf.data.Dataset.from_tensor_slices((images, ids))
    expected = batch_dataset(
        dataset, seed=2, length_fn=lambda image, caption: tf.shape(caption)[0], **options
    )
    got = batch_tensors((images, ids), seed=2, lengths=lengths, **options)
    pairs = [(a.tolist(), b.tolist()) for a, b in expected.as_numpy_iterator()]
    assert [(a.tolist(), b.tolist()) for a, b in got.as_numpy_iterator()] == pairs
    for image, caption in got.as_numpy_iterator():
        # Each image travels with its own caption; a budget counts caption tokens, not rows.
        assert [rows[i] for i in image[:, 0, 0, 0]] == [r[r != 0].tolist() for r in caption]
        if "token_budget" in options:
            assert caption.size <= 20 or len(caption) == 1
    with pytest.raises(ValueError, match="`lengths` must hold one non-negative int"):
        batch_tensors((images, ids), lengths=lengths[:-1])
