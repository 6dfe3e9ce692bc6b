"""Gradient clipping: by the norm of all gradients together, or element by element."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..replay.state import replayed
from ..tensor import Tensor


@replayed
def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale all gradients by one factor so that their joint norm is at most ``max_norm``.

    The norm ‖g‖ is taken over every gradient as if concatenated into one vector (p-norm
    with p = ``norm_type``, or the largest |g| for ``inf``). When ‖g‖ > max_norm each
    gradient is multiplied in place by max_norm / (‖g‖ + 1e-6), as in PyTorch. Returns ‖g‖
    before clipping, as a 0-d Tensor.
    """
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad.data for p in params if p.grad is not None]
    if not grads:
        return Tensor(np.asarray(0.0, dtype=np.float32))
    p = float(norm_type)
    if math.isinf(p):
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        total = sum(float(np.sum(np.abs(g, dtype=np.float64) ** p)) for g in grads) ** (1 / p)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of the gradients is {total}; "
            "pass error_if_nonfinite=False to clip anyway"
        )
    coefficient = max_norm / (total + 1e-6)
    if coefficient < 1:
        for g in grads:
            g *= coefficient
    return Tensor(np.asarray(total, dtype=grads[0].dtype))


@replayed
def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element, in place, into [−c, c] with c = ``clip_value``
    (as ``torch.nn.utils.clip_grad_value_``). Unlike clipping by the norm this changes the
    direction of the gradient wherever some elements are clamped and others not."""
    c = float(clip_value)
    if not c >= 0.0:
        raise ValueError(
            f"clip_grad_value_: clip_value must be a non-negative number, got {clip_value!r}"
        )
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in params:
        if p.grad is not None:
            g = p.grad.data
            np.clip(g, -c, c, out=g)
