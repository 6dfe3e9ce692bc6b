"""Loaders for the user's own data: a headed CSV file or an ``.npz`` archive.

Both return features ``x`` as float32 of shape ``(n, ...)`` and class labels ``y`` as int64
of shape ``(n,)``, the same conventions as the built-in datasets.
"""

from __future__ import annotations

import csv
import gzip
import os
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradgate.archives import ArchiveError, check_npy_entry

__all__ = ["CsvData", "load_csv", "load_npz", "parse_csv"]


@dataclass(frozen=True)
class CsvData:
    """What `load_csv` read: the arrays plus the names that give them meaning.

    ``x`` is float32 of shape ``(n, len(feature_names))`` and ``y`` is int64 of shape ``(n,)``.
    ``class_names[k]`` is the string that label ``k`` stands for when the target column held
    names; it is ``None`` when the target column was numeric (the labels are then the numbers).
    """

    x: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_name: str
    class_names: list[str] | None


def load_csv(path: str | os.PathLike[str], target: str | None = None) -> CsvData:
    """Read a CSV file with a header line into features and integer class labels.

    The column named ``target`` (default: the last column) becomes ``y``; every other column
    must be numeric and becomes a feature. If every target value is a number, each must be a
    whole number and is used as the label. Otherwise the values are class names, mapped to
    0, 1, 2, ... in sorted order, and listed in ``CsvData.class_names``. Blank lines are
    skipped; a file ending in ``.gz`` is decompressed.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file (and,
    for a bad value, the line number and column) for any content that cannot be read.
    """
    source = os.fspath(path)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"CSV file not found: {source!r}")
    try:
        if source.endswith(".gz"):
            with gzip.open(source, "rt", encoding="utf-8-sig", newline="") as stream:
                return parse_csv(stream, source, target)
        with open(source, encoding="utf-8-sig", newline="") as stream:
            return parse_csv(stream, source, target)
    except UnicodeDecodeError as error:
        raise ValueError(f"{source}: not UTF-8 text ({error.reason})") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise ValueError(f"{source}: not a valid gzip file ({error})") from None


def parse_csv(lines: Iterable[str], source: str, target: str | None = None) -> CsvData:
    """Parse headed CSV text already opened as ``lines``; ``source`` names it in errors.

    The rules are those of `load_csv`, which opens a path and calls this.
    """
    reader = csv.reader(lines)
    rows = _rows(reader, source)
    header = _read_header(rows, source)
    target_name = header[-1] if target is None else target
    if target_name not in header:
        raise ValueError(f"{source}: no target column {target_name!r}; the columns are {header}")
    target_index = header.index(target_name)
    feature_index = [i for i in range(len(header)) if i != target_index]
    feature_names = [header[i] for i in feature_index]

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
        label = row[target_index].strip()
        if not label:
            raise ValueError(
                f"{source}, line {reader.line_num}, column {target_name!r}: missing class label"
            )
        targets.append(label)
        line_numbers.append(reader.line_num)
    if not targets:
        raise ValueError(f"{source}: has a header line but no data rows")

    x = np.asarray(features, dtype=np.float64).reshape(len(targets), len(feature_index))
    y, class_names = _labels(targets, line_numbers, source, target_name)
    return CsvData(
        x=x.astype(np.float32),
        y=y,
        feature_names=feature_names,
        target_name=target_name,
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
    """Return the first non-blank row, stripped; reject an empty file or repeated names."""
    for row in reader:
        if row and any(cell.strip() for cell in row):
            header = [cell.strip() for cell in row]
            repeated = sorted({name for name in header if header.count(name) > 1})
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
    values: list[str], line_numbers: list[int], source: str, column: str
) -> tuple[np.ndarray, list[str] | None]:
    """Turn the target column into int64 labels, and class names when it held strings."""
    numbers: list[float] | None
    try:
        numbers = [float(value) for value in values]
    except ValueError:
        numbers = None
    if numbers is not None:
        for number, value, line in zip(numbers, values, line_numbers, strict=True):
            if not number.is_integer():
                raise ValueError(
                    f"{source}, line {line}, column {column!r}: class label {value!r} "
                    "is not a whole number (labels must be integers or class names)"
                )
            if not -(2**63) <= number < 2**63:  # np.int64 would raise OverflowError
                raise ValueError(
                    f"{source}, line {line}, column {column!r}: class label {value!r} "
                    "is too large for an int64 label"
                )
        return np.asarray(numbers, dtype=np.int64), None
    class_names = sorted(set(values))
    index = {name: k for k, name in enumerate(class_names)}
    return np.asarray([index[value] for value in values], dtype=np.int64), class_names


def load_npz(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read arrays ``x`` and ``y`` from an ``.npz`` file written by ``np.savez``.

    ``x`` is returned as float32 and ``y`` as int64 class labels; they must have the same
    length and ``y`` must be one-dimensional with whole-number values. Pickled objects are
    refused (``allow_pickle=False``). Raises ``FileNotFoundError`` for a missing file and
    ``ValueError`` for a file that is not an ``.npz`` archive or lacks ``x`` or ``y``.
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
        missing = [key for key in ("x", "y") if key not in archive.files]
        if missing:
            raise ValueError(
                f"{source}: missing array(s) {missing}; found {sorted(archive.files)} "
                "(save with np.savez(path, x=features, y=labels))"
            )
        size = os.path.getsize(source)
        for key in ("x", "y"):  # the entry NumPy reads: "x" itself if there is one, else "x.npy"
            entry = key if key in archive.zip.namelist() else f"{key}.npy"
            try:  # before NumPy allocates what the header declares
                check_npy_entry(archive.zip, archive.zip.getinfo(entry), size)
            except ArchiveError as error:
                raise ValueError(f"{source}: {error}") from None
        try:
            x, y = archive["x"], archive["y"]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"{source}: could not read arrays x and y ({error})") from error
    return _check_npz_arrays(x, y, source)


def _check_npz_arrays(x: np.ndarray, y: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate shapes and dtypes of an npz pair and convert to float32 / int64."""
    if x.ndim < 1 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(
            f"{source}: x must have shape (n, ...) and y shape (n,); got x {x.shape}, y {y.shape}"
        )
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise ValueError(f"{source}: x must be numeric, got dtype {x.dtype}")
    if np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_:
        return x.astype(np.float32), y.astype(np.int64)
    if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return x.astype(np.float32), y.astype(np.int64)
    raise ValueError(f"{source}: y must hold whole-number class labels, got dtype {y.dtype}")
