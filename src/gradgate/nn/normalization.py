"""Normalisation layers: BatchNorm1d/2d, LayerNorm, GroupNorm, with PyTorch's parameter and
buffer names (``weight``, ``bias``, ``running_mean``, ``running_var``,
``num_batches_tracked``), so a PyTorch state dict converted to arrays loads.

All of them run the fused :class:`~gradgate.gates.layers.Normalize` gate and then the
per-channel (or per-element) affine parameters; see ``gradgate.nn.functional``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import DEFAULT_FLOAT, Tensor
from . import functional as F
from .module import Module, Parameter


class _BatchNorm(Module):
    """x normalised per channel with the batch's statistics in training, and with running
    statistics in evaluation (when ``track_running_stats``); then scaled by ``weight`` (γ)
    and shifted by ``bias`` (β) when ``affine``.

    The running statistics follow PyTorch: r ← (1 − momentum) r + momentum · s after each
    training batch, with the unbiased batch variance for ``running_var``; with
    ``momentum=None`` they are the cumulative average (momentum 1/n at batch n).
    """

    spatial: tuple[int, ...] = ()  # how many dimensions an input may have
    running_mean: Any  # buffers (Tensors, or None without track_running_stats)
    running_var: Any
    num_batches_tracked: Any

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if (
            isinstance(num_features, bool)
            or not isinstance(num_features, (int, np.integer))
            or num_features < 1
        ):
            raise ValueError(
                f"{type(self).__name__}: num_features must be a positive "
                f"integer, got {num_features!r}"
            )
        dtype = np.dtype(dtype or DEFAULT_FLOAT)
        self.num_features = int(num_features)
        self.eps, self.momentum = float(eps), momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(np.ones(num_features, dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.writable_array()[...] = 0
            self.running_var.writable_array()[...] = 1
            self.num_batches_tracked.writable_array()[...] = 0

    def forward(self, x: Any) -> Tensor:
        shape = np.shape(x._data if isinstance(x, Tensor) else x)
        if len(shape) not in self.spatial or shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}: expected an input of "
                f"{' or '.join(map(str, self.spatial))} dimensions with "
                f"{self.num_features} channels in axis 1, got shape {shape}"
            )
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.writable_array()[...] += 1
            if momentum is None:  # the cumulative average
                momentum = 1.0 / int(self.num_batches_tracked.item())
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            0.0 if momentum is None else momentum,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of x (N, C) or (N, C, L), per channel C."""

    spatial = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of x (N, C, H, W), per channel C."""

    spatial = (4,)


class LayerNorm(Module):
    """x normalised over its last axes (``normalized_shape``), then ⊙ weight + bias, those
    of ``normalized_shape`` too (``elementwise_affine``)."""

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        dtype = np.dtype(dtype or DEFAULT_FLOAT)
        self.normalized_shape, self.eps = shape, float(eps)
        self.elementwise_affine = elementwise_affine
        self.weight = Parameter(np.ones(shape, dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape, dtype)) if elementwise_affine and bias else None

    def forward(self, x: Any) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class GroupNorm(Module):
    """x (N, C, ...) normalised over groups of C / num_groups channels, then scaled and
    shifted per channel (``affine``)."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                f"num_groups ({num_groups})"
            )
        dtype = np.dtype(dtype or DEFAULT_FLOAT)
        self.num_groups, self.num_channels, self.eps = num_groups, num_channels, float(eps)
        self.affine = affine
        self.weight = Parameter(np.ones(num_channels, dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_channels, dtype)) if affine else None

    def forward(self, x: Any) -> Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
