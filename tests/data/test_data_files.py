"""load_csv and load_npz: the happy paths and every error message a user will meet."""

import gzip

import numpy as np
import pytest

from gradgate.data import load_csv, load_npz


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_numeric_target_defaults_to_the_last_column(tmp_path):
    path = _write(tmp_path, "a,b,label\n1,2.5,0\n-3,4e1,1\n\n5,6,2\n")
    data = load_csv(path)
    assert data.x.dtype == np.float32 and data.y.dtype == np.int64
    assert data.x.tolist() == [[1, 2.5], [-3, 40], [5, 6]]
    assert data.y.tolist() == [0, 1, 2]
    assert data.feature_names == ["a", "b"]
    assert data.target_name == "label"
    assert data.class_names is None


def test_csv_string_target_maps_names_to_ints_in_sorted_order(tmp_path):
    path = _write(tmp_path, "species,length\nversicolor,1\nsetosa,2\nvirginica,3\nsetosa,4\n")
    data = load_csv(path, target="species")
    assert data.class_names == ["setosa", "versicolor", "virginica"]
    assert data.y.tolist() == [1, 0, 2, 0]
    assert data.x.tolist() == [[1], [2], [3], [4]]
    assert data.feature_names == ["length"]


def test_csv_reads_gzip_and_tolerates_spaces_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "data.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8-sig") as f:
        f.write(" a , y \n 1 , 0 \n 2 , 1 \n")
    data = load_csv(path)
    assert data.feature_names == ["a"] and data.x.ravel().tolist() == [1, 2]
    assert data.y.tolist() == [0, 1]


def test_csv_bad_value_names_file_line_and_column(tmp_path):
    rows = "".join(f"{i},{i},{i},{i},0\n" for i in range(5))
    text = "sepal_length,sepal_width,petal_length,petal_width,species\n" + rows
    path = _write(tmp_path, text + "1,2,3,abc,1\n")
    with pytest.raises(ValueError) as error:
        load_csv(path)
    assert str(error.value) == (
        f"{path}, line 7, column 'petal_width': could not convert 'abc' to a number"
    )


def test_csv_line_numbers_count_blank_lines(tmp_path):
    path = _write(tmp_path, "a,y\n\n1,0\n\n2x,1\n")
    with pytest.raises(ValueError, match=r"line 5, column 'a': could not convert '2x'"):
        load_csv(path)


def test_csv_missing_target_column_is_named_with_the_columns_present(tmp_path):
    path = _write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(ValueError) as error:
        load_csv(path, target="label")
    assert "'label'" in str(error.value) and "['a', 'b']" in str(error.value)
    assert str(path) in str(error.value)


def test_csv_missing_file(tmp_path):
    path = tmp_path / "nowhere.csv"
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        load_csv(path)


@pytest.mark.parametrize("text", ["", "\n\n"])
def test_csv_empty_file(tmp_path, text):
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match=r"data\.csv: file is empty"):
        load_csv(path)


def test_csv_header_without_rows(tmp_path):
    with pytest.raises(ValueError, match="no data rows"):
        load_csv(_write(tmp_path, "a,b\n"))


def test_csv_row_with_wrong_field_count(tmp_path):
    with pytest.raises(ValueError, match=r"line 3: expected 3 fields .* found 2"):
        load_csv(_write(tmp_path, "a,b,y\n1,2,0\n1,2\n"))


def test_csv_fractional_numeric_label(tmp_path):
    with pytest.raises(ValueError, match=r"line 3, column 'y': class label '1.5'"):
        load_csv(_write(tmp_path, "a,y\n1,0\n2,1.5\n"))


def test_csv_empty_label(tmp_path):
    with pytest.raises(ValueError, match=r"line 2, column 'y': missing class label"):
        load_csv(_write(tmp_path, "a,y\n1,\n2,1\n"))


def test_csv_repeated_header_names(tmp_path):
    with pytest.raises(ValueError, match=r"repeats column names \['a'\]"):
        load_csv(_write(tmp_path, "a,a,y\n1,2,0\n"))


def test_npz_happy_path_converts_dtypes(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.arange(6, dtype=np.int32).reshape(3, 2), y=np.array([0.0, 2.0, 1.0]))
    x, y = load_npz(path)
    assert x.dtype == np.float32 and x.tolist() == [[0, 1], [2, 3], [4, 5]]
    assert y.dtype == np.int64 and y.tolist() == [0, 2, 1]


def test_npz_missing_key_names_what_was_found(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((2, 2)), labels=np.zeros(2))
    with pytest.raises(ValueError) as error:
        load_npz(path)
    assert "['y']" in str(error.value) and "labels" in str(error.value)


@pytest.mark.parametrize("content", [b"this is not a zip archive", b""])
def test_npz_not_an_npz(tmp_path, content):
    path = tmp_path / "d.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a valid .npz file"):
        load_npz(path)


def test_npz_that_is_really_an_npy(tmp_path):
    path = tmp_path / "d.npz"
    with open(path, "wb") as f:
        np.save(f, np.ones(3))
    with pytest.raises(ValueError, match="single array"):
        load_npz(path)


def test_npz_refuses_pickled_objects(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((2, 1)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError):
        load_npz(path)


def test_npz_length_mismatch_and_missing_file(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((3, 2)), y=np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match=r"x \(3, 2\), y \(2,\)"):
        load_npz(path)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        load_npz(tmp_path / "missing.npz")


# --- nothing converts inexactly ------------------------------------------------------------------


@pytest.mark.parametrize(
    "y, message",
    [
        (np.array([0, 1e300]), r"y\[1\] = 1e\+300 is past 999"),  # was INT64_MIN
        (
            np.array([0, np.iinfo(np.uint64).max], dtype=np.uint64),
            r"y\[1\] = 18446744073709551615 is past 999",
        ),  # was -1
        (np.array([0.0, np.nan]), r"y\[1\] = nan is not a whole number"),
        (np.array([1, -1]), r"y\[1\] = -1 is negative"),
        (np.array([0, 1 + 2j]), "y must hold whole-number class labels, got dtype complex128"),
    ],
)
def test_npz_labels_that_would_not_convert_exactly_are_refused(tmp_path, y, message):
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 3)), y=y)
    with pytest.raises(ValueError, match=message):
        load_npz(tmp_path / "d.npz")


def test_npz_complex_features_are_refused_not_cut_to_their_real_part(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.array([[1 + 2j, 0], [3, 4]]), y=np.array([0, 1]))
    with pytest.raises(ValueError, match="x is complex .*the imaginary part would be lost"):
        load_npz(tmp_path / "d.npz")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e300])
def test_npz_features_that_are_not_finite_float32_are_refused_with_their_place(tmp_path, bad):
    x = np.zeros((3, 2))
    x[2, 1] = bad
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1, 0]))
    with pytest.raises(ValueError, match=r"d.npz: x\[2, 1\] = .* is not a finite float32"):
        load_npz(tmp_path / "d.npz")


@pytest.mark.parametrize("cell", ["nan", "NaN", "inf", "-Infinity", "1e39"])
def test_csv_features_that_are_not_finite_float32_are_refused_with_line_and_column(tmp_path, cell):
    path = _write(tmp_path, f"a,b,y\n1,2,0\n3,{cell},1\n")
    with pytest.raises(ValueError, match=r"line 3, column 'b': .* is not a finite float32"):
        load_csv(path)


def test_a_wide_csv_header_is_checked_in_linear_time_and_bounded(tmp_path):
    import time

    from gradgate.data import MAX_COLUMNS

    for columns in (MAX_COLUMNS, 25_000):  # 25,000 columns (214 KB) took 6-14 s
        names = [f"c{i}" for i in range(columns)]
        path = _write(tmp_path, ",".join(names) + "\n" + ",".join("1" * columns) + "\n")
        start = time.perf_counter()
        if columns > MAX_COLUMNS:
            with pytest.raises(
                ValueError, match=f"25000 columns; gradgate reads at most {MAX_COLUMNS}"
            ):
                load_csv(path)
        else:
            assert load_csv(path).x.shape == (1, columns - 1)
        assert time.perf_counter() - start < 0.5
    path = _write(tmp_path, ",".join([*names[:9_998], "c5", "c7"]) + "\n" + "1," * 9_999 + "1\n")
    with pytest.raises(ValueError, match=r"header repeats column names \['c5', 'c7'\]"):
        load_csv(path)


def test_labels_are_read_as_a_models_classes(tmp_path):
    path = _write(tmp_path, "a,kind\n1,virginica\n2,versicolor\n")
    names = ["setosa", "versicolor", "virginica"]
    data = load_csv(path, classes=names)
    assert data.y.tolist() == [2, 1] and data.class_names == names
    with pytest.raises(
        ValueError,
        match=r"line 2, column 'kind': class label 'virginica' is "
        r"not one the model knows \(setosa, versicolor\)",
    ):
        load_csv(path, classes=names[:2])
    numbers = _write(tmp_path, "a,y\n1,0\n2,3\n", "numbers.csv")
    with pytest.raises(
        ValueError,
        match=r"line 3, column 'y': class label '3' is not a class "
        r"the model knows \(its classes are 0 .. 2\)",
    ):
        load_csv(numbers, classes=3)
    with pytest.raises(ValueError, match="'virginica' is not a class number"):
        load_csv(path, classes=3)
    assert load_csv(numbers, labels=False).x.tolist() == [[1, 0], [2, 3]]
