"""Anomaly detection: stop at the first gate that produces NaN or Inf, and say where.

    with gg.detect_anomaly():
        loss = model(x)
        loss.backward()

Each gate run inside the block remembers the line of user code that created it. The first
forward output or backward gradient with a NaN or an Inf raises :class:`AnomalyError`
naming the gate, the pass, the input shapes and that line. Outside the block the engine
does no extra work (the observer list is empty). ``set_detect_anomaly(True)`` switches it
on for the current thread until switched off.
"""

from __future__ import annotations

import linecache
import os
import sys
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import backend, engine
from .gates.base import Gate
from .tensor import Tensor

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class AnomalyError(FloatingPointError):
    """A gate produced NaN or Inf while anomaly detection was on."""


def _user_line() -> str:
    """'file:line in function: source' of the innermost caller outside gradgate."""
    frame: Any = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "an unknown place"
    filename, lineno = frame.f_code.co_filename, frame.f_lineno
    source = linecache.getline(filename, lineno).strip()
    where = f"{filename}:{lineno} in {frame.f_code.co_name}"
    return f"{where}: {source}" if source else where


def _bad(array: Any) -> str | None:
    """'NaN', 'Inf' or None for a clean (or non-float) array."""
    if array is None or array.dtype.kind not in "fc":
        return None
    xp = backend.namespace_of(array)
    if bool(xp.isnan(array).any()):
        return "NaN"
    if bool(xp.isinf(array).any()):
        return "Inf"
    return None


def _array(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


_created_at: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # node → user's line


def _origin(t: Tensor) -> str:
    node = t.node
    where = _created_at.get(node) if node is not None else None
    return where or (
        "an unknown place (run the forward pass inside detect_anomaly() too to see it)"
    )


def _shapes(tensors: Any) -> str:
    return ", ".join(str(tuple(t.shape)) for t in tensors)


class AnomalyDetector(engine.Observer):
    """The observer behind :func:`detect_anomaly`."""

    def __init__(self) -> None:
        self._fed: dict[int, list[str]] = {}  # id(tensor) → the gates that sent it gradients

    def forward(self, gate: Gate, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        where = _user_line()
        if output.node is not None and output.node.gate is gate:
            _created_at[output.node] = where
        problem = _bad(output.data)
        if problem:
            raise AnomalyError(
                f"{gate.name} forward produced {problem} in its output {tuple(output.shape)} "
                f"from inputs of shapes {_shapes(inputs)}; the gate was created at {where}"
            )

    def backward(self, node: Tensor, g: Any, contributions: tuple) -> None:
        record = node.node
        assert record is not None and record.inputs is not None
        for parent, c in zip(record.inputs, contributions, strict=False):
            if c is not None:
                self._fed.setdefault(id(parent), []).append(
                    f"{record.gate.name} (created at {_origin(node)})"
                )
        for k, c in enumerate(contributions):
            problem = _bad(_array(c))
            if problem:
                raise AnomalyError(
                    f"{record.gate.name} backward produced {problem} in the gradient for "
                    f"input {k} (inputs of shapes {_shapes(record.inputs)}, upstream gradient "
                    f"{'clean' if _bad(_array(g)) is None else 'already bad'}); "
                    f"the gate was created at {_origin(node)}"
                )

    def unbroadcast(self, tensor: Tensor, source: Tensor, before: Any, after: Any) -> None:
        problem = _bad(_array(after))
        if problem and _bad(_array(before)) is None:
            gate = source.gate.name if source.gate is not None else "a leaf"
            raise AnomalyError(
                f"summing the gradient from {gate} back to the shape {tuple(tensor.shape)} of "
                f"its input (from {tuple(before.shape)}) produced {problem} (overflow in "
                f"{tensor.dtype}); the gate was created at {_origin(source)}"
            )

    def summed(self, tensor: Tensor, before: Any, contribution: Any, total: Any) -> None:
        problem = _bad(_array(total))
        if problem and _bad(_array(before)) is None and _bad(_array(contribution)) is None:
            feeders = "; ".join(self._fed.get(id(tensor), []))
            raise AnomalyError(
                f"the fan-out sum of gradients into a tensor of shape {tuple(tensor.shape)} "
                f"produced {problem} (overflow in {tensor.dtype}) from finite parts; the "
                f"gates that fed it: {feeders or 'unknown'}"
            )


@contextmanager
def detect_anomaly() -> Iterator[engine.Observer]:
    """Raise at the first NaN or Inf any gate produces inside the block (this thread)."""
    with engine.observe(AnomalyDetector()) as detector:
        yield detector


def set_detect_anomaly(enabled: bool) -> None:
    """Switch anomaly detection on or off for the current thread."""
    watching = tuple(o for o in engine._mode.observers if not isinstance(o, AnomalyDetector))
    engine._mode.observers = watching + ((AnomalyDetector(),) if enabled else ())


def is_anomaly_enabled() -> bool:
    return any(isinstance(o, AnomalyDetector) for o in engine._mode.observers)
