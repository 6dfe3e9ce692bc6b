"""Every gate of gradgate, one small class each, grouped by family.

``REGISTRY`` maps a gate's name to its class; importing this package fills it. To add a
gate, write a :class:`Gate` subclass with ``forward``, ``vjp``, ``samples`` and
``reference`` and decorate it with :func:`register` (see ``docs/writing-a-gate.md``).
"""

from . import (  # noqa: F401  (fills REGISTRY)
    activations,
    conv,
    decompositions,
    elementwise,
    exponential,
    indexing,
    layers,
    linalg,
    losses,
    norms,
    order,
    pool,
    recurrent,
    reduce,
    rounding,
    scan,
    shape,
    trig,
)
from .base import REGISTRY, Draw, Gate, Sample, register, samples

__all__ = ["REGISTRY", "Draw", "Gate", "Sample", "register", "samples"]
