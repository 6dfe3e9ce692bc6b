"""The `.npy` entries of ZIP archives (checkpoints, `.npz` files), checked before reading.

A ZIP entry declares its sizes, and a `.npy` header its dtype and shape; a damaged or
crafted file may lie in either. :func:`check_npy_entry` compares every declaration with what
the file can hold before anything of the declared size is allocated, so a lie costs neither
memory nor time. It raises :class:`ArchiveError` with the reason; the readers (`gg.load`,
`load_npz`) add the file's name and raise their own errors.
"""

from __future__ import annotations

import math
import tokenize
import zipfile
import zlib

import numpy as np

DEFLATE_MAX_RATIO = 1032  # deflate cannot expand data by more than this (plus a few bytes)


class ArchiveError(ValueError):
    """An archive entry whose declarations the file cannot back."""


def check_entry_sizes(info: zipfile.ZipInfo, archive_size: int) -> None:
    """Refuse an entry that is encrypted, compressed other than stored or deflated, or whose
    declared sizes do not fit the compressed bytes or the file."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise ArchiveError(f"entry {name!r} is encrypted")
    if info.compress_type == zipfile.ZIP_STORED:
        plausible = info.file_size == info.compress_size
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        plausible = info.file_size <= DEFLATE_MAX_RATIO * info.compress_size + 64
    else:
        raise ArchiveError(
            f"entry {name!r} uses an unsupported compression method "
            f"({info.compress_type}; stored and deflated are read)"
        )
    if not plausible or info.header_offset + info.compress_size > archive_size:
        raise ArchiveError(
            f"entry {name!r} declares sizes the file cannot hold (truncated or corrupted)"
        )


def check_npy_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, archive_size: int
) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype a `.npy` entry's header declares, once its sizes are checked and
    the header plus that many bytes of data is exactly what the entry holds."""
    check_entry_sizes(info, archive_size)
    fmt = np.lib.format
    try:
        with archive.open(info) as stream:
            version = fmt.read_magic(stream)
            if version == (1, 0):
                shape, _, dtype = fmt.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, _, dtype = fmt.read_array_header_2_0(stream)
            else:
                raise ValueError(f".npy format version {version} is not supported")
            header_bytes = stream.tell()
    except (
        ValueError,
        TypeError,
        SyntaxError,
        EOFError,
        tokenize.TokenError,
        OSError,
        RuntimeError,
        NotImplementedError,
        zipfile.BadZipFile,
        zlib.error,
    ) as error:
        # TokenError: NumPy's parser of old-style headers, on unbalanced brackets
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ArchiveError(
            f"entry {info.filename!r} is not a valid .npy array ({reason})"
        ) from None
    if dtype.hasobject:  # its bytes are a pickle: their size says nothing
        raise ArchiveError(
            f"entry {info.filename!r} has object dtype; gradgate refuses object "
            "arrays (reading them needs pickle)"
        )
    shape = tuple(shape)
    declared = header_bytes + math.prod(shape) * dtype.itemsize
    if declared != info.file_size:
        raise ArchiveError(
            f"entry {info.filename!r} declares {declared} bytes but holds "
            f"{info.file_size} (an array of shape {shape} and its header)"
        )
    return shape, dtype
