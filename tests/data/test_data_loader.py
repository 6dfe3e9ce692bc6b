"""TensorDataset and DataLoader: coverage of each epoch, batching, seeds and resumable state."""

import json

import numpy as np
import pytest

from gradgate.data import DataLoader, Dataset, TensorDataset


def _dataset(n=10):
    y = np.arange(n, dtype=np.int64)
    x = np.stack([y * 10.0, y * 10.0 + 1], axis=1).astype(np.float32)  # row i -> (10i, 10i+1)
    return TensorDataset(x, y)


def _epoch(loader):
    """One epoch's label batches, as lists."""
    return [y.tolist() for _, y in loader.array_batches()]


def test_tensor_dataset_indexes_rows_of_every_array():
    data = _dataset(4)
    x, y = data[2]
    assert len(data) == 4 and x.tolist() == [20, 21] and y == 2


def test_tensor_dataset_shape_mismatch_names_the_shapes():
    with pytest.raises(ValueError, match=r"\[\(5, 2\), \(4,\)\]"):
        TensorDataset(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError):
        TensorDataset(np.zeros(3), np.array(1.0))
    with pytest.raises(ValueError):
        TensorDataset()


@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last", "batches"),
    [(10, 3, False, 4), (10, 3, True, 3), (9, 3, False, 3), (9, 3, True, 3), (2, 5, True, 0)],
)
def test_len_is_the_number_of_batches(n, batch_size, drop_last, batches):
    loader = DataLoader(_dataset(n), batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == batches
    assert len(list(loader.array_batches())) == batches


def test_without_shuffle_batches_follow_the_dataset_order():
    assert _epoch(DataLoader(_dataset(7), batch_size=3)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_every_example_appears_exactly_once_per_epoch_with_its_own_features():
    loader = DataLoader(_dataset(23), batch_size=4, shuffle=True, seed=0)
    for _ in range(3):
        seen = []
        for x, y in loader.array_batches():
            assert x.shape == (len(y), 2) and x.dtype == np.float32 and y.dtype == np.int64
            assert np.array_equal(x[:, 0], y * 10.0)  # features stay with their label
            seen.extend(y.tolist())
        assert sorted(seen) == list(range(23))


def test_drop_last_gives_only_full_batches_without_repeats():
    loader = DataLoader(_dataset(10), batch_size=4, shuffle=True, drop_last=True, seed=1)
    batches = _epoch(loader)
    assert [len(b) for b in batches] == [4, 4]
    flat = [i for b in batches for i in b]
    assert len(set(flat)) == 8


def test_shuffle_changes_order_between_epochs():
    loader = DataLoader(_dataset(50), batch_size=50, shuffle=True, seed=0)
    first, second = _epoch(loader), _epoch(loader)
    assert first != second and first != [list(range(50))]


def test_same_seed_gives_the_same_sequence_of_epochs():
    a = DataLoader(_dataset(30), batch_size=8, shuffle=True, seed=42)
    b = DataLoader(_dataset(30), batch_size=8, shuffle=True, seed=42)
    c = DataLoader(_dataset(30), batch_size=8, shuffle=True, seed=43)
    epochs_a = [_epoch(a) for _ in range(3)]
    assert epochs_a == [_epoch(b) for _ in range(3)]
    assert epochs_a != [_epoch(c) for _ in range(3)]


def test_state_round_trip_through_json_resumes_the_same_epochs():
    run = DataLoader(_dataset(30), batch_size=8, shuffle=True, seed=5)
    _epoch(run)
    state = json.loads(json.dumps(run.state_dict()))
    expected = [_epoch(run) for _ in range(2)]

    resumed = DataLoader(_dataset(30), batch_size=8, shuffle=True, seed=999)
    resumed.load_state_dict(state)
    assert [_epoch(resumed) for _ in range(2)] == expected


def test_state_dict_is_a_snapshot_not_a_live_view():
    loader = DataLoader(_dataset(10), shuffle=True, seed=0)
    state = loader.state_dict()
    before = json.dumps(state)
    _epoch(loader)
    assert json.dumps(state) == before
    with pytest.raises(ValueError, match="generator"):
        loader.load_state_dict({})


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_batch_size_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_dataset(), batch_size=bad)


def test_tensor_dataset_batches_by_fancy_indexing_not_per_example():
    class NoPerExample(TensorDataset):
        def __getitem__(self, index):
            raise AssertionError("the loader fetched one example at a time")

    x = np.arange(12.0).reshape(6, 2)
    loader = DataLoader(NoPerExample(x, np.arange(6)), batch_size=4)
    assert [b[1].tolist() for b in loader.array_batches()] == [[0, 1, 2, 3], [4, 5]]


class Squares(Dataset):
    """A generic dataset: example i is (features [i, i*i], label i % 2)."""

    def __len__(self):
        return 5

    def __getitem__(self, index):
        return np.array([index, index * index], dtype=np.float32), index % 2


def test_generic_dataset_items_are_stacked_per_field():
    batches = list(DataLoader(Squares(), batch_size=2).array_batches())
    assert len(batches) == 3
    x, y = batches[1]
    assert x.tolist() == [[2, 4], [3, 9]] and x.dtype == np.float32
    assert y.tolist() == [0, 1]


def test_generic_dataset_of_single_arrays_and_ragged_items():
    class Single(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return np.full(index + 1 if index == 2 else 1, float(index))

    loader = DataLoader(Single(), batch_size=2)
    batches = loader.array_batches()
    (first,) = next(batches)
    assert first.tolist() == [[0.0], [1.0]]
    with pytest.raises(ValueError, match="different shapes"):
        DataLoader(Single(), batch_size=3).array_batches().__next__()


def test_dataset_base_class_asks_subclasses_for_both_methods():
    with pytest.raises(NotImplementedError):
        len(Dataset())
    with pytest.raises(NotImplementedError):
        Dataset()[0]


def test_iterating_yields_tuples_of_tensors_matching_the_array_batches():
    tensor_module = pytest.importorskip("gradgate.tensor")
    loader = DataLoader(_dataset(10), batch_size=4, shuffle=True, seed=3)
    twin = DataLoader(_dataset(10), batch_size=4, shuffle=True, seed=3)
    batches = list(loader)
    expected = list(twin.array_batches())
    assert len(batches) == len(expected) == 3
    for batch, arrays in zip(batches, expected, strict=True):
        assert isinstance(batch, tuple) and len(batch) == 2
        for t, a in zip(batch, arrays, strict=True):
            assert isinstance(t, tensor_module.Tensor)
            assert not t.requires_grad
            assert t.numpy().dtype == a.dtype
            assert np.array_equal(t.numpy(), a)


def test_iterating_generic_dataset_yields_tensors():
    tensor_module = pytest.importorskip("gradgate.tensor")
    x, y = next(iter(DataLoader(Squares(), batch_size=5)))
    assert isinstance(x, tensor_module.Tensor) and isinstance(y, tensor_module.Tensor)
    assert x.shape == (5, 2) and y.numpy().tolist() == [0, 1, 0, 1, 0]
