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
    frame = sys._getframe(1)
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


def _shapes(tensors: Any) -> str:
    return ", ".join(str(tuple(t.shape)) for t in tensors)


class AnomalyDetector(engine.Observer):
    """The observer behind :func:`detect_anomaly`."""

    def forward(self, gate: Gate, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        where = _user_line()
        if output.gate is gate:
            gate.created_at = where  # type: ignore[attr-defined]
        problem = _bad(output.data)
        if problem:
            raise AnomalyError(
                f"{gate.name} forward produced {problem} in its output {tuple(output.shape)} "
                f"from inputs of shapes {_shapes(inputs)}; the gate was created at {where}"
            )

    def backward(self, node: Tensor, g: Any, contributions: tuple) -> None:
        gate = node.gate
        assert gate is not None and gate.inputs is not None
        for k, c in enumerate(contributions):
            problem = _bad(_array(c))
            if problem:
                where = getattr(gate, "created_at", None) or (
                    "an unknown place (run the forward pass inside detect_anomaly() too to "
                    "see it)"
                )
                raise AnomalyError(
                    f"{gate.name} backward produced {problem} in the gradient for input {k} "
                    f"(inputs of shapes {_shapes(gate.inputs)}, upstream gradient "
                    f"{'clean' if _bad(_array(g)) is None else 'already bad'}); "
                    f"the gate was created at {where}"
                )


@contextmanager
def detect_anomaly() -> Iterator[AnomalyDetector]:
    """Raise at the first NaN or Inf any gate produces inside the block (this thread)."""
    with engine.observe(AnomalyDetector()) as detector:
        yield detector


def set_detect_anomaly(enabled: bool) -> None:
    """Switch anomaly detection on or off for the current thread."""
    watching = tuple(o for o in engine._mode.observers if not isinstance(o, AnomalyDetector))
    engine._mode.observers = watching + ((AnomalyDetector(),) if enabled else ())


def is_anomaly_enabled() -> bool:
    return any(isinstance(o, AnomalyDetector) for o in engine._mode.observers)
