"""Multi-head attention and the Transformer encoder layer, with PyTorch's parameter names
(``in_proj_weight``, ``in_proj_bias``, ``out_proj.weight``, ...), so a PyTorch state dict
converted to arrays loads.

Attention itself is the composition of ``scaled_dot_product_attention``'s gates: two matrix
products around a softmax (see ``gradgate.nn.functional``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import functional as G
from ..tensor import DEFAULT_FLOAT, Tensor
from . import functional as F
from . import init
from .activations import GELU
from .containers import ModuleList
from .layers import Dropout, Linear, ReLU
from .module import Module, Parameter
from .normalization import LayerNorm


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x._data if isinstance(x, Tensor) else x))


def _additive_mask(mask: Any, dtype: Any, what: str) -> np.ndarray | None:
    """A boolean mask (True: left out, as PyTorch's MultiheadAttention) or a float mask
    (added to the scores) as one float array to add."""
    if mask is None:
        return None
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.dtype == np.bool_:
        return np.where(m, -np.inf, 0.0).astype(dtype)
    if m.dtype.kind != "f":
        raise TypeError(f"MultiheadAttention: {what} must be boolean or floating, got {m.dtype}")
    return m.astype(dtype)


class MultiheadAttention(Module):
    """Attention of ``num_heads`` heads, each over embed_dim / num_heads features:
    q = x_q W_qᵀ + b_q (k and v likewise, W_q, W_k, W_v stacked in ``in_proj_weight``),
    each head softmax(q kᵀ/√d + mask) v, the heads joined and projected by ``out_proj``.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns (output, weights): inputs
    (L, N, E) ((N, L, E) with ``batch_first``, or (L, E) unbatched); boolean masks mark with
    True the places left out, float masks are added to the scores, as PyTorch's.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = False,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible "
                f"by num_heads ({num_heads})"
            )
        dtype = np.dtype(dtype or DEFAULT_FLOAT)
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout, self.batch_first, self.generator = float(dropout), batch_first, generator
        self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype))
        init.xavier_uniform_(self.in_proj_weight, generator=generator)
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype, generator=generator)
        if self.out_proj.bias is not None:
            init.zeros_(self.out_proj.bias)

    def _project(self, x: Any, k: int) -> Tensor:
        E = self.embed_dim
        W = self.in_proj_weight[k * E : (k + 1) * E]
        b = None if self.in_proj_bias is None else self.in_proj_bias[k * E : (k + 1) * E]
        return F.linear(x, W, b)

    def _heads(self, x: Tensor) -> Tensor:
        """(N, L, E) → (N, heads, L, head_dim)."""
        N, L, _ = _shape(x)
        return G.transpose(G.reshape(x, (N, L, self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def forward(
        self,
        query: Any,
        key: Any,
        value: Any,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        shape = _shape(query)
        if len(shape) not in (2, 3) or shape[-1] != self.embed_dim:
            raise ValueError(
                f"MultiheadAttention: expected query (L, N, {self.embed_dim}) or "
                f"(L, {self.embed_dim}), got {shape}"
            )
        unbatched = len(shape) == 2
        if unbatched:
            query, key, value = (G.expand_dims(t, 0) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = np.asarray(
                    key_padding_mask.data
                    if isinstance(key_padding_mask, Tensor)
                    else key_padding_mask
                )[None]
        elif not self.batch_first:
            query, key, value = (G.swapaxes(t, 0, 1) for t in (query, key, value))
        N, L, E = _shape(query)
        S = _shape(key)[1]
        q, k, v = (self._heads(self._project(t, i)) for i, t in enumerate((query, key, value)))
        dtype = q.dtype
        mask = _additive_mask(attn_mask, dtype, "attn_mask")
        if mask is None and is_causal:
            mask = np.where(np.tril(np.ones((L, S), dtype=bool)), 0.0, -np.inf).astype(dtype)
        if mask is not None and mask.ndim == 3:  # (N · heads, L, S)
            mask = mask.reshape(N, self.num_heads, L, S)
        padding = _additive_mask(key_padding_mask, dtype, "key_padding_mask")
        if padding is not None:
            padding = padding.reshape(N, 1, 1, S)
            mask = padding if mask is None else mask + padding
        scores = G.matmul(q, G.swapaxes(k, -1, -2)) * (1.0 / math.sqrt(self.head_dim))
        if mask is not None:
            scores = scores + mask
        weights = G.softmax(scores, -1)  # (N, heads, L, S)
        if self.dropout and self.training:
            weights = F.dropout(weights, self.dropout, True, self.generator)
        out = G.reshape(G.transpose(G.matmul(weights, v), (0, 2, 1, 3)), (N, L, E))
        out = self.out_proj(out)
        if unbatched:
            out = G.squeeze(out, 0)
        elif not self.batch_first:
            out = G.swapaxes(out, 0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = G.mean(weights, axis=1)
        if unbatched:
            weights = G.squeeze(weights, 0)
        return out, weights

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with a residual connection and a
    LayerNorm: after the sum (``norm_first=False``, the original Transformer) or before
    the block (``norm_first=True``). PyTorch's sub-module names: ``self_attn``, ``linear1``,
    ``linear2``, ``norm1``, ``norm2`` (and the dropouts)."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[..., Any] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout, bias, batch_first, dtype, generator
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias, dtype, generator)
        self.dropout = Dropout(dropout, generator)
        self.linear2 = Linear(dim_feedforward, d_model, bias, dtype, generator)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, generator)
        self.dropout2 = Dropout(dropout, generator)
        self.activation: Any
        if isinstance(activation, str):
            if activation not in ("relu", "gelu"):
                raise ValueError(
                    f"TransformerEncoderLayer: activation must be 'relu', "
                    f"'gelu' or a function, got {activation!r}"
                )
            self.activation = ReLU() if activation == "relu" else GELU()
        else:
            self.activation = activation

    def _attention(self, x: Any, mask: Any, padding: Any, is_causal: bool) -> Tensor:
        out, _ = self.self_attn(
            x,
            x,
            x,
            key_padding_mask=padding,
            need_weights=False,
            attn_mask=mask,
            is_causal=is_causal,
        )
        return self.dropout1(out)

    def _feed_forward(self, x: Any) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(
        self,
        src: Any,
        src_mask: Any = None,
        src_key_padding_mask: Any = None,
        is_causal: bool = False,
    ) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._attention(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))


class TransformerEncoder(Module):
    """``num_layers`` copies of an encoder layer applied in turn (then ``norm``, if given);
    parameters named ``layers.0.self_attn.in_proj_weight``, ... as PyTorch's."""

    def __init__(
        self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None
    ) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self, src: Any, mask: Any = None, src_key_padding_mask: Any = None, is_causal: bool = False
    ) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, mask, src_key_padding_mask, is_causal)
        return x if self.norm is None else self.norm(x)
