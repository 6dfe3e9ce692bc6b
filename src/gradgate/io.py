"""Checkpoints: `save` and `load` nested state dicts without pickle.

A checkpoint is a ZIP archive (like NumPy's `.npz`) holding

* `manifest.json`: the format name and version, and the structure of the saved object
  (containers, keys, plain values, and which entry holds which array);
* `arrays/<n>.npy`: one `.npy` entry per NumPy array, NumPy scalar or Tensor.

Loading parses JSON and `.npy` headers only (`allow_pickle=False` throughout), so opening a
checkpoint can never run code. Saving writes a temporary file beside the target, fsyncs it,
and renames it over the target, so a crash never leaves a half-written file where a good one
was. The format is described in docs/checkpoints.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import zipfile
import zlib
from typing import IO, Any

import numpy as np

from .archives import ArchiveError, check_entry_sizes, check_npy_entry
from .backend import parse_device, to_numpy

__all__ = ["CheckpointError", "FORMAT_NAME", "FORMAT_VERSION", "load", "save"]

FORMAT_NAME = "gradgate-checkpoint"
FORMAT_VERSION = 1

_MANIFEST = "manifest.json"
_ARRAY_KINDS = "biufc"  # bool, signed int, unsigned int, float, complex
_MAX_MANIFEST_BYTES = 64 * 2**20
_MAX_COMPRESSED_MANIFEST_BYTES = 2**20  # save writes it stored; inflating costs memory
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # same object, same bytes: no timestamps in entries
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # an archive with entries; an empty archive
_PICKLE_0_STARTS = b"(}]cIJKLFSVNUX)"  # first opcodes of protocol 0 and 1 pickles


class CheckpointError(ValueError):
    """A file that `load` refuses: not a gradgate checkpoint, damaged, or unsafe to read."""


# ---------------------------------------------------------------------------------------------
# save


def save(obj: Any, path: str | os.PathLike[str], *, durable: bool = True) -> None:
    """Write `obj` to the checkpoint file `path`, atomically.

    `obj` is a nested structure of dicts (str or int keys), lists, tuples, str, int, float,
    bool, None, NumPy arrays and scalars (bool or numeric dtypes), and gradgate Tensors (their
    values and `requires_grad`; not their gradients). Anything else raises TypeError naming
    where it sits in `obj`, e.g. ``['optimizer']['state'][0]``; a container that contains
    itself raises ValueError. Nothing is written when either is raised.

    The archive is written to a temporary file in the target's directory, flushed and
    fsynced, then renamed over `path`; a failure removes the temporary file and leaves any
    previous checkpoint at `path` untouched. ``durable=False`` skips the two fsyncs (of the
    file and of its directory): the write is still atomic for the process (a crash leaves
    the old file or the new one), but a power cut right after may lose it; training uses it
    for the checkpoints of epochs within a run, whose last one is written durably. A symbolic
    link at `path` is followed. A file replaced keeps its permissions (a checkpoint made
    private stays private); a new one gets the umask's, as `open` would give it.
    """
    encoder = _Encoder()
    root = encoder.encode(obj, "")
    manifest = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "root": root}
    # ensure_ascii keeps any Python str (lone surrogates included) representable.
    manifest_bytes = json.dumps(manifest, ensure_ascii=True).encode("ascii")

    target = os.path.realpath(os.fspath(path))
    directory = os.path.dirname(target)
    descriptor, temporary = _create_temporary(target)
    try:
        with contextlib.suppress(FileNotFoundError):  # keep a file's mode, as torch.save does
            os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
        with os.fdopen(descriptor, "wb") as stream:
            _write_archive(stream, manifest_bytes, encoder.arrays)
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    if durable:
        _fsync_directory(directory)


class _Encoder:
    """Turns a nested object into a JSON-ready manifest node and a list of arrays to store."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self._open: set[int] = set()  # ids of the containers on the current path (cycles)
        # A Tensor can only exist once its module is imported, so saving never imports it.
        self._tensor_class = getattr(sys.modules.get("gradgate.tensor"), "Tensor", None)

    def encode(self, obj: Any, where: str) -> dict[str, Any]:
        """Return the manifest node for `obj`, found at `where` inside the saved object."""
        if obj is None:
            return {"type": "none"}
        if self._tensor_class is not None and isinstance(obj, self._tensor_class):
            node = self._array_node("tensor", _to_numpy(obj.data), where)
            node["requires_grad"] = bool(getattr(obj, "requires_grad", False))
            return node
        if isinstance(obj, np.ma.MaskedArray):
            raise TypeError(
                f"save: unsupported type 'MaskedArray' at {_at(where)} "
                "(the mask would be lost; save .data and .mask separately)"
            )
        if isinstance(obj, np.ndarray):
            return self._array_node("ndarray", np.asarray(obj), where)
        # Before the Python scalars: np.float64 is a float, and would lose its type there.
        if isinstance(obj, np.generic):
            return self._array_node("scalar", np.asarray(obj), where)
        if isinstance(obj, bool):
            return {"type": "bool", "value": obj}
        if isinstance(obj, int):
            return {"type": "int", "value": int(obj)}
        if isinstance(obj, float):
            # repr round-trips exactly and spells nan and inf, which JSON numbers cannot.
            return {"type": "float", "value": repr(float(obj))}
        if isinstance(obj, str):
            return {"type": "str", "value": str(obj)}
        if isinstance(obj, (dict, list, tuple)):
            return self._container_node(obj, where)
        raise TypeError(f"save: unsupported type {_type_name(obj)!r} at {_at(where)}")

    def _array_node(self, kind: str, array: np.ndarray, where: str) -> dict[str, Any]:
        if array.dtype.kind not in _ARRAY_KINDS:
            why = " (object arrays need pickle)" if array.dtype.hasobject else ""
            raise TypeError(
                f"save: unsupported dtype {str(array.dtype)!r} at {_at(where)}{why}; "
                "arrays must be bool or numeric"
            )
        entry = f"arrays/{len(self.arrays)}.npy"
        self.arrays.append(array)
        return {
            "type": kind,
            "entry": entry,
            "dtype": array.dtype.str,
            "shape": [int(n) for n in array.shape],
        }

    def _container_node(self, obj: dict | list | tuple, where: str) -> dict[str, Any]:
        if id(obj) in self._open:
            raise ValueError(f"save: circular reference at {_at(where)}")
        self._open.add(id(obj))
        try:
            if isinstance(obj, dict):
                items = []
                for key, value in obj.items():
                    key = _plain_key(key, where)
                    items.append([key, self.encode(value, f"{where}[{key!r}]")])
                return {"type": "dict", "items": items}
            kind = "list" if isinstance(obj, list) else "tuple"
            return {
                "type": kind,
                "items": [self.encode(value, f"{where}[{i}]") for i, value in enumerate(obj)],
            }
        finally:
            self._open.discard(id(obj))


def _plain_key(key: Any, where: str) -> str | int:
    """A dict key as the plain str or int JSON keeps apart; TypeError for any other key."""
    if isinstance(key, str):
        return str(key)
    if isinstance(key, int) and not isinstance(key, (bool, np.generic)):
        return int(key)
    raise TypeError(
        f"save: unsupported dict key {key!r} of type {_type_name(key)!r} at "
        f"{_at(where)}; keys must be str or int"
    )


def _type_name(obj: Any) -> str:
    cls = type(obj)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _at(where: str) -> str:
    return where or "the top level"


def _to_numpy(data: Any) -> np.ndarray:
    """An array's values as a NumPy array, copied to the host from a GPU."""
    return to_numpy(data)


def _create_temporary(target: str) -> tuple[int, str]:
    """Create a new, empty file beside `target`; return its descriptor and path.

    Created with mode 0o666 like `open`, so the umask decides the checkpoint's permissions
    (tempfile.mkstemp would make every checkpoint private to its owner).
    """
    directory, name = os.path.split(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temporary = os.path.join(directory, f".{name[:200]}.{os.urandom(4).hex()}.tmp")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"save: could not create a temporary file beside {target!r}")


def _write_archive(stream: IO[bytes], manifest: bytes, arrays: list[np.ndarray]) -> None:
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(_entry_info(_MANIFEST), manifest)
        for index, array in enumerate(arrays):
            info = _entry_info(f"arrays/{index}.npy")
            # force_zip64: the entry's size is unknown until written and may pass 4 GiB.
            with archive.open(info, "w", force_zip64=True) as entry:
                # Looked up at call time, so tests can make it fail part-way.
                np.lib.format.write_array(entry, array, allow_pickle=False)


def _entry_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16  # rw-r--r-- when unzipped
    return info


def _fsync_directory(directory: str) -> None:
    """Make the rename durable (POSIX); elsewhere directories cannot be opened, so skip."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


# ---------------------------------------------------------------------------------------------
# load


def load(path: str | os.PathLike[str], map_location: str | None = None) -> Any:
    """Read a checkpoint written by `save` and return the object it holds.

    Dicts, lists, tuples, plain values, arrays (same dtype, shape and values) and NumPy
    scalars come back as they were saved; dict keys keep their str or int type. Tensors are
    rebuilt with `gradgate.tensor.tensor` on the device `map_location` names: None or "cpu"
    (the default, whatever device they were saved from), "cuda" or "cuda:N" (where a GPU is
    usable; otherwise RuntimeError saying why). An unknown device name raises ValueError.

    Raises FileNotFoundError for a missing file and CheckpointError (a ValueError) for
    anything else it will not read: a directory or an unreadable file, a pickle (never
    unpickled), not a ZIP archive, truncated or corrupted, without a valid manifest, with
    entries missing, disagreeing with the manifest or used twice by it, with object arrays,
    a tensor that cannot require grad, or from an unknown format version. Before any array
    is decoded, the sizes of all of them are known and bounded by the file's size (1032
    times it at most, for deflated entries).
    """
    device = parse_device(map_location)
    name = os.fspath(path)
    if os.path.isdir(name):
        raise _error(name, "it is a directory, not a checkpoint file")
    try:
        stream = open(name, "rb")
    except FileNotFoundError:
        raise
    except OSError as error:  # permissions, a device, ...: still one documented error
        raise _error(name, f"cannot read it ({error.strerror or _reason(error)})") from None
    with stream:
        size = os.fstat(stream.fileno()).st_size
        _check_leading_bytes(stream, name, size)
        try:
            with zipfile.ZipFile(stream) as archive:
                return _Decoder(archive, name, size, device).load()
        except CheckpointError:
            raise
        except RecursionError:
            raise _error(name, "the manifest is nested too deeply") from None
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            zlib.error,
            EOFError,
            OSError,
            UnicodeDecodeError,
            NotImplementedError,
            RuntimeError,
        ) as error:
            # zipfile's own complaints about a damaged archive (UnicodeDecodeError: a bad
            # entry name); one line each, not a traceback through zipfile's internals.
            raise _error(name, f"damaged or not a gradgate checkpoint ({_reason(error)})") from None


def _error(name: str, reason: str) -> CheckpointError:
    return CheckpointError(f"cannot load checkpoint '{name}': {reason}")


def _reason(error: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _check_leading_bytes(stream: IO[bytes], name: str, size: int) -> None:
    """Refuse pickles, `.npy` files and other non-ZIP files by their first bytes."""
    head = stream.read(8)
    if head.startswith(_ZIP_MAGICS):
        stream.seek(0)
        return
    never = "gradgate never unpickles (unpickling can run arbitrary code)"
    if head.startswith(b"\x80"):  # PROTO opcode: pickle protocol 2 and later, torch legacy
        raise _error(name, f"it is a pickle file; {never}")
    if head.startswith(b"\x93NUMPY"):
        raise _error(name, "it is a single .npy array, not a checkpoint; read it with numpy.load")
    if not head:
        raise _error(name, "the file is empty")
    stream.seek(size - 1)
    if head[0] in _PICKLE_0_STARTS and stream.read(1) == b".":  # STOP opcode ends a pickle
        raise _error(name, f"it looks like a pickle file (protocol 0 or 1); {never}")
    raise _error(name, "not a ZIP archive, so not a gradgate checkpoint")


class _Decoder:
    """Rebuilds the saved object from an open checkpoint archive, checking every step."""

    def __init__(
        self, archive: zipfile.ZipFile, name: str, archive_size: int, device: str = "cpu"
    ) -> None:
        self._archive = archive
        self._name = name
        self._archive_size = archive_size
        self._device = device  # where tensors are rebuilt
        self._entries = set(archive.namelist())

    def load(self) -> Any:
        """Return the saved object."""
        manifest = self._read_manifest()
        self._check_array_entries(manifest["root"])
        return self._decode(manifest["root"], "")

    def _error(self, reason: str) -> CheckpointError:
        return _error(self._name, reason)

    def _read_manifest(self) -> dict[str, Any]:
        if _MANIFEST not in self._entries:
            if any(entry.rsplit("/", 1)[-1] == "data.pkl" for entry in self._entries):
                raise self._error(
                    "it is a PyTorch checkpoint (a pickle inside a ZIP archive); "
                    "gradgate never unpickles (unpickling can run arbitrary code)"
                )
            raise self._error("no manifest.json inside, so not a gradgate checkpoint")
        info = self._archive.getinfo(_MANIFEST)
        try:
            check_entry_sizes(info, self._archive_size)
        except ArchiveError as error:
            raise self._error(str(error)) from None
        if info.file_size > _MAX_MANIFEST_BYTES:
            raise self._error(f"manifest.json is implausibly large ({info.file_size} bytes)")
        if info.compress_type != zipfile.ZIP_STORED and (
            info.file_size > _MAX_COMPRESSED_MANIFEST_BYTES
        ):  # a small file must not make us inflate, and parse, tens of megabytes
            raise self._error(
                f"manifest.json is compressed and inflates to {info.file_size} bytes; "
                f"gradgate reads at most {_MAX_COMPRESSED_MANIFEST_BYTES} bytes of a "
                "compressed manifest (it writes them uncompressed)"
            )
        try:
            manifest = json.loads(self._archive.read(info).decode("utf-8"))
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, int too long
            raise self._error(f"manifest.json is not valid JSON ({_reason(error)})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
            raise self._error(f"manifest.json does not declare the {FORMAT_NAME!r} format")
        version = manifest.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise self._error(f"manifest.json has no valid format version ({version!r})")
        if version != FORMAT_VERSION:
            newer = "; it was written by a newer gradgate" if version > FORMAT_VERSION else ""
            raise self._error(
                f"unknown format version {version} (this gradgate reads version "
                f"{FORMAT_VERSION}){newer}"
            )
        if "root" not in manifest:
            raise self._error("manifest.json has no 'root' node")
        return manifest

    def _check_array_entries(self, root: Any) -> None:
        """Before decoding: every array entry the manifest names is used once, and their
        stored bytes fit in the file side by side, so what decoding allocates in all is
        bounded by the file's size (each entry's own sizes are checked as it is read)."""
        used: set[str] = set()
        stored = 0
        stack = [root]
        while stack:  # iterative: the nesting depth is checked when decoding
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                entry = node.get("entry")
                if node.get("type") in ("ndarray", "scalar", "tensor") and isinstance(entry, str):
                    if entry in used:
                        raise self._error(f"the manifest uses entry {entry!r} more than once "
                                          "(save stores each array once)")  # fmt: skip
                    used.add(entry)
                    if entry in self._entries:
                        stored += self._archive.getinfo(entry).compress_size
                stack.extend(node.values())
        if stored > self._archive_size:
            raise self._error(f"the manifest's entries store {stored} bytes, more than the "
                              f"file's {self._archive_size} (entries overlap)")  # fmt: skip

    def _decode(self, node: Any, where: str) -> Any:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            raise self._error(f"malformed manifest node at {_at(where)}")
        kind = node["type"]
        if kind == "none":
            return None
        if kind in ("bool", "int", "float", "str"):
            return self._plain_value(kind, node.get("value"), where)
        if kind in ("list", "tuple", "dict"):
            items = node.get("items")
            if not isinstance(items, list):
                raise self._error(f"malformed {kind} node at {_at(where)}")
            if kind == "dict":
                return dict(self._dict_item(item, where) for item in items)
            values = [self._decode(item, f"{where}[{i}]") for i, item in enumerate(items)]
            return values if kind == "list" else tuple(values)
        if kind in ("ndarray", "scalar", "tensor"):
            array = self._read_array(node, where)
            if kind == "ndarray":
                return array
            if kind == "scalar":
                if array.ndim != 0:
                    raise self._error(f"scalar at {_at(where)} has shape {array.shape}")
                return array[()]
            requires_grad = node.get("requires_grad", False)
            if not isinstance(requires_grad, bool):
                raise self._error(f"malformed requires_grad at {_at(where)}")
            if requires_grad and array.dtype.kind not in "fc":
                raise self._error(f"the tensor at {_at(where)} is {array.dtype} and requires "
                                  "grad; only floating-point tensors can")  # fmt: skip
            try:
                return _make_tensor(array, requires_grad, self._device)
            except (TypeError, ValueError) as error:  # what gradgate.tensor refuses
                raise self._error(f"the tensor at {_at(where)}: {_reason(error)}") from None
        raise self._error(f"unknown manifest node type {kind!r} at {_at(where)}")

    def _plain_value(self, kind: str, value: Any, where: str) -> Any:
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind == "int" and _is_int(value):
            return value
        if kind == "str" and isinstance(value, str):
            return value
        if kind == "float" and isinstance(value, str):
            with contextlib.suppress(ValueError):
                return float(value)
        raise self._error(f"malformed {kind} value {value!r} at {_at(where)}")

    def _dict_item(self, item: Any, where: str) -> tuple[str | int, Any]:
        if not (
            isinstance(item, list)
            and len(item) == 2
            and (isinstance(item[0], str) or _is_int(item[0]))
        ):
            raise self._error(f"malformed dict item at {_at(where)}")
        key, value = item
        return key, self._decode(value, f"{where}[{key!r}]")

    def _read_array(self, node: dict[str, Any], where: str) -> np.ndarray:
        """Read the `.npy` entry `node` names, after checking it against `node` and its size."""
        entry, dtype_text, shape = node.get("entry"), node.get("dtype"), node.get("shape")
        if not (
            isinstance(entry, str)
            and isinstance(dtype_text, str)
            and isinstance(shape, list)
            and all(_is_int(n) and n >= 0 for n in shape)
        ):
            raise self._error(f"malformed array node at {_at(where)}")
        dtype = self._checked_dtype(dtype_text, f"array at {_at(where)}")
        if entry not in self._entries:
            raise self._error(f"the manifest refers to a missing entry {entry!r}")
        info = self._archive.getinfo(entry)
        try:  # before reading: a lying header must not make us allocate its size
            header_shape, header_dtype = check_npy_entry(self._archive, info, self._archive_size)
        except ArchiveError as error:
            raise self._error(str(error)) from None
        self._refuse_unsafe(header_dtype, f"entry {entry!r}")
        if header_dtype != dtype or header_shape != tuple(shape):
            raise self._error(
                f"entry {entry!r} holds dtype {header_dtype.str!r} shape "
                f"{header_shape}, but the manifest says dtype {dtype.str!r} shape "
                f"{tuple(shape)}"
            )

        with self._archive.open(info) as stream:
            try:
                array = np.lib.format.read_array(stream, allow_pickle=False)
            except (ValueError, TypeError, EOFError) as error:
                raise self._error(f"entry {entry!r} is unreadable ({_reason(error)})") from None
            if stream.read(1):  # also makes zipfile check the entry's CRC
                raise self._error(f"entry {entry!r} has trailing bytes")
        return array

    def _checked_dtype(self, text: str, what: str) -> np.dtype:
        try:
            dtype = np.dtype(text)
        except (TypeError, ValueError):
            raise self._error(f"{what} has an unknown dtype {text!r}") from None
        self._refuse_unsafe(dtype, what)
        return dtype

    def _refuse_unsafe(self, dtype: np.dtype, what: str) -> None:
        if dtype.hasobject:
            raise self._error(
                f"{what} has object dtype; gradgate refuses object arrays "
                "(reading them needs pickle)"
            )
        if dtype.kind not in _ARRAY_KINDS:
            raise self._error(
                f"{what} has dtype {dtype.str!r}; only bool and numeric dtypes are allowed"
            )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _make_tensor(array: np.ndarray, requires_grad: bool, device: str) -> Any:
    from gradgate.tensor import tensor  # imported late: io must not depend on the core's load

    return tensor(array, requires_grad=requires_grad, dtype=array.dtype, device=device)
