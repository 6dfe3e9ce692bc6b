"""Weights that travel: state dicts as safetensors files, readable by PyTorch and others.

A gradgate module's state-dict names are PyTorch's (``"0.weight"``, ``"0.bias"``, ...), so

    gg.save_safetensors(model, "model.safetensors")
    twin.load_state_dict(safetensors.torch.load_file("model.safetensors"))   # PyTorch

moves trained weights into the PyTorch twin of the model, and ``gg.load_safetensors`` of a
file PyTorch wrote gives a dict that ``model.load_state_dict`` takes. The file holds named
arrays only; a training run's optimiser, schedule and data position stay in gradgate's own
checkpoints (``gg.save``). Needs the optional ``safetensors`` package
(``pip install gradgate[safetensors]``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["load_safetensors", "save_safetensors"]


def _numpy_api(caller: str) -> Any:
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            f"{caller} needs the safetensors package: pip install safetensors "
            "(or pip install 'gradgate[safetensors]')"
        ) from None
    return safetensors.numpy


def save_safetensors(
    module_or_state_dict: Any,
    path: str | os.PathLike[str],
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write a module's ``state_dict()`` (or a dict of Tensors or arrays) to a safetensors
    file at ``path``, with optional string ``metadata`` in its header.

    Every array is written in C order with its own dtype: safetensors stores raw C-order
    bytes, and its NumPy writer takes the memory of a transposed or strided array as it
    lies (safetensors 0.8 then reads back different values), so each array is made
    C-contiguous first. The file is written to a temporary name and renamed over
    ``path``, so a failure leaves any earlier file there intact.
    """
    api = _numpy_api("save_safetensors")
    state = (
        module_or_state_dict.state_dict()
        if hasattr(module_or_state_dict, "state_dict")
        else module_or_state_dict
    )
    if not isinstance(state, Mapping):
        raise TypeError(
            f"save_safetensors: expected a Module or a dict of Tensors, got "
            f"{type(module_or_state_dict).__name__}"
        )
    arrays: dict[str, np.ndarray] = {}
    for name, value in state.items():
        if not isinstance(name, str):
            raise TypeError(
                f"save_safetensors: names must be str, got {name!r} of type {type(name).__name__}"
            )
        array = value.data if isinstance(value, Tensor) else value
        if not hasattr(array, "dtype"):
            raise TypeError(
                f"save_safetensors: {name!r} is a {type(value).__name__}, not a Tensor or an array"
            )
        host = backend.to_numpy(array)
        if host.dtype.kind not in "biuf":
            raise TypeError(
                f"save_safetensors: {name!r} has dtype {host.dtype}; safetensors "
                "holds bool, integer and floating-point arrays"
            )
        arrays[name] = np.ascontiguousarray(host.astype(host.dtype.newbyteorder("<"), copy=False))
    header = None if metadata is None else {str(k): str(v) for k, v in metadata.items()}
    data = api.save(arrays, metadata=header)

    target = os.path.realpath(os.fspath(path))
    descriptor, temporary = tempfile.mkstemp(
        prefix=".tmp-", suffix=".safetensors", dir=os.path.dirname(target)
    )
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def load_safetensors(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """Read a safetensors file into ``{name: Tensor}`` (``requires_grad=False``, the stored
    dtypes kept), ready for ``model.load_state_dict``."""
    api = _numpy_api("load_safetensors")
    arrays = api.load_file(os.fspath(path))
    return {name: Tensor(np.array(array, copy=True)) for name, array in arrays.items()}
