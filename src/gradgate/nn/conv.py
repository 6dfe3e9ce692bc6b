"""Convolution and pooling layers, and Flatten/Unflatten, as ``torch.nn`` names them.

Parameters carry PyTorch's names and shapes (``weight`` (out, in/groups, *kernel), or
(in, out/groups, *kernel) for a transpose; ``bias`` (out,)), so a PyTorch state dict
converted to arrays loads. They start as PyTorch's do: ``kaiming_uniform_`` with a = √5,
which is U(−1/√fan_in, 1/√fan_in), and the bias from the same range, with
fan_in = weight.shape[1] · kernel size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import functional as F
from ..arguments import count
from ..gates.conv import ints, padding_pairs
from ..indexing import torch_pad
from ..tensor import DEFAULT_FLOAT, Tensor
from . import init
from .module import Module, Parameter

# PyTorch's padding modes; F.pad names reflect, replicate and circular as NumPy's reflect,
# edge and wrap
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What Conv1d, Conv2d and ConvTranspose2d share: sizes, parameters, their init."""

    transposed = False
    d = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype: Any = None,
        generator: np.random.Generator | None = None,
        output_padding: Any = 0,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.in_channels = count(in_channels, f"{name}: in_channels")
        self.out_channels = count(out_channels, f"{name}: out_channels")
        self.groups = count(groups, f"{name}: groups")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(
                f"{name}: in_channels {in_channels} and out_channels "
                f"{out_channels} must both be divisible by groups {groups}"
            )
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', "
                f"got {padding_mode!r}"
            )
        if self.transposed and padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported (as in PyTorch)")
        self.kernel_size = ints(kernel_size, self.d, "kernel_size", name)
        self.stride = ints(stride, self.d, "stride", name)
        self.padding = (
            padding if isinstance(padding, str) else ints(padding, self.d, "padding", name)
        )
        self.dilation = ints(dilation, self.d, "dilation", name)
        self.output_padding = ints(output_padding, self.d, "output_padding", name)
        self.padding_mode = padding_mode
        dtype = np.dtype(dtype or DEFAULT_FLOAT)
        rows, cols = (
            (self.in_channels, self.out_channels)
            if self.transposed
            else (self.out_channels, self.in_channels)
        )
        shape = (rows, cols // self.groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty(self.out_channels, dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    def padded(self, x: Any) -> tuple[Any, Any]:
        """(the input, the padding the convolution adds): with a ``padding_mode`` other
        than zeros, the input padded by that mode (gg.pad's reflect, edge, wrap) and no
        more padding, as PyTorch's layers do."""
        if self.padding_mode == "zeros":
            return x, self.padding
        pairs = padding_pairs(self.padding, self.d, self.kernel_size, self.dilation,
                              self.stride, type(self).__name__)  # fmt: skip
        widths = [w for lo, hi in reversed(pairs) for w in (lo, hi)]  # F.pad's order
        return torch_pad(x, widths, mode=self.padding_mode), 0

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """PyTorch's init: kaiming_uniform_(a=√5) for the weight, U(±1/√fan_in) for the
        bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in, _ = init.fans(self.weight)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound, generator)

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self.d:
            text += f", padding={self.padding!r}"
        if self.dilation != (1,) * self.d:
            text += f", dilation={self.dilation}"
        if self.transposed and self.output_padding != (0,) * self.d:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode!r}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv1d(_ConvNd):
    """y = x ⋆ W + b over one axis: (N, C_in, L) → (N, C_out, L_out) (see ``gg.conv1d``)."""

    d = 1

    def forward(self, x: Any) -> Tensor:
        x, padding = self.padded(x)
        return F.conv1d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """y = x ⋆ W + b over two axes: (N, C_in, H, W) → (N, C_out, H_out, W_out).

    ``weight`` (C_out, C_in/groups, kh, kw), ``bias`` (C_out,). ``padding`` is an int, a
    pair, "valid" or "same" (see ``gg.conv2d`` and the ``Conv`` gate).
    """

    d = 2

    def forward(self, x: Any) -> Tensor:
        x, padding = self.padded(x)
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """The transpose of Conv2d in its input (an "up-convolution"):
    (N, C_in, H, W) → (N, C_out, (H − 1)·s − 2p + d·(k − 1) + output_padding + 1, …).

    ``weight`` (C_in, C_out/groups, kh, kw), ``bias`` (C_out,), PyTorch's argument order.
    """

    transposed = True
    d = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be ints, got {padding!r}")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            dtype,
            generator,
            output_padding,
        )

    def forward(self, x: Any) -> Tensor:
        return F.conv_transpose2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
        )


# --- pooling -----------------------------------------------------------------------------


class _Pool(Module):
    d = 2

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _MaxPool(_Pool):
    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, x: Any) -> Any:
        pool = F.max_pool1d if self.d == 1 else F.max_pool2d
        return pool(x, self.kernel_size, self.stride, self.padding, self.dilation,
                    self.ceil_mode, self.return_indices)  # fmt: skip

    def extra_repr(self) -> str:
        text = super().extra_repr()
        if self.dilation != 1:
            text += f", dilation={self.dilation}"
        return text + (", ceil_mode=True" if self.ceil_mode else "")


class MaxPool1d(_MaxPool):
    """The largest element of each window along L (see ``gg.max_pool1d``); ``ceil_mode``
    keeps a last, partial window, as PyTorch."""

    d = 1


class MaxPool2d(_MaxPool):
    """The largest element of each kh × kw window (see ``gg.max_pool2d``); ``ceil_mode``
    keeps a last, partial window, as PyTorch."""


class AvgPool1d(_Pool):
    """The mean of each window along L (see ``gg.avg_pool1d``)."""

    d = 1

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, x: Any) -> Tensor:
        return F.avg_pool1d(
            x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )


class AvgPool2d(_Pool):
    """The mean of each kh × kw window (see ``gg.avg_pool2d``)."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, x: Any) -> Tensor:
        return F.avg_pool2d(
            x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )


class AdaptiveAvgPool2d(Module):
    """The mean over each of oh × ow bins, whatever the input's size (1: global average)."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Any) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


# --- reshaping ---------------------------------------------------------------------------


class Flatten(Module):
    """Axes start_dim … end_dim merged into one: (N, C, H, W) → (N, C·H·W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Any) -> Tensor:
        shape = tuple(np.shape(x._data if isinstance(x, Tensor) else x))
        ndim = max(len(shape), 1)
        start, end = self.start_dim % ndim, self.end_dim % ndim
        if start > end:
            raise ValueError(
                f"Flatten: start_dim {self.start_dim} comes after end_dim "
                f"{self.end_dim} for a tensor of shape {shape}"
            )
        merged = math.prod(shape[start : end + 1])
        return F.reshape(x, shape[:start] + (merged,) + shape[end + 1 :])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Axis ``dim`` split into ``unflattened_size``: Flatten's inverse."""

    def __init__(self, dim: int, unflattened_size: tuple[int, ...]) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, x: Any) -> Tensor:
        shape = tuple(np.shape(x._data if isinstance(x, Tensor) else x))
        dim = self.dim % len(shape)
        sizes = self.unflattened_size
        known = math.prod(n for n in sizes if n != -1)
        if (-1 not in sizes and known != shape[dim]) or (known and shape[dim] % known):
            raise ValueError(
                f"Unflatten: axis {self.dim} of length {shape[dim]} cannot be split into {sizes}"
            )
        return F.reshape(x, shape[:dim] + sizes + shape[dim + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
