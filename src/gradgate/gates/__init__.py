"""Every gate of gradgate, one small class each, grouped by family.

``REGISTRY`` maps a gate's name to its class; importing this package fills it. To add a
gate, write a :class:`Gate` subclass with ``forward``, ``vjp``, ``samples`` and
``reference`` and decorate it with :func:`register` (see ``docs/writing-a-gate.md``).
"""

from . import conv, elementwise, linalg, losses, pool, reduce, shape  # noqa: F401  (fills REGISTRY)
from .base import REGISTRY, Draw, Gate, Sample, register, samples

__all__ = ["REGISTRY", "Draw", "Gate", "Sample", "register", "samples"]
