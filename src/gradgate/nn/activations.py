"""Activation modules beyond the lecture's: each calls one function of
``gradgate.nn.functional`` (PyTorch's names and arguments)."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .module import Module


class GELU(Module):
    """o = x Φ(x) (``approximate="none"``) or its tanh approximation (``"tanh"``)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Any) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """o = x σ(x)."""

    def forward(self, x: Any) -> Tensor:
        return F.silu(x)


class ELU(Module):
    """o = x where x > 0, else α (e^x − 1)."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x: Any) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SELU(Module):
    """o = λ x where x > 0, else λ α (e^x − 1) (λ ≈ 1.0507, α ≈ 1.6733)."""

    def forward(self, x: Any) -> Tensor:
        return F.selu(x)


class Softsign(Module):
    """o = x / (1 + |x|)."""

    def forward(self, x: Any) -> Tensor:
        return F.softsign(x)


class Hardtanh(Module):
    """o = clip(x, min_val, max_val)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        super().__init__()
        self.min_val, self.max_val = float(min_val), float(max_val)

    def forward(self, x: Any) -> Tensor:
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class LogSigmoid(Module):
    """o = ln σ(x), stable in both tails."""

    def forward(self, x: Any) -> Tensor:
        return F.log_sigmoid(x)


class LogSoftmax(Module):
    """o = x − logsumexp(x) along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
