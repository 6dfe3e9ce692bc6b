"""Fuzzing the file readers: gradgate.io.load, gradgate.data.load_csv and load_npz.

Random bytes, random text, valid files truncated or with bytes changed, and headers that
lie about sizes. Each reader may only succeed (with well-formed results) or raise its
documented error: CheckpointError for load, ValueError naming the file for load_csv and
load_npz (docs/errors.md). No other exception, no hang (a hypothesis deadline), and no
large allocation: every call runs under tracemalloc, which NumPy reports its buffers to,
and may not allocate more than ALLOCATION_LIMIT.

GRADGATE_FUZZ_EXAMPLES raises the number of examples, as for the graph fuzzer.
"""

from __future__ import annotations

import io
import json
import os
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradgate as gg
from gradgate.data import load_csv, load_npz
from gradgate.io import CheckpointError

ALLOCATION_LIMIT = 32 * 2**20  # far more than any fuzzed file, far less than a lying header
_LONG = int(os.environ.get("GRADGATE_FUZZ_EXAMPLES", "0"))


def budget(ci: int) -> settings:
    return settings(
        max_examples=_LONG or ci,
        deadline=2000,  # ms: a hang fails
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def bounded(call: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    """``call()``'s result or exception, checking that it allocated less than the limit."""
    tracemalloc.start()
    try:
        result, error = call(), None
    except Exception as caught:
        result, error = None, caught
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < ALLOCATION_LIMIT, f"allocated {peak / 2**20:.0f} MiB"
    return result, error


def mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    """``data`` with the byte at each (position, value) replaced (positions wrap)."""
    out = bytearray(data)
    for position, value in edits:
        if out:
            out[position % len(out)] = value
    return bytes(out)


edits = st.lists(st.tuples(st.integers(0, 2**16), st.integers(0, 255)), min_size=1, max_size=4)


# --- checkpoints ---------------------------------------------------------------------------

CHECKPOINT = {
    "model": {
        "0.weight": gg.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True),
        "0.bias": np.array([0.5, -1.0, 2.0], dtype=np.float32),
    },
    "optimizer": {"state": {0: {"momentum_buffer": np.ones((3, 4))}}, "lr": 0.1},
    "epoch": 7,
    "names": ["a", "b"],
    "labels": np.array([1, 2, 3]),
}


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("ckpt") / "good.ckpt"
    gg.save(CHECKPOINT, path)
    return path.read_bytes()


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, dict):
        return isinstance(a, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in b)
    if isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(b, gg.Tensor):
        return isinstance(a, gg.Tensor) and _same(a.numpy(), b.numpy())
    if isinstance(b, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return type(a) is type(b) and a == b


def load_checkpoint(path: Path, data: bytes) -> Any:
    """Write ``data`` and load it: the result, or None after a CheckpointError."""
    path.write_bytes(data)
    result, error = bounded(lambda: gg.load(path))
    if error is not None:
        assert isinstance(error, CheckpointError), f"{type(error).__name__}: {error}"
        assert str(path) in str(error)
    return result


@budget(ci=300)
@given(
    data=st.one_of(
        st.binary(max_size=512),
        st.binary(max_size=512).map(lambda b: b"PK\x03\x04" + b),
        st.binary(max_size=512).map(lambda b: b"PK\x05\x06" + b),
    )
)
def test_load_of_random_bytes_raises_checkpoint_error(tmp_path, data):
    assert load_checkpoint(tmp_path / "random.ckpt", data) is None


@budget(ci=300)
@given(cut=st.integers(0, 2**16), changes=edits, truncate=st.booleans())
def test_load_of_a_damaged_checkpoint_is_refused_or_unchanged(
    tmp_path, checkpoint_bytes, cut, changes, truncate
):
    data = (
        checkpoint_bytes[: cut % len(checkpoint_bytes)]
        if truncate
        else mutate(checkpoint_bytes, changes)
    )
    result = load_checkpoint(tmp_path / "damaged.ckpt", data)
    assert result is None or _same(result, CHECKPOINT), "a damaged file loaded as other values"


def _npy(shape: tuple[int, ...], dtype: str = "<f8", payload: bytes = b"") -> bytes:
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        stream, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    return stream.getvalue() + payload


def _checkpoint_with(
    entry: bytes, shape: list[int], dtype: str = "<f8", file_size: int | None = None
) -> bytes:
    """A checkpoint whose one array entry is ``entry``; the manifest states ``shape``."""
    manifest = {
        "format": "gradgate-checkpoint",
        "version": 1,
        "root": {"type": "ndarray", "entry": "arrays/0.npy", "dtype": dtype, "shape": shape},
    }
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("arrays/0.npy", entry)
    data = stream.getvalue()
    if file_size is not None:  # make the ZIP directory lie about the entry's size
        info = zipfile.ZipFile(io.BytesIO(data)).getinfo("arrays/0.npy")
        real = info.file_size.to_bytes(4, "little")
        data = data.replace(real + real, real + file_size.to_bytes(4, "little"))
    return data


@pytest.mark.parametrize("shape", [(10**12,), (10**6, 10**6), (2**31, 8)])
def test_a_header_declaring_a_huge_array_is_refused_fast(tmp_path, shape):
    for data in (
        _checkpoint_with(_npy(shape, payload=b"\0" * 64), list(shape)),  # both agree, and lie
        _checkpoint_with(_npy(shape, payload=b"\0" * 64), list(shape), file_size=2**32 - 1),
    ):
        start = time.perf_counter()
        assert load_checkpoint(tmp_path / "huge.ckpt", data) is None
        assert time.perf_counter() - start < 1.0


# --- CSV -----------------------------------------------------------------------------------

GOOD_CSV = "a,b,label\n1.5,2,cat\n-3,4e2,dog\n\n0,0.25,cat\n"


def load_csv_file(path: Path, data: bytes) -> Any:
    path.write_bytes(data)
    result, error = bounded(lambda: load_csv(path))
    if error is not None:
        assert isinstance(error, ValueError), f"{type(error).__name__}: {error}"
        assert str(path) in str(error), f"the message does not name the file: {error}"
        return None
    n = len(result.y)
    assert result.x.shape == (n, len(result.feature_names)) and result.x.dtype == np.float32
    assert result.y.dtype == np.int64 and n > 0
    return result


@budget(ci=300)
@given(
    text=st.text(alphabet=st.sampled_from(list(',"\n\r\t .-+e0123456789abcnaN\x00é')), max_size=200)
)
def test_load_csv_of_random_text_gives_data_or_value_error(tmp_path, text):
    load_csv_file(tmp_path / "random.csv", text.encode("utf-8"))


@budget(ci=200)
@given(data=st.binary(max_size=300))
def test_load_csv_of_random_bytes_gives_data_or_value_error(tmp_path, data):
    load_csv_file(tmp_path / "random.csv", data)
    load_csv_file(tmp_path / "random.csv.gz", data)


@budget(ci=200)
@given(changes=edits)
def test_load_csv_of_a_mutated_file_gives_data_or_value_error(tmp_path, changes):
    load_csv_file(tmp_path / "mutated.csv", mutate(GOOD_CSV.encode(), changes))


@pytest.mark.parametrize(
    "data",
    [
        b"a,b\n1," + b"9" * 200_000 + b"\n",  # one field beyond the csv module's limit
        b"\xff\xfeb\x00,\x00a\x00\n",  # UTF-16, not UTF-8
        b'a,b\n"1,2\n',  # a quote never closed
        b"0\r1e20",  # found by the fuzzer: a whole-number label beyond int64 (OverflowError)
    ],
    ids=["huge field", "UTF-16", "open quote", "label beyond int64"],
)
def test_load_csv_names_the_file_for_unreadable_content(tmp_path, data):
    assert load_csv_file(tmp_path / "bad.csv", data) is None


@pytest.mark.parametrize("data", [b"not gzip at all", b"\x1f\x8b\x08\x00garbage", b"\x1f\x8b"])
def test_load_csv_of_a_broken_gz_file_raises_value_error(tmp_path, data):
    assert load_csv_file(tmp_path / "bad.csv.gz", data) is None


def test_load_csv_and_npz_of_missing_files_raise_file_not_found(tmp_path):
    for loader in (load_csv, load_npz):
        with pytest.raises(FileNotFoundError):
            loader(tmp_path / "missing")


# --- NPZ -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def npz_files() -> tuple[bytes, bytes]:
    """The same arrays written by np.savez and by np.savez_compressed."""
    files = []
    for save in (np.savez, np.savez_compressed):
        stream = io.BytesIO()
        save(stream, x=np.arange(12.0).reshape(4, 3), y=np.array([0, 1, 1, 0]))
        files.append(stream.getvalue())
    return files[0], files[1]


def load_npz_file(path: Path, data: bytes) -> Any:
    path.write_bytes(data)
    result, error = bounded(lambda: load_npz(path))
    if error is not None:
        assert isinstance(error, ValueError), f"{type(error).__name__}: {error}"
        assert str(path) in str(error), f"the message does not name the file: {error}"
        return None
    x, y = result
    assert x.dtype == np.float32 and y.dtype == np.int64 and y.ndim == 1 and len(x) == len(y)
    return result


@budget(ci=200)
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.binary(max_size=400).map(lambda b: b"PK\x03\x04" + b),
        st.binary(max_size=400).map(lambda b: b"\x93NUMPY" + b),
    )
)
def test_load_npz_of_random_bytes_raises_value_error(tmp_path, data):
    assert load_npz_file(tmp_path / "random.npz", data) is None


@budget(ci=300)
@given(cut=st.integers(0, 2**16), changes=edits, truncate=st.booleans(), compressed=st.booleans())
def test_load_npz_of_a_damaged_file_gives_data_or_value_error(
    tmp_path, npz_files, cut, changes, truncate, compressed
):
    good = npz_files[compressed]
    data = good[: cut % len(good)] if truncate else mutate(good, changes)
    load_npz_file(tmp_path / "damaged.npz", data)


def test_load_npz_of_a_zip_needing_a_newer_zip_version_raises_value_error(tmp_path, npz_files):
    """Found by the fuzzer: one changed byte in the ZIP directory made zipfile raise
    NotImplementedError ("zip file version 6.4") through np.load."""
    assert load_npz_file(tmp_path / "v.npz", mutate(npz_files[0], [(500, 64)])) is None


def _npz_with(x_entry: bytes, compress: bool = False) -> bytes:
    stream = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(stream, "w", compression=method) as archive:
        archive.writestr("x.npy", x_entry)
        archive.writestr("y.npy", _npy((4,), "<i8", b"\0" * 32))
    return stream.getvalue()


@pytest.mark.parametrize("shape", [(10**12,), (10**6, 10**6), (2**31, 8), (4, 3 * 10**8)])
@pytest.mark.parametrize("compress", [False, True])
def test_an_npz_header_declaring_a_huge_array_is_refused_fast(tmp_path, shape, compress):
    start = time.perf_counter()
    data = _npz_with(_npy(shape, payload=b"\0" * 96), compress)
    assert load_npz_file(tmp_path / "huge.npz", data) is None
    assert time.perf_counter() - start < 1.0


header_text = st.text(
    alphabet=st.sampled_from(list("{}()[]':,<>f8i4 descrshapeTruFls\x00\n")), max_size=80
)


def _raw_npy(header: str, payload: bytes = b"\0" * 24) -> bytes:
    """A .npy entry whose header is ``header`` verbatim (padded as NumPy pads it)."""
    body = header.encode("latin-1", "replace")
    body += b" " * (-(len(body) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body + payload


@budget(ci=200)
@given(header=header_text)
def test_an_npz_with_a_mangled_npy_header_is_refused(tmp_path, header):
    load_npz_file(tmp_path / "mangled.npz", _npz_with(_raw_npy(header)))


def test_load_npz_reads_an_entry_named_without_npy_suffix_or_refuses_it(tmp_path, npz_files):
    """Found by the fuzzer: a zeroed byte renamed entry 'x.npy' to 'x', which NumPy still
    serves as array x; the size check looked for 'x.npy' only and raised KeyError."""
    renamed = mutate(npz_files[0], [(541, 0)])
    assert zipfile.ZipFile(io.BytesIO(renamed)).namelist()[0] == "x"
    load_npz_file(tmp_path / "renamed.npz", renamed)
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("x", _npy((4,), payload=b"\0" * 32))
        archive.writestr("y.npy", _npy((4,), "<i8", b"\0" * 32))
    x, y = load_npz_file(tmp_path / "plain-names.npz", stream.getvalue())
    assert x.shape == (4,) and y.shape == (4,)


UNBALANCED = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, }\x00"


def test_an_npz_header_that_makes_numpy_raise_token_error_is_refused(tmp_path):
    """Found by the fuzzer: NumPy retries a header it cannot parse with its tokenizer,
    which raises tokenize.TokenError on unbalanced brackets."""
    assert load_npz_file(tmp_path / "token.npz", _npz_with(_raw_npy(UNBALANCED))) is None


def test_a_checkpoint_header_that_makes_numpy_raise_token_error_is_refused(tmp_path):
    data = _checkpoint_with(_raw_npy(UNBALANCED), [3])
    assert load_checkpoint(tmp_path / "token.ckpt", data) is None


@pytest.mark.parametrize("version", [b"\x01\x00\xff\xff", b"\x02\x00\xff\xff\xff\xff"])
def test_a_npy_header_length_of_gigabytes_is_not_read(tmp_path, version):
    """Found by the fuzzer: NumPy reads a .npy header of the length it declares (up to
    4 GiB) before checking it; load_npz refuses a .npy file by its first bytes."""
    assert load_npz_file(tmp_path / "long.npz", b"\x93NUMPY" + version) is None
    entry = b"\x93NUMPY" + version + b"{" * 64  # the same inside an .npz archive
    assert load_npz_file(tmp_path / "long-entry.npz", _npz_with(entry)) is None


def test_an_npz_with_object_arrays_is_refused_without_unpickling(tmp_path):
    stream = io.BytesIO()
    np.savez(stream, x=np.array([{"a": 1}], dtype=object), y=np.array([0]))
    assert load_npz_file(tmp_path / "objects.npz", stream.getvalue()) is None
