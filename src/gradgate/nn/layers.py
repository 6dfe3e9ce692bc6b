"""Layers: Linear, Sequential, activation modules and Dropout."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import backend
from .. import functional as F
from ..arguments import count
from ..tensor import DEFAULT_FLOAT, Tensor
from . import init
from .functional import dropout_mask
from .module import Module, Parameter


class Linear(Module):
    """s = W o + b, for one input vector o (in,) or a batch (..., in)  (lecture 20.3).

    ``weight`` is the lecture's W, of shape (out_features, in_features), one row per upper
    neuron: ``weight[j, i]`` = w_ij, the weight from input i to output j. ``bias`` has shape
    (out_features,), or is None with ``bias=False``.

    Both start as PyTorch's do: U(−1/√in, 1/√in), drawn from ``generator`` (default:
    gradgate's default generator, reseeded by ``gradgate.manual_seed``).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_features = count(in_features, "Linear: in_features")
        self.out_features = count(out_features, "Linear: out_features")
        dtype = np.dtype(dtype or DEFAULT_FLOAT)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        self.bias = Parameter(np.empty(self.out_features, dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """Draw W and b from U(−1/√in, 1/√in) again."""
        bound = 1.0 / math.sqrt(self.in_features)
        init.uniform_(self.weight, -bound, bound, generator)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, generator)

    def forward(self, o: Any) -> Tensor:
        s = F.matvec(self.weight, o)  # (..., out)
        return s if self.bias is None else s + self.bias

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(a, b, c)(x) = c(b(a(x)))``.

    ``seq[i]`` is the i-th module and ``len(seq)`` their number. Parameters are named by
    position, as PyTorch names them: ``"0.weight"``, ``"2.bias"``.
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: item {i} is a {type(layer).__name__}, not a Module")
        self.layers = list(layers)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def append(self, layer: Module) -> Sequential:
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.append: a {type(layer).__name__} is not a Module")
        self.layers.append(layer)
        return self

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)


# --- activations -----------------------------------------------------------------------


class Sigmoid(Module):
    """o = σ(s) = 1 / (1 + e^−s), element-wise (lecture 20.2)."""

    def forward(self, s: Any) -> Tensor:
        return F.sigmoid(s)


class Tanh(Module):
    """o = tanh(s), element-wise."""

    def forward(self, s: Any) -> Tensor:
        return F.tanh(s)


class ReLU(Module):
    """o = max(s, 0), element-wise."""

    def forward(self, s: Any) -> Tensor:
        return F.relu(s)


class LeakyReLU(Module):
    """o = s where s > 0, else a · s (a = ``negative_slope``)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, s: Any) -> Tensor:
        return F.leaky_relu(s, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """o = e^s / Σ e^s along ``axis`` (the last one by default)."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, s: Any) -> Tensor:
        return F.softmax(s, self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class Identity(Module):
    """o = s."""

    def forward(self, s: Any) -> Any:
        return s


class Dropout(Module):
    """In training, each element is zeroed with probability p and the rest are scaled by
    1 / (1 − p), so the expected output equals the input; in evaluation it is the identity.

    The mask m is a constant, so dE/ds = m ⊙ dE/do. Masks are drawn from ``generator``
    (default: gradgate's default generator at the time of the call, reseeded by
    ``gradgate.manual_seed``).
    """

    def __init__(self, p: float = 0.5, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must lie in [0, 1), got {p!r}")
        self.p = float(p)
        self.generator = generator

    def forward(self, s: Any) -> Any:
        if not self.training or self.p == 0.0:
            return s
        data = s._data if isinstance(s, Tensor) else np.asarray(s)
        device = backend.device_of(data)
        mask = dropout_mask(self.generator, data.shape, self.p, data.dtype, device, np.float32)
        return F.mul(s, mask)

    def extra_repr(self) -> str:
        return f"p={self.p}"
