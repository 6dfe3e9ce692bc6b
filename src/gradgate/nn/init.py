"""Seeded weight initialisers, as ``torch.nn.init``: each fills a tensor's array in place.

Every function takes ``generator=`` (a ``numpy.random.Generator``); without one it draws
from gradgate's default generator, which :func:`gradgate.manual_seed` reseeds. For a weight
of shape (out, in) — the lecture's W, one row per upper neuron — fan_in = in and
fan_out = out.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend, factories
from ..tensor import Tensor

_GAINS = {
    "linear": 1.0,
    "identity": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3.0,
    "relu": math.sqrt(2),
    "selu": 3.0 / 4.0,
    "conv1d": 1.0,
    "conv2d": 1.0,
    "conv3d": 1.0,
    "conv_transpose1d": 1.0,
    "conv_transpose2d": 1.0,
    "conv_transpose3d": 1.0,
}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps activations' variance steady through ``nonlinearity``.

    linear, identity, sigmoid and the convolutions: 1;  tanh: 5/3;  relu: √2;  selu: 3/4;
    leaky_relu with negative slope a (``param``, default 0.01): √(2 / (1 + a²)).
    """
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + a * a))
    if nonlinearity not in _GAINS:
        raise ValueError(
            f"calculate_gain: unknown nonlinearity {nonlinearity!r}; expected one of "
            f"{', '.join([*_GAINS, 'leaky_relu'])}"
        )
    return _GAINS[nonlinearity]


def fans(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    if tensor.ndim < 2:
        raise ValueError(
            f"fan_in and fan_out need a weight of 2 or more dimensions, got shape {tensor.shape}"
        )
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _rng(generator: np.random.Generator | None) -> np.random.Generator:
    return generator if generator is not None else factories.default_generator()


def _fill(tensor: Tensor, values: Any) -> Tensor:
    """Write ``values`` into the tensor's array in place (on its device) and mark the change,
    so a graph that saved the old values refuses to run backward."""
    values = backend.to_device(np.asarray(values, dtype=tensor.dtype), tensor.device)
    tensor.writable_array()[...] = values  # even while a graph holds it; its version moves
    return tensor


def uniform_(
    tensor: Tensor,
    low: float = 0.0,
    high: float = 1.0,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Fill with samples of U(low, high)."""
    return _fill(tensor, _rng(generator).uniform(low, high, tensor.shape))


def normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Fill with samples of N(mean, std²)."""
    return _fill(tensor, _rng(generator).normal(mean, std, tensor.shape))


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def constant_(tensor: Tensor, value: float) -> Tensor:
    return _fill(tensor, value)


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None
) -> Tensor:
    """Glorot & Bengio (2010): U(−a, a) with a = gain · √(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(
    tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None
) -> Tensor:
    """Glorot & Bengio (2010): N(0, std²) with std = gain · √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fans(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: np.random.Generator | None = None,
) -> Tensor:
    """He et al. (2015): U(−b, b) with b = gain · √(3 / fan), gain from ``nonlinearity``
    (``a`` is leaky_relu's negative slope)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: np.random.Generator | None = None,
) -> Tensor:
    """He et al. (2015): N(0, std²) with std = gain / √fan."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix (ones on the diagonal of a 2-d tensor, zeros elsewhere)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: needs a 2-d tensor, got shape {tensor.shape}")
    return _fill(tensor, np.eye(tensor.shape[0], tensor.shape[1]))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """A convolution weight (out, in, *kernel) that passes its input through: a one at the
    kernel's centre for output channel k and input channel k (within each of ``groups``)."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: needs a 3-, 4- or 5-d tensor, got shape {tensor.shape}")
    out, width = tensor.shape[0], tensor.shape[1]
    if out % groups:
        raise ValueError(f"dirac_: the {out} output channels do not split into {groups} groups")
    per_group = out // groups
    values = np.zeros(tensor.shape)
    centre = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        for k in range(min(per_group, width)):
            values[(g * per_group + k, k, *centre)] = 1
    return _fill(tensor, values)


def orthogonal_(
    tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None
) -> Tensor:
    """A (semi-)orthogonal matrix (Saxe et al. 2013) times ``gain``: the Q of the QR
    decomposition of a normal matrix, signs fixed by R's diagonal, as PyTorch's; a tensor of
    more than 2 dimensions is treated as (shape[0], the rest)."""
    if tensor.ndim < 2:
        raise ValueError(
            f"orthogonal_: needs a tensor of 2 or more dimensions, got shape {tensor.shape}"
        )
    rows = tensor.shape[0]
    cols = tensor.size // rows if rows else 0
    flat = _rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Samples of N(mean, std²) restricted to [a, b] (absolute bounds, as PyTorch's): drawn
    by redrawing the samples that fall outside until none does."""
    if not a < b:
        raise ValueError(f"trunc_normal_: the bounds must satisfy a < b, got a={a}, b={b}")
    rng = _rng(generator)
    values = rng.normal(mean, std, tensor.shape)
    outside = (values < a) | (values > b)
    for _ in range(1000):
        if not outside.any():
            break
        values[outside] = rng.normal(mean, std, int(outside.sum()))
        outside = (values < a) | (values > b)
    else:
        raise ValueError(
            f"trunc_normal_: [{a}, {b}] is too far in the tails of N({mean}, {std}²) to draw from"
        )
    return _fill(tensor, values)
