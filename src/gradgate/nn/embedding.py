"""Embedding tables and channel dropout."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import DEFAULT_FLOAT, Tensor
from . import functional as F
from . import init
from .module import Module, Parameter


class Embedding(Module):
    """o = weight[y]: a learned vector (row of ``weight``, (num_embeddings, embedding_dim))
    for each integer y. Rows start as N(0, 1), as PyTorch's; row ``padding_idx`` starts at
    zero and gets no gradient. dE/dweight adds g into the rows looked up (scatter-add)."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx {padding_idx} must lie in "
                    f"[-{num_embeddings}, {num_embeddings})"
                )
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(
            np.empty((num_embeddings, embedding_dim), np.dtype(dtype or DEFAULT_FLOAT))
        )
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        init.normal_(self.weight, 0.0, 1.0, generator)
        if self.padding_idx is not None:
            self.weight.writable_array()[self.padding_idx] = 0

    def forward(self, y: Any) -> Tensor:
        return F.embedding(y, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class _ChannelDropout(Module):
    def __init__(self, p: float = 0.5, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must lie in [0, 1], got {p!r}")
        self.p, self.generator = float(p), generator

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout1d(_ChannelDropout):
    """Whole channels of x (N, C, L) zeroed with probability p in training, the rest scaled
    by 1/(1 − p); the identity in evaluation."""

    def forward(self, x: Any) -> Any:
        return F.dropout1d(x, self.p, self.training, self.generator)


class Dropout2d(_ChannelDropout):
    """Whole channels of x (N, C, H, W) zeroed with probability p in training."""

    def forward(self, x: Any) -> Any:
        return F.dropout2d(x, self.p, self.training, self.generator)
