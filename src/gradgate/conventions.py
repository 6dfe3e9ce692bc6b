"""Where NumPy's and PyTorch's ways of calling the same function meet.

gradgate takes both: ``axis=``/``keepdims=`` (NumPy) and ``dim=``/``keepdim=`` (PyTorch)
name the same thing. One rule decides what a reduction that can also return indices
gives back (``max``, ``min``, ``median``, ``mode``, ``sort``, ``topk``):

    a ``dim``, given by position (``x.max(1)``) or by name (``x.max(dim=1)``), asks in
    PyTorch's way and gets PyTorch's answer, ``(values, indices)``, a named tuple;
    ``axis=`` asks in NumPy's way and gets NumPy's answer, the values alone.

:func:`reduction_call` applies the rule; docs/numpy-and-pytorch.md lists where else the two
libraries differ and what gradgate does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

_MISSING: Any = object()


class ValuesIndices(NamedTuple):
    """What PyTorch's ``max(dim)``, ``sort``, ``topk``, ... return: ``values`` (a tensor
    in the graph) and ``indices`` (an int64 tensor)."""

    values: Any
    indices: Any


class ReductionCall(NamedTuple):
    """How a call asked: the axis (None: every axis), keepdims, and whether it asked in
    PyTorch's way (a ``dim``), so that it wants ``(values, indices)``."""

    axis: Any
    keepdims: bool
    pytorch: bool


def torch_keywords(what: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` with PyTorch's ``dim``/``keepdim`` renamed to ``axis``/``keepdims``."""
    out = dict(kwargs)
    for torch_name, numpy_name in (("dim", "axis"), ("keepdim", "keepdims")):
        if torch_name in out:
            if numpy_name in out:
                raise TypeError(f"{what}: give {numpy_name}= or {torch_name}=, not both")
            out[numpy_name] = out.pop(torch_name)
    return out


def reduction_call(
    what: str, args: tuple, kwargs: Mapping[str, Any], default_dim: Any = _MISSING
) -> ReductionCall:
    """Read ``(dim, keepdim)`` or ``axis=, keepdims=`` from a call such as ``x.max(...)``.

    ``args`` are the positional arguments after the tensor: ``(dim,)`` or ``(dim,
    keepdim)``. A positional int, or ``dim=``, asks in PyTorch's way; ``axis=`` (or a
    positional tuple or None, which PyTorch does not take) in NumPy's. With neither, the
    answer is NumPy's over every axis, unless ``default_dim`` is given (``mode`` and
    ``sort`` work along the last dim in PyTorch): then it is PyTorch's along that dim.
    """
    if len(args) > 2:
        raise TypeError(f"{what}: takes at most (dim, keepdim) after the tensor")
    unknown = set(kwargs) - {"axis", "dim", "keepdims", "keepdim"}
    if unknown:
        raise TypeError(f"{what}: unexpected keyword arguments {sorted(unknown)}")
    keywords = torch_keywords(what, kwargs)
    if args and "axis" in keywords:
        raise TypeError(f"{what}: give the dim by position or by name, not both")
    if len(args) == 2:
        if "keepdims" in keywords:
            raise TypeError(f"{what}: give keepdim by position or by name, not both")
        keywords["keepdims"] = args[1]
    keepdims = bool(keywords.get("keepdims", False))
    if args:
        axis = args[0]
        pytorch = isinstance(axis, (int, np.integer)) and not isinstance(axis, bool)
    elif "axis" in keywords:
        axis = keywords["axis"]
        pytorch = "dim" in kwargs and isinstance(axis, (int, np.integer))
    elif default_dim is not _MISSING:
        axis, pytorch = default_dim, True
    else:
        axis, pytorch = None, False
    return ReductionCall(axis, keepdims, pytorch)
