"""Loaders for the user's own data: a headed CSV file or an ``.npz`` archive.

Both return features ``x`` as float32 of shape ``(n, ...)`` and class labels ``y`` as int64
of shape ``(n,)``, the same conventions as the built-in datasets. Nothing is converted
inexactly: a feature that is NaN, infinite, complex or beyond float32's range, and a label
that is not a class number ``0 .. MAX_CLASSES - 1`` (or a class name), is an error that
names the file and the place.

A model's classes (``classes=``) are either its class names, in class order, or its number
of classes when its labels are class numbers; given them, the labels of a file are read as
that model's classes, and a label the model does not know is an error naming it.
"""

from __future__ import annotations

import csv
import gzip
import os
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradgate.archives import ArchiveError, check_npy_entry

__all__ = [
    "MAX_CLASSES",
    "MAX_COLUMNS",
    "CsvData",
    "class_numbers",
    "csv_columns",
    "load_csv",
    "load_npz",
    "parse_csv",
]

MAX_CLASSES = 1000  # labels are class numbers 0 .. 999, or at most 1000 class names
MAX_COLUMNS = 10_000  # columns of a CSV file
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_NOT_FINITE = "is not a finite float32 number (NaN, Inf and values beyond ±3.4e38 are refused)"
_LABELS_ARE = "labels are class numbers 0, 1, 2, ... or class names"

Classes = Sequence[str] | int | None  # a model's class names, or its number of classes


@dataclass(frozen=True)
class CsvData:
    """What `load_csv` read: the arrays plus the names that give them meaning.

    ``x`` is float32 of shape ``(n, len(feature_names))`` and ``y`` is int64 of shape ``(n,)``
    (None when read with ``labels=False``). ``class_names[k]`` is the string that label ``k``
    stands for when the target column held names; it is ``None`` when the target column was
    numeric (the labels are then the numbers).
    """

    x: np.ndarray
    y: np.ndarray | None
    feature_names: list[str]
    target_name: str | None
    class_names: list[str] | None


def load_csv(
    path: str | os.PathLike[str],
    target: str | None = None,
    *,
    classes: Classes = None,
    labels: bool = True,
) -> CsvData:
    """Read a CSV file with a header line into features and integer class labels.

    The column named ``target`` (default: the last column) becomes ``y``; every other column
    must be numeric and becomes a feature. If every target value is a number, each must be a
    class number (a whole number from 0 to ``MAX_CLASSES - 1``) and is used as the label.
    Otherwise the values are class names, mapped to 0, 1, 2, ... in sorted order, and listed
    in ``CsvData.class_names``. With ``classes`` (a model's, see the module's docstring) the
    labels are read as that model's classes instead. With ``labels=False`` every column is a
    feature. Blank lines are skipped; a file ending in ``.gz`` is decompressed.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file (and,
    for a bad value, the line number and column) for any content that cannot be read.
    """
    source = os.fspath(path)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"CSV file not found: {source!r}")
    try:
        with _open_text(source) as stream:
            return parse_csv(stream, source, target, classes=classes, labels=labels)
    except UnicodeDecodeError as error:
        raise ValueError(f"{source}: not UTF-8 text ({error.reason})") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise ValueError(f"{source}: not a valid gzip file ({error})") from None


def csv_columns(path: str | os.PathLike[str]) -> list[str]:
    """The column names on the header line of a CSV file (read as `load_csv` reads it)."""
    source = os.fspath(path)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"CSV file not found: {source!r}")
    try:
        with _open_text(source) as stream:
            reader = csv.reader(stream)
            return _read_header(_rows(reader, source), source)
    except UnicodeDecodeError as error:
        raise ValueError(f"{source}: not UTF-8 text ({error.reason})") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise ValueError(f"{source}: not a valid gzip file ({error})") from None


def _open_text(source: str) -> Any:
    if source.endswith(".gz"):
        return gzip.open(source, "rt", encoding="utf-8-sig", newline="")
    return open(source, encoding="utf-8-sig", newline="")


def parse_csv(
    lines: Iterable[str],
    source: str,
    target: str | None = None,
    *,
    classes: Classes = None,
    labels: bool = True,
) -> CsvData:
    """Parse headed CSV text already opened as ``lines``; ``source`` names it in errors.

    The rules are those of `load_csv`, which opens a path and calls this.
    """
    reader = csv.reader(lines)
    rows = _rows(reader, source)
    header = _read_header(rows, source)
    target_index = None
    if labels:
        target_name = header[-1] if target is None else target
        if target_name not in header:
            raise ValueError(
                f"{source}: no target column {target_name!r}; the columns are {header}"
            )
        target_index = header.index(target_name)
    feature_index = [i for i in range(len(header)) if i != target_index]

    features: list[list[float]] = []
    targets: list[str] = []
    line_numbers: list[int] = []
    for row in rows:
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ValueError(
                f"{source}, line {reader.line_num}: expected {len(header)} fields "
                f"(one per header column), found {len(row)}"
            )
        features.append(_row_to_floats(row, feature_index, header, source, reader.line_num))
        line_numbers.append(reader.line_num)
        if target_index is not None:
            label = row[target_index].strip()
            if not label:
                raise ValueError(
                    f"{source}, line {reader.line_num}, column {header[target_index]!r}: "
                    "missing class label"
                )
            targets.append(label)
    if not line_numbers:
        raise ValueError(f"{source}: has a header line but no data rows")

    x = np.asarray(features, dtype=np.float64).reshape(len(line_numbers), len(feature_index))
    bad = _first_bad_feature(x)
    if bad is not None:
        i, j = bad
        raise ValueError(
            f"{source}, line {line_numbers[i]}, column {header[feature_index[j]]!r}: "
            f"{x[i, j]:g} {_NOT_FINITE}"
        )
    y, class_names = None, None
    if target_index is not None:
        where = [f"{source}, line {n}, column {header[target_index]!r}" for n in line_numbers]
        y, class_names = _labels(targets, where, classes, source)
    return CsvData(
        x=x.astype(np.float32),
        y=y,
        feature_names=[header[i] for i in feature_index],
        target_name=header[target_index] if target_index is not None else None,
        class_names=class_names,
    )


def _rows(reader: Any, source: str) -> Iterator[list[str]]:
    """The reader's rows; the csv module's own errors (a field over its size limit, a
    quote left open) become ValueError naming the file and line."""
    try:
        yield from reader
    except csv.Error as error:
        raise ValueError(f"{source}, line {reader.line_num}: {error}") from None


def _read_header(reader: Iterable[list[str]], source: str) -> list[str]:
    """Return the first non-blank row, stripped; reject an empty file, too many columns or
    repeated names."""
    for row in reader:
        if row and any(cell.strip() for cell in row):
            header = [cell.strip() for cell in row]
            if len(header) > MAX_COLUMNS:
                raise ValueError(
                    f"{source}: the header has {len(header)} columns; gradgate reads at most "
                    f"{MAX_COLUMNS} (save wider data as .npz)"
                )
            repeated = sorted(name for name, n in Counter(header).items() if n > 1)
            if repeated:
                raise ValueError(f"{source}: header repeats column names {repeated}")
            return header
    raise ValueError(f"{source}: file is empty (expected a header line with column names)")


def _row_to_floats(
    row: list[str], columns: list[int], header: list[str], source: str, line: int
) -> list[float]:
    """Convert the cells of ``row`` at ``columns`` to floats, naming the first bad one."""
    values = []
    for i in columns:
        try:
            values.append(float(row[i]))
        except ValueError:
            raise ValueError(
                f"{source}, line {line}, column {header[i]!r}: "
                f"could not convert {row[i]!r} to a number"
            ) from None
    return values


def _labels(
    values: list[str], where: list[str], classes: Classes, source: str
) -> tuple[np.ndarray, list[str] | None]:
    """The target column as int64 labels, and the class names when it holds names."""
    if classes is not None and not isinstance(classes, int):  # the model's class names
        names = list(classes)
        index = {name: k for k, name in enumerate(names)}
        for value, place in zip(values, where, strict=True):
            if value not in index:
                raise ValueError(
                    f"{place}: class label {value!r} is not one the model knows ({_listed(names)})"
                )
        return np.asarray([index[value] for value in values], dtype=np.int64), names
    numbers: list[float] = []
    for value, place in zip(values, where, strict=True):
        try:
            numbers.append(float(value))
        except ValueError:
            if classes is not None:
                raise ValueError(
                    f"{place}: class label {value!r} is not a class number; the model's "
                    f"classes are 0 .. {classes - 1}"
                ) from None
            break
    else:
        y = np.asarray(numbers, dtype=np.float64)
        bad = first_bad_label(y, classes)
        if bad is not None:
            raise ValueError(f"{where[bad[0]]}: class label {values[bad[0]]!r} {bad[1]}")
        return y.astype(np.int64), None
    names = sorted(set(values))
    if len(names) > MAX_CLASSES:
        raise ValueError(
            f"{source}: {len(names)} class names; gradgate trains at most {MAX_CLASSES} classes"
        )
    index = {name: k for k, name in enumerate(names)}
    return np.asarray([index[value] for value in values], dtype=np.int64), names


def first_bad_label(y: np.ndarray, classes: int | None = None) -> tuple[int, str] | None:
    """The index of the first of ``y`` (numbers) that is not a class number, and why; None
    when every one is. With ``classes`` (a model's number of them) a class number must be
    below it, otherwise below ``MAX_CLASSES``."""
    checks: list[tuple[np.ndarray, str]] = []
    if y.dtype.kind in "fc":
        with np.errstate(invalid="ignore"):
            checks.append((~(np.isfinite(y) & (y == np.round(y))),
                           f"is not a whole number ({_LABELS_ARE})"))  # fmt: skip
    if y.dtype.kind in "biuf":
        checks.append((y < 0, f"is negative ({_LABELS_ARE})"))
        if classes is not None:
            past = f"is not a class the model knows (its classes are 0 .. {classes - 1})"
        else:
            past = (f"is past {MAX_CLASSES - 1}, the largest class number gradgate trains "
                    f"(at most {MAX_CLASSES} classes)")  # fmt: skip
        with np.errstate(invalid="ignore"):
            checks.append((y >= (classes if classes is not None else MAX_CLASSES), past))
    for bad, why in checks:
        if bad.any():
            return int(np.argmax(bad)), why
    return None


def _first_bad_feature(x: np.ndarray) -> tuple[int, ...] | None:
    """The index of the first feature that float32 cannot hold exactly enough to mean the
    same (NaN, ±Inf, beyond ±3.4e38); None when there is none."""
    if x.dtype.kind != "f":
        return None  # bool and integers fit (the largest int64 is far below float32's max)
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(x) <= _FLOAT32_MAX)  # NaN compares False
    if not bad.any():
        return None
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), x.shape))


def _listed(names: list[str]) -> str:
    return ", ".join(names[:10]) + (f", ... ({len(names)} in all)" if len(names) > 10 else "")


def load_npz(
    path: str | os.PathLike[str], *, classes: Classes = None, labels: bool | None = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read arrays ``x`` and ``y`` from an ``.npz`` file written by ``np.savez``.

    ``x`` is returned as float32 and ``y`` as int64 class labels; they must have the same
    length and ``y`` must be one-dimensional with class numbers (whole numbers from 0 to
    ``MAX_CLASSES - 1``, or below ``classes`` when a model's number of classes is given).
    With ``labels=False`` only ``x`` is read and ``y`` is None; with ``labels=None``, ``y``
    is read when the archive has one. Pickled objects are refused (``allow_pickle=False``).
    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a file that is not
    an ``.npz`` archive, lacks ``x`` or ``y``, or holds values that do not convert exactly.
    """
    source = os.fspath(path)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"npz file not found: {source!r}")
    with open(source, "rb") as stream:  # np.load would read a .npy header of any length
        magic = stream.read(6)
    if magic == b"\x93NUMPY":
        raise ValueError(f"{source}: holds a single array (.npy format), not an .npz archive")
    if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise ValueError(f"{source}: not a valid .npz file (not a ZIP archive)")
    try:
        archive = np.load(source, allow_pickle=False)
    except (ValueError, OSError, EOFError, NotImplementedError, zipfile.BadZipFile) as error:
        # NotImplementedError: zipfile's "zip file version 6.4", a damaged directory
        raise ValueError(f"{source}: not a valid .npz file ({error})") from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{source}: holds a single array (.npy format), not an .npz archive")
    with archive:
        if labels is None:
            labels = "y" in archive.files
        keys = ("x", "y") if labels else ("x",)
        missing = [key for key in keys if key not in archive.files]
        if missing:
            raise ValueError(
                f"{source}: missing array(s) {missing}; found {sorted(archive.files)} "
                "(save with np.savez(path, x=features, y=labels))"
            )
        size, zipped = os.path.getsize(source), archive.zip
        assert zipped is not None  # open until the archive is closed
        for key in keys:  # the entry NumPy reads: "x" itself if there is one, else "x.npy"
            entry = key if key in zipped.namelist() else f"{key}.npy"
            try:  # before NumPy allocates what the header declares
                check_npy_entry(zipped, zipped.getinfo(entry), size)
            except ArchiveError as error:
                raise ValueError(f"{source}: {error}") from None
        try:
            arrays = [archive[key] for key in keys]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"{source}: could not read arrays x and y ({error})") from error
    x = _checked_features(arrays[0], source)
    if not labels:
        return x, None
    return x, _checked_labels(arrays[1], x.shape, source, classes)


def _checked_features(x: np.ndarray, source: str) -> np.ndarray:
    """``x`` as float32, when every value converts to what it means."""
    if x.ndim < 1:
        raise ValueError(f"{source}: x must have shape (n, ...), got {x.shape}")
    if x.dtype.kind == "c":
        raise ValueError(
            f"{source}: x is complex ({x.dtype}); features must be real numbers (the "
            "imaginary part would be lost)"
        )
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{source}: x must be numeric, got dtype {x.dtype}")
    bad = _first_bad_feature(x)
    if bad is not None:
        raise ValueError(f"{source}: x[{', '.join(map(str, bad))}] = {x[bad]:g} {_NOT_FINITE}")
    return x.astype(np.float32)


def _checked_labels(
    y: np.ndarray, x_shape: tuple[int, ...], source: str, classes: Classes
) -> np.ndarray:
    if y.ndim != 1 or len(y) != x_shape[0]:
        raise ValueError(
            f"{source}: x must have shape (n, ...) and y shape (n,); got x {x_shape}, y {y.shape}"
        )
    return class_numbers(y, source, classes, "y")


def class_numbers(
    y: np.ndarray, source: str, classes: Classes = None, name: str = "label"
) -> np.ndarray:
    """``y`` as int64 class labels, once each is a class number (of the model's, with
    ``classes``); otherwise ValueError naming ``source`` and the first bad ``name[i]``."""
    if y.dtype.kind not in "biuf":
        raise ValueError(
            f"{source}: {name} must hold whole-number class labels, got dtype {y.dtype}"
        )
    if classes is not None and not isinstance(classes, int):
        raise ValueError(
            f"{source}: {name} holds class numbers, but the model knows its classes by name "
            f"({_listed(list(classes))}); give a CSV file with those names"
        )
    bad = first_bad_label(y, classes)
    if bad is not None:
        raise ValueError(f"{source}: {name}[{bad[0]}] = {y[bad[0]]} {bad[1]}")
    return y.astype(np.int64)
