"""Built-in datasets: shapes, dtypes, class counts, seeds, and load_dataset's resolution."""

import gzip

import numpy as np
import pytest

from gradgate.data import DATASET_NAMES, digits, iris, load_dataset, moons, spirals, xor


def _check_classification(x: np.ndarray, y: np.ndarray, n: int, features: int) -> None:
    assert x.shape == (n, features)
    assert x.dtype == np.float32
    assert y.shape == (n,)
    assert y.dtype == np.int64
    assert np.all(np.isfinite(x))


def test_digits_is_the_1797_eight_by_eight_images_from_the_shipped_file():
    x, y = digits()
    _check_classification(x, y, 1797, 64)
    assert np.array_equal(np.unique(y), np.arange(10))
    assert x.min() == 0 and x.max() == 16
    assert np.array_equal(x, np.round(x))  # integer grey levels
    # first image of the UCI set, row by row: a zero
    assert x[0, :8].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]
    assert y[0] == 0 and y[-1] == 8
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_iris_has_three_classes_of_fifty_from_the_shipped_file():
    x, y = iris()
    _check_classification(x, y, 150, 4)
    assert np.bincount(y).tolist() == [50, 50, 50]
    assert x[0].tolist() == pytest.approx([5.1, 3.5, 1.4, 0.2])
    assert y[:50].tolist() == [0] * 50 and y[-1] == 2


def test_shipped_files_match_scikit_learn_where_it_is_installed():
    datasets = pytest.importorskip("sklearn.datasets")
    for ours, theirs in [(digits(), datasets.load_digits()), (iris(), datasets.load_iris())]:
        assert np.array_equal(ours[0], theirs.data.astype(np.float32))
        assert np.array_equal(ours[1], theirs.target)


def test_xor_default_is_the_four_corners():
    x, y = xor()
    _check_classification(x, y, 4, 2)
    assert x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert y.tolist() == [0, 1, 1, 0]


def test_noisy_xor_is_balanced_and_labelled_by_its_corner():
    x, y = xor(200, noise=0.1, seed=3)
    _check_classification(x, y, 200, 2)
    assert np.bincount(y).tolist() == [100, 100]
    corner = np.round(x).clip(0, 1).astype(int)
    assert np.mean((corner[:, 0] ^ corner[:, 1]) == y) > 0.95
    assert not np.array_equal(x, np.round(x))  # the noise is there


def test_moons_and_spirals_shapes_and_class_counts():
    x, y = moons(101, seed=0)
    _check_classification(x, y, 101, 2)
    assert np.bincount(y).tolist() == [50, 51]
    x, y = spirals(100, classes=3, seed=0)
    _check_classification(x, y, 100, 2)
    assert np.bincount(y).tolist() == [34, 33, 33]
    assert np.all(np.linalg.norm(spirals(60, noise=0.0, seed=1)[0], axis=1) <= 1 + 1e-6)


@pytest.mark.parametrize("make", [xor, moons, spirals])
def test_generated_datasets_are_reproducible_by_seed(make):
    n = 40
    first, again = make(n, noise=0.1, seed=7), make(n, noise=0.1, seed=7)
    other = make(n, noise=0.1, seed=8)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_moons_rows_are_shuffled_not_grouped_by_class():
    _, y = moons(100, seed=0)
    assert 0 < y[:50].sum() < 50


@pytest.mark.parametrize("bad", [dict(n=0), dict(n=2.5), dict(noise=-0.1)])
def test_generators_reject_bad_sizes(bad):
    with pytest.raises(ValueError):
        moons(**bad)


def test_spirals_rejects_zero_classes():
    with pytest.raises(ValueError, match="classes"):
        spirals(10, classes=0)


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_load_dataset_resolves_every_name(name):
    x, y = load_dataset(name)
    assert x.dtype == np.float32 and y.dtype == np.int64 and len(x) == len(y) > 0


def test_load_dataset_names_the_valid_choices_for_an_unknown_one():
    with pytest.raises(ValueError) as error:
        load_dataset("mnist")
    message = str(error.value)
    assert "'mnist'" in message
    for name in ("xor", "iris", "digits", "moons", "spirals", ".csv", ".npz"):
        assert name in message


def test_load_dataset_reads_csv_and_npz_paths(tmp_path):
    csv_path = tmp_path / "points.csv"
    csv_path.write_text("a,b,label\n1,2,cat\n3,4,dog\n")
    x, y = load_dataset(str(csv_path))
    assert x.tolist() == [[1, 2], [3, 4]] and y.tolist() == [0, 1]
    numeric_path = tmp_path / "numbers.csv.gz"
    with gzip.open(numeric_path, "wt") as f:
        f.write("a,b,label\n1,2,0\n3,4,1\n")
    x, y = load_dataset(numeric_path, target="a")
    assert x.tolist() == [[2, 0], [4, 1]] and x.dtype == np.float32 and y.tolist() == [1, 3]

    npz_path = tmp_path / "points.npz"
    np.savez(npz_path, x=np.ones((3, 2)), y=np.array([0, 1, 0]))
    x, y = load_dataset(npz_path)
    assert x.shape == (3, 2) and y.tolist() == [0, 1, 0]


def test_load_dataset_refuses_a_target_for_a_built_in_dataset():
    with pytest.raises(ValueError, match="target"):
        load_dataset("iris", target="species")
