"""Pooling: the maximum or the mean of each window, over d spatial axes.

Inputs are (N, C, *spatial); windows slide over the spatial axes as a convolution's do
(kernel, stride, padding, dilation), each channel on its own. The windows are a strided
view of the (padded) input (``conv.windows``); nothing loops over positions.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import device_of, to_device
from .base import Gate, Sample, register
from .conv import ConvTranspose, ints, pad, windows


def _refuse_empty(gate: str, x) -> None:
    """An empty batch is fine; an empty channel or spatial axis has no windows."""
    if 0 in x.shape[1:]:
        raise ValueError(
            f"{gate}: input of shape {x.shape} is empty along a channel or spatial axis"
        )


class _Pool(Gate):
    """kernel_size, stride (the kernel's by default) and padding, resolved per axis."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False):
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.ceil_mode = bool(ceil_mode)

    def spatial_axes(self, x) -> int:
        """d: the kernel's length when it is a tuple, else all axes after (N, C)."""
        d = len(self.kernel_size) if isinstance(self.kernel_size, (tuple, list)) else x.ndim - 2
        if d < 1 or x.ndim != d + 2:
            raise ValueError(
                f"{self.name}: needs an input (N, C, *spatial) with {max(d, 1)} "
                f"spatial axes for kernel_size {self.kernel_size!r}, got shape "
                f"{x.shape}"
            )
        return d

    def resolve(self, x):
        name = self.name
        d = self.spatial_axes(x)
        _refuse_empty(name, x)
        kernel = ints(self.kernel_size, d, "kernel_size", name)
        stride = (
            kernel
            if self.stride is None or self.stride == ()
            else ints(self.stride, d, "stride", name)
        )
        padding = ints(self.padding, d, "padding", name)
        if any(k < 1 for k in kernel) or any(s < 1 for s in stride):
            raise ValueError(f"{name}: kernel_size {kernel} and stride {stride} must be positive")
        if any(not 0 <= p <= k // 2 for p, k in zip(padding, kernel, strict=True)):
            raise ValueError(
                f"{name}: padding {padding} must be at least 0 and at most half the kernel {kernel}"
            )
        return d, kernel, stride, padding

    def pairs(self, spatial, kernel, stride, padding, dilation) -> tuple[tuple[int, int], ...]:
        """(before, after) for each axis: the padding; with ``ceil_mode`` as many more after
        as a last, partial window needs, PyTorch's rule: out = ⌈(n + 2p − d(k − 1) − 1)/s⌉ + 1
        windows, less the last when it would start in the right padding."""
        pairs = []
        for n, k, s, p, di in zip(spatial, kernel, stride, padding, dilation, strict=True):
            span = n + 2 * p - di * (k - 1) - 1
            out = span // s + 1  # below 1: windows() refuses the kernel
            if self.ceil_mode and -(-span // s) + 1 >= 1:
                out = -(-span // s) + 1
                if (out - 1) * s >= n + p:
                    out -= 1
            pairs.append((p, p + max(0, (out - 1) * s + di * (k - 1) + 1 - (n + 2 * p))))
        return tuple(pairs)


@register
class MaxPool(_Pool):
    """y = the largest element of each window (padding counts as −∞), as PyTorch's
    max_pool1d/2d.

    y_i = x_m(i) where m(i) is the window's argmax (its first, on ties; a NaN wins, as in
    PyTorch). J has one 1 per row, at m(i), so J^T g puts each g_i at x_m(i) and sums
    where windows overlap and share their maximum: dE/dx = scatter-add of g to the argmax
    positions. The positions are not differentiable (they are constant where the
    maximum is unique), so forward saves them for vjp.
    """

    formula, tex = "{out} = max over each window of {x}", "{out} = \\max_{\\mathrm{window}} {x}"
    gradients = ("{g} added at each window's argmax",)

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.dilation = dilation

    def forward(self, xp, x):
        d, kernel, stride, padding = self.resolve(x)
        dilation = ints(self.dilation, d, "dilation", self.name)
        if any(di < 1 for di in dilation):
            raise ValueError(f"{self.name}: dilation must be positive, got {dilation}")
        if x.dtype.kind != "f":
            raise ValueError(f"{self.name}: needs floating-point input, got {x.dtype}")
        pairs = self.pairs(x.shape[2:], kernel, stride, padding, dilation)
        view, out = windows(xp, pad(xp, x, pairs, -np.inf), kernel, stride, dilation, self.name)
        taps = math.prod(kernel)
        # one copy, each tap's elements contiguous: (K, N, C, *out)
        spread = xp.ascontiguousarray(xp.moveaxis(view.reshape(x.shape[:2] + out + (taps,)), -1, 0))
        # the running maximum over the K taps (a loop over the kernel, not over positions):
        # a later tap wins when larger, or NaN (PyTorch keeps a window's last NaN)
        y = spread[0].copy()
        arg = xp.zeros(y.shape, dtype=np.intp)
        for k in range(1, taps):
            v = spread[k]
            wins = (v > y) | (v != v)
            xp.putmask(arg, wins, k)
            xp.maximum(y, v, out=y)  # a NaN in either stays
        positions = self.positions(x.shape, out, kernel, stride, dilation, padding)
        planes = xp.arange(x.shape[0] * x.shape[1]).reshape(x.shape[:2] + (1,) * d)
        L = math.prod(out)
        within = to_device(positions, device_of(x))[arg, xp.arange(L).reshape(out)]
        return y, planes * math.prod(x.shape[2:]) + within  # flat index into x of each max

    def positions(self, shape, out, kernel, stride, dilation, padding) -> np.ndarray:
        """(K, *out) int64 on the host: where in a plane of x (flattened) tap k of each window
        reads, i·s + a·dilation − padding per axis. A tap in the padding wins only when its
        whole window is −∞ (strict > keeps the first tap on ties); PyTorch then names the
        window's first element inside x, and so does this table."""
        d, spatial = len(kernel), shape[2:]
        index = np.zeros((math.prod(kernel),) + tuple(out), dtype=np.int64)
        ones = (1,) * (d + 1)
        where = np.unravel_index(np.arange(math.prod(kernel)), kernel)
        for axis, (tap, k, s, di, p, n) in enumerate(
            zip(where, kernel, stride, dilation, padding, spatial, strict=True)
        ):
            starts = (np.arange(out[axis]) * s - p).reshape(
                ones[: 1 + axis] + (out[axis],) + ones[2 + axis :]
            )
            position = starts + tap.reshape((-1,) + ones[1:]) * di
            first = starts + (-(starts // di)).clip(0) * di  # the window's first index ≥ 0
            if bool(((first > starts + (k - 1) * di) | (first >= n)).any()):
                raise ValueError(
                    f"{self.name}: a window of kernel {kernel}, dilation "
                    f"{dilation}, padding {padding} lies wholly in the padding "
                    f"of an input of shape {shape}"
                )
            position = np.where((position < 0) | (position >= n), first, position)
            index = index * n + position
        return index.reshape(index.shape[0], -1)  # (K, L)

    def vjp(self, xp, g, y, x, *, saved):
        flat = xp.scatter_add(g.reshape((g.size,)), (saved.reshape(saved.size),), (x.size,))
        return (flat.reshape(x.shape),)

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.apart(2, 3, 6, 5),), {"kernel_size": (2, 2)}),
            Sample(
                (draw.apart(2, 2, 7, 6),),
                {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 1)},
            ),
            Sample((draw.apart(1, 2, 9, 8),), {"kernel_size": (2, 3), "stride": 2, "dilation": 2}),
            Sample(
                (draw.apart(1, 2, 7, 8),),
                {"kernel_size": (3, 2), "stride": (2, 3), "dilation": (1, 2), "padding": (1, 0)},
            ),
            Sample((draw.apart(2, 3, 9),), {"kernel_size": (3,), "stride": 2, "padding": 1}),
            Sample((draw.apart(2, 2, 7, 6),), {"kernel_size": 2, "ceil_mode": True}),
            Sample(
                (draw.apart(1, 2, 8, 7),),
                {"kernel_size": (3, 2), "stride": (2, 3), "padding": (1, 0), "ceil_mode": True},
            ),
        ]

    def reference(self, torch, x):
        d, kernel, stride, padding = self.resolve(x)
        F = torch.nn.functional
        pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[d]
        dilation = ints(self.dilation, d, "dilation", self.name)
        return pool(x, kernel, stride, padding, dilation, ceil_mode=self.ceil_mode)


@register
class AvgPool(_Pool):
    """y = the mean of each window, as PyTorch's avg_pool1d/2d.

    Padding adds zeros that count in the mean (``count_include_pad=True``, PyTorch's
    default) or not. y_i = Σ_(m in window i) x_m / c_i with c_i the window's count, so J^T g
    gives each x_m the sum of g_i / c_i over the windows that hold it: a transposed
    convolution of g / c with a kernel of ones, channel by channel.
    """

    formula, tex = (
        "{out} = mean over each window of {x}",
        "{out} = \\mathrm{{mean}}_{\\mathrm{window}} {x}",
    )
    gradients = ("{g} / count spread over each window",)

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        count_include_pad: bool = True,
        ceil_mode: bool = False,
    ):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = count_include_pad

    def counts(self, x, d, kernel, stride, padding, out):
        """The divisor of each window, (*out), on the host: how many of its elements lie
        inside the padded input (``count_include_pad``: the kernel's size, but for a last
        window of ``ceil_mode`` that reaches past the padding), or inside x."""
        pairs = self.pairs(x.shape[2:], kernel, stride, padding, (1,) * d)
        extra = [hi - p for (_, hi), p in zip(pairs, padding, strict=True)]  # from ceil_mode
        if self.count_include_pad and not any(extra):
            return float(math.prod(kernel))
        inside = np.ones((1, 1) + tuple(x.shape[2:]))
        if self.count_include_pad:  # the padding counts, what ceil_mode adds does not
            inside = pad(np, inside, tuple((p, p) for p in padding), 1.0)
            pairs = tuple((0, e) for e in extra)
        view, _ = windows(np, pad(np, inside, pairs), kernel, stride, (1,) * d, self.name)
        return view.sum(axis=tuple(range(-d, 0)))[0, 0]

    def forward(self, xp, x):
        d, kernel, stride, padding = self.resolve(x)
        pairs = self.pairs(x.shape[2:], kernel, stride, padding, (1,) * d)
        view, out = windows(xp, pad(xp, x, pairs), kernel, stride, (1,) * d, self.name)
        total = view.sum(axis=tuple(range(-d, 0)))
        count = self.counts(x, d, kernel, stride, padding, out)
        return total / to_device(np.asarray(count, dtype=x.dtype), device_of(x))

    def vjp(self, xp, g, y, x):
        d, kernel, stride, padding = self.resolve(x)
        out = tuple(y.shape[2:])
        count = self.counts(x, d, kernel, stride, padding, out)
        count = to_device(np.asarray(count, dtype=x.dtype), device_of(x))
        ones = to_device(np.ones((1, 1) + kernel, dtype=x.dtype), device_of(x))
        # the windows' sum is Conv with a kernel of ones; its transpose, per channel:
        pairs = tuple(
            (p, (m - 1) * s - p + k - n)
            for p, m, s, k, n in zip(padding, out, stride, kernel, x.shape[2:], strict=True)
        )
        planes = (x.shape[0] * x.shape[1], 1) + out
        spread = xp.apply(ConvTranspose(stride, pairs), (g / count).reshape(planes), ones)
        return (spread.reshape(x.shape),)

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(2, 3, 6, 5),), {"kernel_size": (2, 2)}),
            Sample((r(2, 2, 7, 6),), {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 1)}),
            Sample(
                (r(1, 2, 7, 7),),
                {"kernel_size": (3, 3), "stride": 2, "padding": 1, "count_include_pad": False},
            ),
            Sample((r(2, 3, 9),), {"kernel_size": (3,), "stride": 2, "padding": 1}),
            Sample((r(2, 2, 7, 6),), {"kernel_size": 2, "ceil_mode": True}),
            Sample(
                (r(1, 2, 8, 7),),
                {"kernel_size": (3, 2), "stride": 2, "padding": (1, 1), "ceil_mode": True},
            ),
            Sample(
                (r(1, 2, 8, 7),),
                {
                    "kernel_size": 3,
                    "stride": 2,
                    "padding": 1,
                    "ceil_mode": True,
                    "count_include_pad": False,
                },
            ),  # fmt: skip
        ]

    def reference(self, torch, x):
        d, kernel, stride, padding = self.resolve(x)
        F = torch.nn.functional
        pool = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[d]
        return pool(x, kernel, stride, padding, self.ceil_mode, self.count_include_pad)


def bins(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive bins of an axis of length n into m: [⌊i·n/m⌋, ⌈(i+1)·n/m⌉)."""
    i = np.arange(m)
    return (i * n) // m, -((-(i + 1) * n) // m)


def averaging(n: int, m: int, dtype) -> np.ndarray:
    """A (m, n): row i averages bin i, so pooling an axis is A @ x along it."""
    start, stop = bins(n, m)
    A = np.zeros((m, n), dtype=dtype)
    inside = (np.arange(n) >= start[:, None]) & (np.arange(n) < stop[:, None])
    A[inside] = 1.0
    return A / (stop - start)[:, None]


@register
class AdaptiveAvgPool(Gate):
    """y = the mean of each of output_size bins per spatial axis (PyTorch's
    adaptive_avg_pool1d/2d): bin i of an axis of length n into m is [⌊i·n/m⌋, ⌈(i+1)·n/m⌉).

    Pooling is linear and separable: y = A_h x A_wᵀ with A (m, n) averaging each bin (the
    last axis alone in 1-D), so J^T g = A_hᵀ g A_w. The forward sums the bins directly
    (np.add.reduceat), so an infinite element stays in its own bins.
    """

    formula, tex = "{out} = A {x} Aᵀ", "{out} = A_h\\, {x}\\, A_w^\\top"
    gradients = ("A_hᵀ {g} A_w",)

    def __init__(self, output_size):
        self.output_size = output_size

    def sizes(self, x) -> tuple[int, ...]:
        size = self.output_size
        d = len(size) if isinstance(size, (tuple, list)) else x.ndim - 2
        if d not in (1, 2) or x.ndim != d + 2:
            raise ValueError(
                f"{self.name}: needs an input (N, C, L) or (N, C, H, W) for "
                f"output_size {size!r}, got shape {x.shape}"
            )
        size = (size,) * d if not isinstance(size, (tuple, list)) else tuple(size)
        size = tuple(n if m is None else m for m, n in zip(size, x.shape[2:], strict=True))
        if any(isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1 for m in size):
            raise ValueError(
                f"{self.name}: output_size must be positive ints, got {self.output_size!r}"
            )
        return tuple(int(m) for m in size)

    def forward(self, xp, x):
        sizes = self.sizes(x)
        _refuse_empty(self.name, x)
        y = x
        for axis, m in enumerate(sizes, start=2):
            n = x.shape[axis]
            start, stop = bins(n, m)
            # Σ x[start:stop] for every bin: reduceat over the bounds interleaved; the sums
            # between bins are dropped (a zero appended keeps the last bound in range)
            widths = [(0, 0)] * y.ndim
            widths[axis] = (0, 1)
            bounds = np.stack([start, stop], axis=1).reshape(-1)
            sums = xp.add.reduceat(xp.pad(y, widths), to_device(bounds, device_of(x)), axis=axis)
            sums = xp.take(sums, to_device(np.arange(0, 2 * m, 2), device_of(x)), axis=axis)
            shape = [1] * y.ndim
            shape[axis] = m
            y = sums / to_device((stop - start).astype(x.dtype).reshape(shape), device_of(x))
        return y

    def vjp(self, xp, g, y, x):
        sizes = self.sizes(x)
        where = device_of(x)
        A_last = to_device(averaging(x.shape[-1], sizes[-1], x.dtype), where)
        gx = xp.matmul(g, A_last)  # (..., m) @ (m, n)
        if len(sizes) == 2:
            A_first = to_device(averaging(x.shape[-2], sizes[0], x.dtype).T, where)
            gx = xp.matmul(A_first, gx)  # (n, m) @ (..., m, n_last)
        return (gx,)

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(2, 3, 6, 5),), {"output_size": (3, 2)}),
            Sample((r(1, 2, 7, 5),), {"output_size": (3, None)}),
            Sample((r(2, 2, 4, 5),), {"output_size": (1, 2)}),
            Sample((r(2, 3, 10),), {"output_size": (4,)}),
        ]

    def reference(self, torch, x):
        F = torch.nn.functional
        size = self.sizes(x)
        return (F.adaptive_avg_pool1d if len(size) == 1 else F.adaptive_avg_pool2d)(x, size)
