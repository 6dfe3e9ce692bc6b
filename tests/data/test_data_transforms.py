"""train_test_split and Standardizer."""

import json

import numpy as np
import pytest

from gradgate.data import Standardizer, train_test_split


def test_split_sizes_partition_and_pairing():
    x = np.arange(20).reshape(10, 2)
    y = np.arange(10) * 7
    x_train, x_test, y_train, y_test = train_test_split(x, y, seed=0)
    assert len(x_test) == 3 and len(x_train) == 7  # ceil(0.25 * 10)
    rows = np.concatenate([x_train, x_test])[:, 0] // 2
    assert sorted(rows.tolist()) == list(range(10))
    assert np.array_equal(x_train[:, 0] // 2 * 7, y_train)
    assert np.array_equal(x_test[:, 0] // 2 * 7, y_test)
    assert len(train_test_split(x, y, test_size=4)[1]) == 4


def test_split_is_reproducible_by_seed_and_shuffles():
    x, y = np.arange(100).reshape(100, 1), np.arange(100)
    a, b, c = (train_test_split(x, y, seed=s) for s in (1, 1, 2))
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[3], c[3])
    assert not np.array_equal(np.sort(a[3]), np.arange(75, 100))


def test_stratified_split_keeps_class_proportions():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    x = np.arange(100, dtype=np.float32).reshape(100, 1)
    _, x_test, y_train, y_test = train_test_split(x, y, test_size=0.1, seed=0, stratify=True)
    assert np.bincount(y_test).tolist() == [5, 3, 2]
    assert np.bincount(y_train).tolist() == [45, 27, 18]
    assert np.array_equal(y[x_test[:, 0].astype(int)], y_test)
    assert not np.all(np.diff(y_test) >= 0)  # not grouped by class


def test_stratified_split_hands_out_the_leftover_examples():
    y = np.repeat([0, 1, 2], 3)
    _, _, _, y_test = train_test_split(np.zeros((9, 1)), y, test_size=4, seed=0, stratify=True)
    assert len(y_test) == 4
    assert sorted(np.bincount(y_test, minlength=3).tolist()) == [1, 1, 2]


@pytest.mark.parametrize("test_size", [0, 0.0, 1.0, 10, 1.5, True, -0.2])
def test_split_rejects_sizes_that_leave_a_part_empty(test_size):
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(np.zeros((10, 1)), np.zeros(10), test_size=test_size)


def test_split_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match=r"\(5, 1\) and \(4,\)"):
        train_test_split(np.zeros((5, 1)), np.zeros(4))


def test_standardizer_centres_and_scales_with_training_statistics():
    rng = np.random.default_rng(0)
    train = (rng.normal(3.0, 2.0, size=(200, 3))).astype(np.float32)
    train[:, 2] = 5.0  # constant feature
    scaler = Standardizer()
    z = scaler.fit_transform(train)
    assert z.dtype == np.float32
    assert np.allclose(z[:, :2].mean(axis=0), 0, atol=1e-5)
    assert np.allclose(z[:, :2].std(axis=0), 1, atol=1e-5)
    assert np.array_equal(z[:, 2], np.zeros(200)) and scaler.std[2] == 1.0

    test = np.array([[3.0, 3.0, 6.0]])
    expected = (test - train.astype(np.float64).mean(0)) / np.array([*train[:, :2].std(0), 1])
    assert np.allclose(scaler.transform(test), expected, atol=1e-5)


def test_standardizer_integer_input_comes_out_float32():
    assert Standardizer().fit_transform(np.array([[1], [3]])).tolist() == [[-1.0], [1.0]]
    assert Standardizer().fit_transform(np.array([[1], [3]])).dtype == np.float32


def test_standardizer_state_round_trip_through_json():
    x = np.random.default_rng(1).normal(size=(20, 4))
    fitted = Standardizer().fit(x)
    state = json.loads(json.dumps(fitted.state_dict()))
    restored = Standardizer()
    restored.load_state_dict(state)
    assert np.array_equal(restored.transform(x), fitted.transform(x))


def test_standardizer_errors():
    with pytest.raises(RuntimeError, match="before fit"):
        Standardizer().transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        Standardizer().fit(np.zeros((3, 2))).transform(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="missing"):
        Standardizer().load_state_dict({"mean": [0.0]})
    with pytest.raises(ValueError, match="std > 0"):
        Standardizer().load_state_dict({"mean": [0.0], "std": [0.0]})
