"""What a gate is, and the one table that lists them all.

A gate computes its output forward and, backward, returns J^T g for each input: the
vector-Jacobian product of its Jacobian J with g = dE/d(output) (lecture 20.2). To add a
gate, subclass :class:`Gate`, write ``forward`` and ``vjp`` against ``xp``, and decorate the
class with :func:`register`. The engine does the rest: it records the gate in the graph,
sums gradients that fan in to one value, and sums broadcast gradients back to each input's
shape. A rule never does either of those itself, and never mutates its arguments.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, TypeVar

REGISTRY: dict[str, type[Gate]] = {}

G = TypeVar("G", bound="type[Gate]")


class Gate:
    """One node of the computation graph.

    ``forward(xp, *inputs)`` gets the input arrays and returns the output array.
    ``vjp(xp, g, o, *inputs)`` gets the upstream gradient ``g`` = dE/do, the output ``o`` and
    the inputs, and returns a tuple with one entry per input: J^T g, or None where
    ``self.needs[i]`` is False (that input asks for no gradient, so none is computed).

    On the fast path the arguments are arrays and ``xp`` is their array namespace; with
    ``create_graph=True`` they are Tensors and ``xp`` is ``gradgate.functional``, so the
    same rule builds a differentiable graph of the gradient.

    Parameters that are not tensors (an axis, a shape, an index) are given to ``__init__``
    and kept as attributes. The engine sets ``inputs`` (the parent tensors) and ``needs``
    when it records the gate; ``inputs`` becomes None once the graph is released.
    """

    inputs: tuple | None = None
    needs: tuple[bool, ...] = ()
    saved_at: int = 0  # the in-place-change clock when the inputs were saved

    def __del__(self) -> None:
        """A graph dropped without backward: its inputs are no longer held."""
        inputs = self.inputs
        if inputs is not None:
            for t in inputs:
                t._saved -= 1

    def forward(self, xp: Any, *inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    def vjp(self, xp: Any, g: Any, o: Any, *inputs: Any) -> tuple:
        raise NotImplementedError(f"{type(self).__name__} has no vjp")

    @property
    def name(self) -> str:
        return type(self).__name__

    def input_names(self, count: int) -> list[str]:
        """The names ``forward`` gives its inputs (``W``, ``o``), or ``x0, x1, ...`` when it
        takes a variable number of them."""
        return _input_names(type(self), count)

    def params(self) -> dict[str, Any]:
        """The non-tensor parameters, for display."""
        return {k: v for k, v in vars(self).items() if k not in ("inputs", "needs", "saved_at")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{self.name}({args})"


@functools.cache
def _input_names(cls: type[Gate], count: int) -> list[str]:
    try:
        parameters = list(inspect.signature(cls.forward).parameters.values())[2:]  # self, xp
    except (TypeError, ValueError):
        parameters = []
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in parameters if p.kind in positional]
    return names if len(names) == count else [f"x{k}" for k in range(count)]


def register(cls: G) -> G:
    """Add a gate class to the registry under its class name."""
    name = cls.__name__
    if name in REGISTRY and REGISTRY[name] is not cls:
        raise ValueError(f"a gate named {name!r} is already registered")
    REGISTRY[name] = cls
    return cls
