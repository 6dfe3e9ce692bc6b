"""Checkpoints: exact round trips, no pickle ever, refusal of damaged files, atomic writes."""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import types
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradgate.io as ggio
from gradgate.backend import cuda_unavailable_reason
from gradgate.io import CheckpointError, load, save

# ---------------------------------------------------------------------------------------------
# helpers


def assert_same(actual: Any, expected: Any, where: str = "") -> None:
    """Equal values of identical types, down to array dtypes, shapes, bits and key types."""
    assert type(actual) is type(expected), f"{where}: {type(actual)} != {type(expected)}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), where
        for (key, value), actual_key in zip(expected.items(), actual, strict=True):
            assert type(actual_key) is type(key), f"{where}: key {key!r}"
            assert_same(actual[key], value, f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{where}[{i}]")
    elif isinstance(expected, (np.ndarray, np.generic)):
        assert actual.dtype == expected.dtype and actual.dtype.str == expected.dtype.str, where
        assert actual.shape == expected.shape, where
        # Compare bits in C order: exact for NaN payloads and -0.0, whatever the strides.
        assert np.ascontiguousarray(actual).tobytes() == np.ascontiguousarray(expected).tobytes()
    elif isinstance(expected, float):
        assert actual.hex() == expected.hex(), where  # exact, and nan == nan, -0.0 != 0.0
    else:
        assert actual == expected, where


def round_trip(obj: Any, tmp_path: Path) -> Any:
    path = tmp_path / "model.ckpt"
    save(obj, path)
    return load(path)


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_zip(path: Path, contents: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def manifest_bytes(root: dict, version: Any = 1) -> bytes:
    return json.dumps({"format": "gradgate-checkpoint", "version": version, "root": root}).encode()


def array_node(entry: str, dtype: str, shape: list[int]) -> dict:
    return {"type": "ndarray", "entry": entry, "dtype": dtype, "shape": shape}


def expect_refused(path: Path, match: str | None = None) -> CheckpointError:
    """`load(path)` raises a one-line CheckpointError that names the file and matches."""
    with pytest.raises(CheckpointError, match=match) as caught:
        load(path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    return caught.value


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    path = tmp_path / "good.ckpt"
    save({"W": np.arange(12.0).reshape(3, 4), "b": np.ones(4, np.float32), "step": 7}, path)
    return path


# ---------------------------------------------------------------------------------------------
# round trips


def test_nested_structure_round_trips_with_types(tmp_path: Path) -> None:
    obj = {
        "model": {"layer.0.W": np.arange(6.0).reshape(2, 3), "layer.0.b": np.zeros(3)},
        "optimizer": {
            "state": {0: {"momentum": np.full((2, 3), 0.5, np.float32)}, 1: {}},
            "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1]}],
        },
        1: "int key",
        "1": "str key",
        -5: None,
        "flags": [True, False, 1, 0, None],
        "nested": ([], (), {}, [[(1,)]], ("a", ["b", ("c",)])),
        "numbers": [0, -(2**63), 2**100, 0.1, -0.0, 5e-324, float("inf"), -float("inf")],
        "nan": float("nan"),
        "text": ["", "héllo", "\x00", "emoji 🧠", "lone \ud800 surrogate", 'quote " \\'],
        "scalars": [
            np.float64(0.1),
            np.float32(1.5),
            np.float16(-2),
            np.int8(-3),
            np.uint64(2**64 - 1),
            np.bool_(True),
            np.complex64(1 - 2j),
        ],
    }
    assert_same(round_trip(obj, tmp_path), obj)


def test_random_generator_state_round_trips_and_resumes_the_stream(tmp_path: Path) -> None:
    generator = np.random.default_rng(1234)
    generator.standard_normal(10)
    state = generator.bit_generator.state  # nested dicts, str, 128-bit ints (a loader's state)
    expected = generator.standard_normal(5)
    resumed = np.random.default_rng()
    resumed.bit_generator.state = round_trip({"generator": state}, tmp_path)["generator"]
    assert_same(resumed.standard_normal(5), expected)


def test_top_level_values_round_trip(tmp_path: Path) -> None:
    values: list[Any] = [None, 3, 2.5, "x", True, [], (), {}, np.float32(2), np.arange(3)]
    for obj in values:
        assert_same(round_trip(obj, tmp_path), obj)


@pytest.mark.parametrize(
    "dtype",
    [
        np.bool_,
        np.int8,
        np.uint16,
        np.int32,
        np.int64,
        np.float16,
        np.float32,
        np.float64,
        np.complex128,
        ">f8",
        ">i4",
    ],
)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (5,), (2, 3, 4)])
def test_arrays_round_trip_every_dtype_and_shape(tmp_path: Path, dtype: Any, shape: tuple) -> None:
    rng = np.random.default_rng(0)
    array = (rng.standard_normal(shape) * 100).astype(dtype)
    assert_same(round_trip({"a": array}, tmp_path), {"a": array})


def test_special_float_values_in_arrays_keep_their_bits(tmp_path: Path) -> None:
    array = np.array([np.nan, -np.nan, np.inf, -np.inf, -0.0, 5e-324, np.finfo(np.float64).max])
    assert_same(round_trip(array, tmp_path), array)


@pytest.mark.parametrize(
    "view",
    [
        lambda a: a.T,
        lambda a: a[::2, ::3],
        lambda a: a[::-1, 1::2],
        lambda a: np.asfortranarray(a),
        lambda a: a[:, 2],
        lambda a: np.broadcast_to(a[0], (4, *a.shape[1:])),  # zero strides
        lambda a: a.transpose(1, 0, 2)[1:, ::-2],
    ],
    ids=["transposed", "stepped", "reversed", "fortran", "column", "broadcast", "mixed"],
)
def test_non_contiguous_arrays_round_trip_exactly(tmp_path: Path, view: Any) -> None:
    base = np.arange(6 * 7 * 2, dtype=np.float32).reshape(6, 7, 2)
    array = view(base)
    assert not array.flags.c_contiguous or array.flags.f_contiguous
    loaded = round_trip({"v": array}, tmp_path)["v"]
    assert loaded.shape == array.shape and loaded.dtype == array.dtype
    np.testing.assert_array_equal(loaded, array)


def test_saving_same_object_twice_gives_identical_bytes(tmp_path: Path) -> None:
    obj = {"w": np.arange(5.0), "step": 3}
    save(obj, tmp_path / "a.ckpt")
    time.sleep(0.01)
    save(obj, tmp_path / "b.ckpt")
    assert (tmp_path / "a.ckpt").read_bytes() == (tmp_path / "b.ckpt").read_bytes()


def test_file_is_a_zip_of_npy_entries_and_a_json_manifest(tmp_path: Path) -> None:
    path = tmp_path / "m.ckpt"
    save({"W": np.eye(3), "lr": 0.5}, path)
    contents = entries(path)
    manifest = json.loads(contents["manifest.json"])
    assert manifest["format"] == "gradgate-checkpoint" and manifest["version"] == 1
    (key, node), (lr_key, lr_node) = manifest["root"]["items"]
    assert (key, lr_key, lr_node) == ("W", "lr", {"type": "float", "value": "0.5"})
    assert node["type"] == "ndarray" and node["shape"] == [3, 3]
    np.testing.assert_array_equal(np.load(io.BytesIO(contents[node["entry"]])), np.eye(3))


def test_tensors_round_trip(tmp_path: Path) -> None:
    gt = pytest.importorskip("gradgate.tensor")
    weights = gt.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
    counts = gt.tensor(np.array([1, 2, 3], dtype=np.int64))
    doubles = gt.tensor(np.arange(4.0).reshape(2, 2).T)
    loaded = round_trip({"W": weights, "n": counts, "d": doubles, "list": [weights]}, tmp_path)
    for name, original in [("W", weights), ("n", counts), ("d", doubles)]:
        result = loaded[name]
        assert isinstance(result, gt.Tensor)
        assert result.requires_grad == original.requires_grad
        assert_same(np.asarray(result.data), np.asarray(original.data))
    assert isinstance(loaded["list"][0], gt.Tensor)


def test_tensor_protocol_copies_device_arrays_to_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a stand-in Tensor module: `.data.get()` is used for CuPy-like arrays, and loading
    calls `tensor(array, requires_grad=..., dtype=...)`."""

    class DeviceArray:  # what a CuPy array offers: no NumPy, a .get() copy to host
        def __init__(self, host: np.ndarray) -> None:
            self._host = host

        def get(self) -> np.ndarray:
            return self._host

    class Tensor:
        def __init__(self, data: Any, requires_grad: bool = False) -> None:
            self.data, self.requires_grad = data, requires_grad

    def tensor(
        data: Any, requires_grad: bool = False, dtype: Any = None, device: Any = None
    ) -> Tensor:
        assert device == "cpu"
        return Tensor(np.array(data, dtype=dtype), requires_grad)

    stand_in = types.ModuleType("gradgate.tensor")
    stand_in.Tensor, stand_in.tensor = Tensor, tensor  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gradgate.tensor", stand_in)

    host = np.arange(6, dtype=np.float16).reshape(3, 2)
    loaded = round_trip({"w": Tensor(DeviceArray(host), requires_grad=True)}, tmp_path)["w"]
    assert isinstance(loaded, Tensor) and loaded.requires_grad is True
    assert_same(loaded.data, host)


def test_map_location_names_a_device(checkpoint: Path) -> None:
    assert load(checkpoint, map_location="cpu")["step"] == 7
    assert load(checkpoint, map_location=None)["step"] == 7
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        load(checkpoint, map_location="tpu")


@pytest.mark.skipif(cuda_unavailable_reason() is None, reason="a GPU is usable here")
def test_map_location_cuda_without_a_gpu_says_why(checkpoint: Path) -> None:
    with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
        load(checkpoint, map_location="cuda")


# ---------------------------------------------------------------------------------------------
# what save refuses


@pytest.mark.parametrize(
    "obj, message",
    [
        (
            {"optimizer": {"state": [set()]}},
            r"save: unsupported type 'set' at \['optimizer'\]\['state'\]\[0\]$",
        ),
        (object(), r"save: unsupported type 'object' at the top level$"),
        ([1, (2, {3: 1j})], r"unsupported type 'complex' at \[1\]\[1\]\[3\]$"),
        ({"w": np.array([1, "a"], dtype=object)}, r"unsupported dtype 'object' at \['w'\].*pickle"),
        ({"names": np.array(["a", "b"])}, r"unsupported dtype '<U1' at \['names'\]"),
        ({"s": np.str_("a")}, r"unsupported dtype '<U1' at \['s'\]"),
        ({"m": np.ma.masked_array([1, 2], mask=[False, True])}, r"'MaskedArray' at \['m'\]"),
        ({"a": {(1, 2): 3}}, r"unsupported dict key \(1, 2\) of type 'tuple' at \['a'\]"),
        ({True: 1}, r"unsupported dict key True of type 'bool' at the top level"),
        ({np.int64(1): 1}, r"unsupported dict key .* of type 'numpy.int64'"),
    ],
)
def test_unsupported_values_are_refused_naming_their_path(
    tmp_path: Path, obj: Any, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        save(obj, tmp_path / "x.ckpt")
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary file


def test_circular_reference_is_refused(tmp_path: Path) -> None:
    state: dict[str, Any] = {"a": [1]}
    state["a"].append(state)
    with pytest.raises(ValueError, match=r"circular reference at \['a'\]\[1\]"):
        save(state, tmp_path / "x.ckpt")
    shared = [1]
    assert_same(round_trip({"x": shared, "y": shared}, tmp_path), {"x": [1], "y": [1]})


# ---------------------------------------------------------------------------------------------
# no pickle, ever


class _Payload:
    """Unpickling this creates `marker`: the harmless stand-in for arbitrary code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple:
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_malicious_pickle_is_refused_without_running_it(tmp_path: Path, protocol: int) -> None:
    control = tmp_path / "control-marker"
    pickle.loads(pickle.dumps(_Payload(control), protocol=protocol))
    assert control.exists()  # the payload is live: unpickling it does run code

    marker = tmp_path / "pwned-marker"
    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps({"state": _Payload(marker)}, protocol=protocol))
    expect_refused(path, "pickle")
    assert not marker.exists()


def test_pytorch_style_zip_with_pickle_inside_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned-marker"
    path = tmp_path / "torch.ckpt"
    write_zip(path, {"archive/data.pkl": pickle.dumps(_Payload(marker)), "archive/version": b"3"})
    expect_refused(path, "PyTorch checkpoint.*never unpickles")
    assert not marker.exists()


@pytest.mark.parametrize("manifest_dtype", ["|O", "<f8"])
def test_object_array_entries_are_refused_without_unpickling(
    tmp_path: Path, manifest_dtype: str
) -> None:
    marker = tmp_path / "pwned-marker"
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    path = tmp_path / "evil.ckpt"
    write_zip(
        path,
        {
            "manifest.json": manifest_bytes(array_node("a.npy", manifest_dtype, [1])),
            "a.npy": npy_bytes(evil, allow_pickle=True),
        },
    )
    expect_refused(path, "object dtype")
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------
# damaged and foreign files


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.ckpt")


def test_truncated_files_are_refused(checkpoint: Path, tmp_path: Path) -> None:
    data = checkpoint.read_bytes()
    cut_path = tmp_path / "cut.ckpt"
    for length in [
        0,
        1,
        3,
        30,
        100,
        len(data) // 3,
        len(data) // 2,
        len(data) - 60,
        len(data) - 22,
        len(data) - 1,
    ]:
        cut_path.write_bytes(data[:length])
        expect_refused(cut_path)


@pytest.mark.parametrize("prefix", [b"", b"PK\x03\x04", b"\x93NUMPY"])
def test_random_bytes_are_refused(tmp_path: Path, prefix: bytes) -> None:
    rng = np.random.default_rng(1)
    path = tmp_path / "noise.ckpt"
    for size in [1, 22, 1000, 100_000]:
        path.write_bytes(prefix + rng.bytes(size))
        expect_refused(path)


def test_corrupted_bytes_never_escape_as_other_errors(checkpoint: Path, tmp_path: Path) -> None:
    data = bytearray(checkpoint.read_bytes())
    rng = np.random.default_rng(2)
    path = tmp_path / "flipped.ckpt"
    refused = 0
    for _ in range(400):
        damaged = bytearray(data)
        for position in rng.integers(0, len(data), size=rng.integers(1, 4)):
            damaged[position] ^= 1 << int(rng.integers(0, 8))
        path.write_bytes(bytes(damaged))
        try:
            load(path)
        except CheckpointError:
            refused += 1
    assert refused > 300  # CRCs and size checks catch nearly all of them


def test_zip_without_manifest_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.zip"
    write_zip(path, {"arrays/0.npy": npy_bytes(np.zeros(3))})
    expect_refused(path, "no manifest.json")


def test_npy_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.zeros(3))
    expect_refused(path, "numpy.load")


@pytest.mark.parametrize(
    "manifest, match",
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "does not declare"),
        (json.dumps({"format": "other", "version": 1, "root": {}}).encode(), "does not declare"),
        (manifest_bytes({"type": "none"}, version=2), "unknown format version 2.*newer"),
        (manifest_bytes({"type": "none"}, version="1"), "no valid format version"),
        (manifest_bytes({"type": "none"}, version=0), "unknown format version 0"),
        (json.dumps({"format": "gradgate-checkpoint", "version": 1}).encode(), "no 'root'"),
        (manifest_bytes({"type": "pickle", "value": "x"}), "unknown manifest node type 'pickle'"),
        (manifest_bytes({"type": "int", "value": "3"}), "malformed int"),
        (manifest_bytes({"type": "float", "value": 1.5}), "malformed float"),
        (manifest_bytes({"type": "list", "items": {}}), "malformed list"),
        (manifest_bytes({"type": "dict", "items": [[1.5, {"type": "none"}]]}), "malformed dict"),
        (
            manifest_bytes({"type": "dict", "items": [["k", 3]]}),
            r"malformed manifest node at \['k'\]",
        ),
        (manifest_bytes(array_node("arrays/0.npy", "<f8", [-1])), "malformed array"),
        (manifest_bytes(array_node("arrays/9.npy", "<f8", [3])), "missing entry 'arrays/9.npy'"),
        (manifest_bytes(array_node("arrays/0.npy", "not-a-dtype", [3])), "unknown dtype"),
        (manifest_bytes(array_node("arrays/0.npy", "<U3", [3])), "only bool and numeric"),
        (manifest_bytes(array_node("arrays/0.npy", "<f8", [4])), r"shape \(3,\).*shape \(4,\)"),
        (manifest_bytes(array_node("arrays/0.npy", "<f4", [3])), "dtype '<f8'.*dtype '<f4'"),
        (
            manifest_bytes(
                {"type": "scalar", "entry": "arrays/0.npy", "dtype": "<f8", "shape": [3]}
            ),
            "scalar at the top level has shape",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply|not valid JSON"),
    ],
)
def test_invalid_or_lying_manifests_are_refused(
    tmp_path: Path, manifest: bytes, match: str
) -> None:
    path = tmp_path / "bad.ckpt"
    write_zip(path, {"manifest.json": manifest, "arrays/0.npy": npy_bytes(np.zeros(3))})
    expect_refused(path, match)


def test_header_declaring_more_bytes_than_stored_is_refused_before_allocating(
    tmp_path: Path,
) -> None:
    shape = [10**6, 10**6]  # 8 TB of float64 if anyone believed it
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": tuple(shape)}
    )
    path = tmp_path / "huge.ckpt"
    write_zip(
        path,
        {
            "manifest.json": manifest_bytes(array_node("a.npy", "<f8", shape)),
            "a.npy": header.getvalue() + b"\0" * 64,
        },
    )
    expect_refused(path, r"declares 8000000000\d{3} bytes but holds 192")


def test_entry_with_trailing_bytes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.ckpt"
    write_zip(
        path,
        {
            "manifest.json": manifest_bytes(array_node("a.npy", "<f8", [3])),
            "a.npy": npy_bytes(np.zeros(3)) + b"extra",
        },
    )
    expect_refused(path, "declares .* bytes but holds")


def test_entry_that_is_not_npy_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "text.ckpt"
    write_zip(
        path,
        {
            "manifest.json": manifest_bytes(array_node("a.npy", "<f8", [3])),
            "a.npy": b"just some text, not an array",
        },
    )
    expect_refused(path, "not a valid .npy array")


# ---------------------------------------------------------------------------------------------
# atomic writes


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_failure_mid_write_keeps_previous_checkpoint_and_no_temporary(
    checkpoint: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    before = checkpoint.read_bytes()
    seen: list[list[str]] = []

    def failing_write_array(*args: Any, **kwargs: Any) -> None:
        seen.append(sorted(p.name for p in checkpoint.parent.iterdir()))
        raise failure

    monkeypatch.setattr(np.lib.format, "write_array", failing_write_array)
    with pytest.raises(type(failure)):
        save({"W": np.zeros(3), "step": 8}, checkpoint)
    monkeypatch.undo()

    assert len(seen) == 1 and len(seen[0]) == 2  # a temporary file existed during the write
    assert checkpoint.read_bytes() == before
    assert load(checkpoint)["step"] == 7
    assert [p.name for p in checkpoint.parent.iterdir()] == [checkpoint.name]


def test_failure_on_a_new_path_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_write_array(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", failing_write_array)
    with pytest.raises(OSError, match="disk full"):
        save({"W": np.zeros(3)}, tmp_path / "new.ckpt")
    assert list(tmp_path.iterdir()) == []


def test_file_is_fsynced_before_it_replaces_the_target(
    checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor: int) -> None:
        events.append("fsync")
        real_fsync(descriptor)

    def replace(source: Any, target: Any) -> None:
        events.append(f"replace {Path(target).name}")
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    save({"step": 8}, checkpoint)
    expected = ["fsync", f"replace {checkpoint.name}"] + (["fsync"] if os.name == "posix" else [])
    assert events == expected
    monkeypatch.undo()
    assert load(checkpoint) == {"step": 8}


def test_a_save_that_need_not_be_durable_skips_fsync_but_still_replaces_atomically(
    checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_replace = os.replace

    def replace(source: Any, target: Any) -> None:
        events.append(f"replace {Path(source).name[:1]} {Path(target).name}")
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", lambda descriptor: events.append("fsync"))
    monkeypatch.setattr(os, "replace", replace)
    save({"step": 9}, checkpoint, durable=False)
    assert events == [f"replace . {checkpoint.name}"]  # from the hidden temporary file
    monkeypatch.undo()
    assert load(checkpoint) == {"step": 9}


def test_training_fsyncs_its_last_checkpoint_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradgate.training import TrainConfig, fit

    calls: list[bool] = []
    real_save = ggio.save

    def save_spy(obj: Any, path: Any, *, durable: bool = True) -> None:
        calls.append(durable)
        real_save(obj, path, durable=durable)

    monkeypatch.setattr(ggio, "save", save_spy)
    fit(TrainConfig(epochs=3, out=str(tmp_path)), progress="none")
    assert calls == [False, False, False, True]


@pytest.mark.skipif(os.name != "posix", reason="umask and symbolic links are POSIX here")
def test_permissions_follow_umask_and_symlinks_are_followed(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        real = tmp_path / "real.ckpt"
        save({"v": 1}, real)
        assert real.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0o600
    finally:
        os.umask(umask)
    link = tmp_path / "latest.ckpt"
    link.symlink_to(real)
    save({"v": 2}, link)
    assert link.is_symlink() and load(real) == {"v": 2}


_SAVE_LOOP = """
import sys
import numpy as np
from gradgate.io import save

for step in range(1, 100_000):
    state = {"step": step, "W": np.full(1_000_000, step, dtype=np.float64), "tail": [step] * 3}
    print(step, flush=True)
    save(state, sys.argv[1])
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_repeated_saves_leaves_a_loadable_checkpoint(tmp_path: Path) -> None:
    source_root = str(Path(ggio.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source_root, env.get("PYTHONPATH")]))
    target = tmp_path / "run.ckpt"
    rng = np.random.default_rng(3)
    killed_mid_write = 0
    for attempt in range(6):
        process = subprocess.Popen(
            [sys.executable, "-c", _SAVE_LOOP, str(target)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        try:
            wanted = 3 + attempt  # at least two complete saves are on disk by then
            while (line := process.stdout.readline()) and int(line) < wanted:
                pass
            assert line, f"the saving process died: {process.communicate()[1]}"
            time.sleep(float(rng.uniform(0, 0.004)))
            process.send_signal(signal.SIGKILL)
        finally:
            process.kill()
            process.communicate()
        assert process.returncode == -signal.SIGKILL

        state = load(target)
        step = state["step"]
        assert step >= wanted - 1  # the child may have run ahead of the lines read
        assert_same(
            state,
            {"step": step, "W": np.full(1_000_000, step, dtype=np.float64), "tail": [step] * 3},
        )
        leftovers = [p for p in tmp_path.iterdir() if p != target]
        killed_mid_write += bool(leftovers)
        for leftover in leftovers:  # a kill mid-write can leave its temporary file behind
            assert leftover.name.startswith(".run.ckpt.") and leftover.suffix == ".tmp"
            leftover.unlink()
        if killed_mid_write >= 2:
            break
    assert killed_mid_write >= 1, "no kill landed during a write; the test proved nothing"


# ---------------------------------------------------------------------------------------------
# a checkpoint is untrusted input: what it may cost to read


def write_deflated(path: Path, manifest: bytes, contents: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", manifest)
        for name, data in contents.items():
            archive.writestr(name, data)


def test_an_entry_used_twice_is_refused_before_anything_is_decoded(tmp_path: Path) -> None:
    # 1,024 uses of one deflated 1 MiB entry in a 2 KB file: 1 GiB decoded, as it was
    one = array_node("arrays/0.npy", "<f8", [131072])
    path = tmp_path / "gib.ckpt"
    write_deflated(
        path,
        manifest_bytes({"type": "list", "items": [one] * 1024}),
        {"arrays/0.npy": npy_bytes(np.zeros(131072))},
    )
    assert path.stat().st_size < 3000
    read = []
    real_read_array = np.lib.format.read_array
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            np.lib.format, "read_array", lambda *a, **k: read.append(1) or real_read_array(*a, **k)
        )
        expect_refused(path, "the manifest uses entry 'arrays/0.npy' more than once")
    assert not read


def test_thirty_thousand_uses_of_one_entry_are_refused_at_once(tmp_path: Path) -> None:
    one = array_node("arrays/0.npy", "<f8", [1])
    path = tmp_path / "refs.ckpt"
    write_zip(
        path,
        {
            "manifest.json": manifest_bytes({"type": "list", "items": [one] * 30000}),
            "arrays/0.npy": npy_bytes(np.zeros(1)),
        },
    )
    start = time.perf_counter()
    expect_refused(path, "more than once")
    assert time.perf_counter() - start < 0.5  # it took 3-9 s


def test_a_compressed_manifest_is_bounded_before_it_is_inflated(
    tmp_path: Path, monkeypatch
) -> None:
    # 160 KB of deflate that inflated to 63 MB of JSON and 1 GB of Python objects
    root = {"type": "list", "items": [{"type": "none"}] * 200_000}
    path = tmp_path / "manifest.ckpt"
    write_deflated(path, manifest_bytes(root), {})
    assert path.stat().st_size < 20_000
    monkeypatch.setattr(ggio.json, "loads", lambda *a, **k: pytest.fail("inflated and parsed"))
    expect_refused(
        path,
        r"manifest.json is compressed and inflates to \d+ bytes; gradgate "
        r"reads at most 1048576",
    )
    monkeypatch.undo()
    small = tmp_path / "small.ckpt"  # a small compressed manifest still reads
    write_deflated(small, manifest_bytes({"type": "int", "value": 3}), {})
    assert load(small) == 3


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX here")
def test_resaving_keeps_a_files_mode(tmp_path: Path) -> None:
    path = tmp_path / "private.ckpt"
    save({"v": 1}, path)
    path.chmod(0o600)
    save({"v": 2}, path)  # gradgate train re-saves every epoch; it became 0644
    assert path.stat().st_mode & 0o777 == 0o600 and load(path) == {"v": 2}


def test_only_the_documented_errors_leave_load(tmp_path: Path) -> None:
    for dtype in ("<i8", "|b1"):  # an int or bool tensor that asks for a gradient
        node = {**array_node("arrays/0.npy", dtype, [2]), "type": "tensor", "requires_grad": True}
        path = tmp_path / f"int{dtype[1:]}.ckpt"
        write_zip(
            path,
            {
                "manifest.json": manifest_bytes(node),
                "arrays/0.npy": npy_bytes(np.zeros(2, dtype=dtype)),
            },
        )
        expect_refused(
            path,
            f"the tensor at the top level is {np.dtype(dtype)} and requires "
            "grad; only floating-point tensors can",
        )
    expect_refused(tmp_path, "it is a directory, not a checkpoint file")  # IsADirectoryError


def test_the_docs_say_what_map_location_does(checkpoint: Path) -> None:
    docs = Path(__file__).parents[1] / "docs"
    page = " ".join((docs / "checkpoints.md").read_text(encoding="utf-8").split())
    assert 'any other value, "cuda" included, raises' not in page  # it said so; cuda loads
    assert "an unknown name raises `ValueError`" in page
    errors = (docs / "errors.md").read_text(encoding="utf-8")
    assert "map_location=… is not supported" not in errors  # no such message exists
    with pytest.raises(ValueError, match="unknown device"):
        load(checkpoint, map_location="tpu")
