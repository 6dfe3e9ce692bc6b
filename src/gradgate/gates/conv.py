"""Convolutions: the sliding dot product, its transpose, and its weight gradient.

Three gates, each the derivative of the others, so that every order of derivative is again
one of them (a gate's J^T g calls another gate through ``xp.apply``):

    Conv            y = x ⋆ W             (PyTorch's conv1d/conv2d: a cross-correlation)
    ConvTranspose   y = x ⋆ᵀ W            (the transpose of Conv in x: conv_transpose2d)
    ConvWeightGrad  dW = x ⋆ g            (Conv's J^T g with respect to W)

    Conv:           dE/dx = ConvTranspose(g, W)     dE/dW = ConvWeightGrad(x, g)
    ConvTranspose:  dE/dx = Conv(g, W)              dE/dW = ConvWeightGrad(g, x)
    ConvWeightGrad: dE/dx = ConvTranspose(g', G)    dE/dg' = Conv(x, G)

The gates work on any number d ≥ 1 of spatial axes: inputs (N, C, *spatial), weights
(O, C/groups, *kernel). Inside, the padding of every axis is a pair (before, after); an
"after" may be negative, which crops: that is how a transpose gets exactly its input's size
back when a stride dropped the last rows.

Computing: an im2col copy of the windows (a strided view, copied into a matrix of shape
(C·K, n·L), K taps per window, L windows per image) and one matrix product (GEMM), for a
few images n at a time, so that the matrix is still in cache when it is multiplied
(CHUNK_BYTES); the transpose is a GEMM and a scatter of its columns, one strided add per
kernel tap. Conv keeps its im2col matrix for the weight gradient when the whole batch
made one chunk, and builds it again chunk by chunk otherwise. No Python loop runs over
positions.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .base import Gate, Sample, is_array, is_host_array, register

Pairs = tuple[tuple[int, int], ...]


# --- parameters --------------------------------------------------------------------------


def ints(value, d: int, what: str, gate: str) -> tuple[int, ...]:
    """An int for every one of d axes, from one int or a tuple of d."""
    values = (value,) * d if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != d or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ValueError(f"{gate}: {what} must be an int or {d} ints, got {value!r}")
    return tuple(int(v) for v in values)


def padding_pairs(
    padding,
    d: int,
    kernel: tuple[int, ...],
    dilation: tuple[int, ...],
    stride: tuple[int, ...],
    gate: str,
) -> Pairs:
    """(before, after) for each spatial axis from PyTorch's forms: an int, d ints, "valid",
    "same" (the output as large as the input: d·(k − 1) zeros, the odd one after), or
    already d pairs."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * d
        if padding != "same":
            raise ValueError(
                f"{gate}: padding must be 'same', 'valid', an int or {d} ints, got {padding!r}"
            )
        if any(s != 1 for s in stride):
            raise ValueError(f"{gate}: padding='same' needs stride 1, got stride {stride}")
        totals = [di * (k - 1) for di, k in zip(dilation, kernel, strict=True)]
        return tuple((t // 2, t - t // 2) for t in totals)
    if not isinstance(padding, (int, np.integer)) and all(
        isinstance(p, (tuple, list)) for p in padding
    ):
        pairs = tuple((int(lo), int(hi)) for lo, hi in padding)
        if len(pairs) != d:
            raise ValueError(f"{gate}: padding has {len(pairs)} pairs for {d} spatial axes")
        return pairs
    values = ints(padding, d, "padding", gate)
    if any(p < 0 for p in values):
        raise ValueError(f"{gate}: padding must not be negative, got {padding!r}")
    return tuple((p, p) for p in values)


def _positive(values: tuple[int, ...], what: str, gate: str) -> tuple[int, ...]:
    if any(v < 1 for v in values):
        raise ValueError(f"{gate}: {what} must be positive, got {values}")
    return values


def _check_inputs(gate: str, x, W, groups: int, transposed: bool = False) -> int:
    """The number d of spatial axes, after checking x (N, C, *spatial) against the weight
    (O, C/groups, *kernel), or (C, O/groups, *kernel) for a transpose."""
    if W.ndim < 3 or x.ndim != W.ndim:
        raise ValueError(
            f"{gate}: needs an input (N, C, *spatial) and a weight (out, in/groups, *kernel) "
            f"with as many axes, got shapes {x.shape} and {W.shape}"
        )
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{gate}: groups must be a positive integer, got {groups!r}")
    if transposed:
        if x.shape[1] != W.shape[0] or W.shape[0] % groups:
            raise ValueError(
                f"{gate}: input of shape {x.shape} has {x.shape[1]} channels; a weight of "
                f"shape {W.shape} with groups={groups} needs {W.shape[0]}, a multiple of "
                f"{groups}"
            )
    elif x.shape[1] != W.shape[1] * groups or W.shape[0] % groups:
        raise ValueError(
            f"{gate}: input of shape {x.shape} has {x.shape[1]} channels; a weight of shape "
            f"{W.shape} with groups={groups} needs {W.shape[1] * groups}, and out channels "
            f"{W.shape[0]} divisible by {groups}"
        )
    if not transposed and x.shape[1] == 0:
        raise ValueError(f"{gate}: input of shape {x.shape} has no channels")
    if not transposed and W.shape[0] == 0:
        raise ValueError(f"{gate}: weight of shape {W.shape} has no output channels")
    if 0 in W.shape[2:]:
        raise ValueError(f"{gate}: the kernel of weight {W.shape} is empty")
    return W.ndim - 2


# --- the arithmetic ----------------------------------------------------------------------


def pad(xp, x, pairs: Pairs, value: float = 0.0):
    """x with (before, after) elements of ``value`` on each spatial axis; a negative
    number crops instead."""
    if any(lo < 0 or hi < 0 for lo, hi in pairs):
        x = x[
            (slice(None), slice(None))
            + tuple(
                slice(max(-lo, 0), n - max(-hi, 0))
                for (lo, hi), n in zip(pairs, x.shape[2:], strict=True)
            )
        ]
    if any(lo > 0 or hi > 0 for lo, hi in pairs):
        widths = ((0, 0), (0, 0)) + tuple((max(lo, 0), max(hi, 0)) for lo, hi in pairs)
        x = xp.pad(x, widths, constant_values=value)
    return x


def windows(
    xp, x, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...], gate: str
):
    """A strided view (N, C, *out, *kernel) of x (N, C, *spatial), no copy:
    view[n, c, i, a] = x[n, c, i·s + a·d] for each spatial axis."""
    spatial = x.shape[2:]
    out = tuple(
        (n - di * (k - 1) - 1) // s + 1
        for n, k, s, di in zip(spatial, kernel, stride, dilation, strict=True)
    )
    if any(n - di * (k - 1) < 1 for n, k, di in zip(spatial, kernel, dilation, strict=True)):
        raise ValueError(
            f"{gate}: the kernel {kernel} (dilation {dilation}) is larger than the padded "
            f"input {spatial}"
        )
    steps = x.strides[2:]
    strides = (
        x.strides[:2]
        + tuple(st * s for st, s in zip(steps, stride, strict=True))
        + tuple(st * di for st, di in zip(steps, dilation, strict=True))
    )
    view = xp.lib.stride_tricks.as_strided(x, x.shape[:2] + out + kernel, strides)
    return view, out


def columns(xp, x, kernel, stride, dilation, gate: str):
    """im2col: the windows of x copied once into a matrix (C·K, N·L), one column per
    window (N images × L positions), one row per channel and kernel tap."""
    view, out = windows(xp, x, kernel, stride, dilation, gate)
    d = len(kernel)
    order = (1, *range(2 + d, 2 + 2 * d), 0, *range(2, 2 + d))  # (C, *kernel, N, *out)
    cols = xp.ascontiguousarray(xp.transpose(view, order))
    return cols.reshape(x.shape[1] * math.prod(kernel), x.shape[0] * math.prod(out)), out


# The im2col matrices (and the transpose's tap products) are built a few images at a time,
# as many as fit in this many bytes (at least one), on the CPU: copied, multiplied and
# added while they are still in cache. benchmarks/conv.py measured the MNIST-scale layer's
# forward at 41-45 ms built whole against 27-30 ms in chunks. A GPU takes the whole batch.
CHUNK_BYTES = 4 << 20


def image_chunks(x, per_image: int) -> list[slice]:
    """Slices of the batch axis of x holding about CHUNK_BYTES of ``per_image`` bytes each
    on the CPU; the whole batch on a GPU."""
    n = x.shape[0]
    step = max(1, CHUNK_BYTES // max(per_image, 1)) if is_host_array(x) else n
    return [slice(k, min(n, k + step)) for k in range(0, n, max(step, 1))]


# A strided add or copy costs per row of contiguous elements: when a convolution's rows are
# shorter than this, and its O·K tap products outnumber the C input channels (so that the
# adds, not the two transposes, are most of the work), the transpose lays its images out
# with the batch innermost (rows of width × batch): 2.1 → 1.2 ms for the digits CNN's
# second layer (batch 32, 8×8, C = 64, O·K = 288); its first (C = 16, O·K = 9) stays.
SHORT_ROW = 16


def batch_last(x, spatial: tuple[int, ...], products: int) -> bool:
    """Whether a transposed convolution of x (N, C, *spatial) into ``products`` = O·K tap
    products per position runs with the batch innermost."""
    short = not spatial or spatial[-1] < SHORT_ROW
    return is_host_array(x) and short and products >= x.shape[1]


def _grouped_product(xp, A, B, groups: int):
    """A (M, groups·R) · B (groups·R, P) group by group: the rows of A and of B are split
    in ``groups`` consecutive blocks, block g of A times block g of B."""
    if groups == 1:
        return A @ B
    M, rows = A.shape[0], B.shape[0] // groups
    return (A.reshape(groups, M // groups, rows) @ B.reshape(groups, rows, B.shape[1])).reshape(
        M, B.shape[1]
    )


def correlate(xp, x, W, stride, pairs: Pairs, dilation, groups: int, gate: str = "Conv"):
    """y[n, o, i] = Σ_c Σ_a W[o, c, a] · xpad[n, g·C/groups + c, i·s + a·d]: Conv's forward,
    one im2col matrix and one GEMM per chunk of images.

    Returns y (N, O, *out), and the im2col matrix (C·K, N·L) of the padded x when the whole
    batch made one chunk (else None): the weight gradient multiplies the same matrix
    (:func:`weight_gradient`), and a small one is kept rather than built again."""
    N, C, O = x.shape[0], x.shape[1], W.shape[0]
    kernel = W.shape[2:]
    xpad = pad(xp, x, pairs)
    _, out = windows(xp, xpad, kernel, stride, dilation, gate)  # a view: checks and sizes
    L = math.prod(out)
    W2 = W.reshape(O, W.size // O if O else 0)  # (O, C/groups·K)
    y = xp.empty((N, O) + out, dtype=xp.result_type(x, W))
    chunks = image_chunks(x, C * math.prod(kernel) * L * x.itemsize)
    cols = None
    for part in chunks:
        cols, _ = columns(xp, xpad[part], kernel, stride, dilation, gate)  # (C·K, n·L)
        product = _grouped_product(xp, W2, cols, groups)  # (O, n·L)
        y[part] = xp.swapaxes(product.reshape((O, -1) + out), 0, 1)
    return y, (cols if len(chunks) == 1 else None)


def channels_first(xp, gy):
    """gy (N, O, *out) as a matrix (O, N·L): the layout every GEMM of a gradient reads."""
    N, O = gy.shape[:2]
    L = math.prod(gy.shape[2:])
    return xp.swapaxes(gy.reshape(N, O, L), 0, 1).reshape(O, N * L)


def weight_from_columns(xp, cols, g2, weight_shape: tuple[int, ...], groups: int):
    """dW[o, c, a] = Σ_(n, i) g[n, o, i] · cols[(c, a), (n, i)]: one GEMM of the output
    gradient g2 (O, N·L) with the im2col matrix cols (C·K, N·L) of the padded input."""
    O = g2.shape[0]
    g3 = g2.reshape(groups, O // groups, g2.shape[1])
    cols = cols.reshape(groups, cols.shape[0] // groups, cols.shape[1])  # (groups, C/g·K, N·L)
    # as colsᵀ… (C/g·K, O/g) per group, then transposed: OpenBLAS runs this orientation
    # a fifth to a third faster (13 against 16 ms at MNIST scale, 0.5 against 0.7 ms for the
    # digits CNN's second layer)
    dW = xp.swapaxes(cols @ xp.swapaxes(g3, -1, -2), -1, -2)  # (groups, O/g, C/g·K)
    return xp.ascontiguousarray(dW).reshape(weight_shape)


def weight_gradient(
    xp, x, gy, kernel, stride, pairs: Pairs, dilation, groups: int, gate: str, cols=None
):
    """dW[o, c, a] = Σ_n Σ_i gy[n, o, i] · xpad[n, c, i·s + a·d]: a correlation of the
    input with the output gradient. With ``cols``, the forward's im2col matrix of the whole
    batch, one GEMM; otherwise the matrix is built again chunk by chunk (in cache) and the
    chunks' products summed."""
    N, C, O = x.shape[0], x.shape[1], gy.shape[1]
    shape = (O, C // groups) + tuple(kernel)
    if cols is not None:
        return weight_from_columns(xp, cols, channels_first(xp, gy), shape, groups)
    xpad = pad(xp, x, pairs)
    _, out = windows(xp, xpad, kernel, stride, dilation, gate)
    if gy.ndim != x.ndim or gy.shape[0] != N or tuple(gy.shape[2:]) != out or O % groups:
        raise ValueError(
            f"{gate}: an output gradient of shape {gy.shape} does not fit input {x.shape} "
            f"and kernel {kernel} (expected ({N}, out, *{out}) with out divisible by "
            f"{groups})"
        )
    dW = xp.zeros(shape, dtype=xp.result_type(x, gy))
    per_image = C * math.prod(kernel) * math.prod(out) * x.itemsize
    for part in image_chunks(x, per_image):
        chunk, _ = columns(xp, xpad[part], kernel, stride, dilation, gate)
        dW += weight_from_columns(xp, chunk, channels_first(xp, gy[part]), shape, groups)
    return dW


def transpose_size(n: int, k: int, s: int, di: int, pair: tuple[int, int]) -> int:
    """The length a transposed convolution gives an axis of length n."""
    return (n - 1) * s - pair[0] - pair[1] + di * (k - 1) + 1


def scatter(xp, x, W, stride, pairs: Pairs, dilation, groups: int, gate: str = "ConvTranspose"):
    """y[n, o, i·s + a·d − before] += Σ_c x[n, c, i] · W[c, o, a]: ConvTranspose's forward.

    Per chunk of images, one GEMM gives every tap's contribution (Wᵀ x, of shape
    (O·K, n·L)); each of the K taps is then added into the output with one strided add
    (col2im)."""
    N, C = x.shape[:2]
    kernel = W.shape[2:]
    O = W.shape[1] * groups
    spatial = x.shape[2:]
    size = tuple(
        transpose_size(n, k, s, di, p)
        for n, k, s, di, p in zip(spatial, kernel, stride, dilation, pairs, strict=True)
    )
    if any(n < 1 for n in size) or any(lo < 0 for lo, _ in pairs):
        raise ValueError(
            f"{gate}: input {x.shape}, weight {W.shape}, stride {stride}, "
            f"padding {pairs} give an output of size {size}"
        )
    L, K = math.prod(spatial), math.prod(kernel)
    WT = xp.swapaxes(W.reshape(groups, C // groups, O // groups * K), -1, -2)
    natural = tuple(
        (n - 1) * s + di * (k - 1) + 1
        for n, k, s, di in zip(spatial, kernel, stride, dilation, strict=True)
    )
    full = tuple(max(m, lo + n) for m, (lo, _), n in zip(natural, pairs, size, strict=True))
    taps = list(itertools.product(*(range(k) for k in kernel)))  # K taps, not positions
    places = [
        tuple(
            slice(a * di, a * di + (m - 1) * s + 1, s)
            for a, di, m, s in zip(tap, dilation, spatial, stride, strict=True)
        )
        for tap in taps
    ]
    crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(pairs, size, strict=True))
    dtype = xp.result_type(x, W)
    every = slice(None)
    if batch_last(x, spatial, O * K):  # short rows: the batch innermost, each tap one long add
        xb = xp.ascontiguousarray(xp.moveaxis(x, 0, -1)).reshape(groups, C // groups, L * N)
        cols = (WT @ xb).reshape((O,) + tuple(kernel) + spatial + (N,))  # (O, *kernel, *in, N)
        yb = xp.zeros((O,) + full + (N,), dtype=dtype)
        for tap, place in zip(taps, places, strict=True):
            yb[(every, *place, every)] += cols[(every, *tap)]
        return xp.ascontiguousarray(xp.moveaxis(yb[(every, *crop, every)], -1, 0))
    y = xp.zeros((O, N) + full, dtype=dtype)
    for part in image_chunks(x, O * K * L * x.itemsize):
        n = len(range(N)[part])
        x2 = xp.swapaxes(x[part].reshape(n, C, L), 0, 1).reshape(groups, C // groups, n * L)
        cols = (WT @ x2).reshape((O,) + tuple(kernel) + (n,) + spatial)  # (O, *kernel, n, *in)
        into = y[:, part]
        for tap, place in zip(taps, places, strict=True):
            into[(every, every, *place)] += cols[(every, *tap)]
    return xp.ascontiguousarray(xp.swapaxes(y[(every, every, *crop)], 0, 1))  # (N, O, *size)


def inverse_pairs(
    pairs: Pairs, inner: tuple[int, ...], outer: tuple[int, ...], kernel, stride, dilation
) -> Pairs:
    """The padding under which the transpose of a convolution maps its ``inner`` axis
    lengths back to exactly ``outer``: the stride may have left the last rows of the
    input unread, and the transpose must then give zeros there (a smaller "after")."""
    return tuple(
        (lo, (m - 1) * s - lo + di * (k - 1) + 1 - n)
        for (lo, _), m, n, k, s, di in zip(
            pairs, inner, outer, kernel, stride, dilation, strict=True
        )
    )


# --- the gates ---------------------------------------------------------------------------


class _Convolution(Gate):
    """The parameters the three convolution gates share, resolved for given shapes."""

    def __init__(self, stride=1, padding=0, dilation=1, groups: int = 1):
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups

    def resolve(self, d: int, kernel: tuple[int, ...]):
        name = self.name
        stride = _positive(ints(self.stride, d, "stride", name), "stride", name)
        dilation = _positive(ints(self.dilation, d, "dilation", name), "dilation", name)
        pairs = padding_pairs(self.padding, d, kernel, dilation, stride, name)
        return stride, pairs, dilation


def _torch_padded(torch, x, pairs: Pairs):
    """x padded (negative: cropped) on its spatial axes, with torch.nn.functional.pad."""
    widths = [w for lo, hi in reversed(pairs) for w in (lo, hi)]
    return torch.nn.functional.pad(x, widths) if any(widths) else x


def _torch_conv(torch, d: int):
    F = torch.nn.functional
    return {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[d]


def _torch_conv_transpose(torch, d: int):
    F = torch.nn.functional
    return {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[d]


@register
class Conv(_Convolution):
    """y = x ⋆ W, a convolution (PyTorch's, a cross-correlation) over d spatial axes.

    x (N, C, *spatial), W (O, C/groups, *kernel), y (N, O, *out); channels are split in
    ``groups`` groups, each convolved with its own O/groups filters. In one dimension, with
    stride s, dilation d and p zeros padded before:

        y_i = Σ_a W_a x_(i·s + a·d − p)

    Each y_i is a dot product, so ∂y_i/∂x_m = W_a where m = i·s + a·d − p, and
    J^T g collects, for every input x_m, the g_i of each window that read it:

        dE/dx_m = Σ_(i, a: i·s + a·d − p = m) g_i W_a

    With s = d = 1 that is dE/dx_m = Σ_a g_(m + p − a) W_a: g padded by k − 1 − p zeros
    and correlated with the kernel flipped (W_(k−1−a)), a *full* convolution with the
    flipped kernel. A stride spreads g apart (s − 1 zeros between its elements) before that
    convolution. That is the transposed convolution: dE/dx = ConvTranspose(g, W).

        dE/dW_a = Σ_i g_i x_(i·s + a·d − p)

    the correlation of the input with the output gradient (g plays the kernel, spread by
    the stride), summed over the batch: dE/dW = ConvWeightGrad(x, g).
    """

    formula, tex = "{out} = {x} ⋆ {W}", "{out} = {x} \\star {W}"
    gradients = ("{g} ⋆ᵀ {W}  (full convolution, flipped kernel)", "{x} ⋆ {g}")
    tex_gradients = ("{g} \\star^\\top {W}", "{x} \\star {g}")

    def forward(self, xp, x, W):
        d = _check_inputs(self.name, x, W, self.groups)
        stride, pairs, dilation = self.resolve(d, W.shape[2:])
        return correlate(xp, x, W, stride, pairs, dilation, self.groups, self.name)

    def vjp(self, xp, g, y, x, W, *, needs, saved):
        d = W.ndim - 2
        kernel = tuple(W.shape[2:])
        stride, pairs, dilation = self.resolve(d, kernel)
        gx = gW = None
        if needs[1] and is_array(x):  # the forward's im2col matrix, when it kept one
            gW = weight_gradient(xp, x, g, kernel, stride, pairs, dilation, self.groups,
                                 self.name, cols=saved)  # fmt: skip
        elif needs[1]:  # create_graph: a gate of its own, so the graph reaches x and g
            gW = xp.apply(ConvWeightGrad(kernel, stride, pairs, dilation, self.groups), x, g)
        if needs[0]:
            back = inverse_pairs(
                pairs, tuple(y.shape[2:]), tuple(x.shape[2:]), kernel, stride, dilation
            )
            gx = xp.apply(ConvTranspose(stride, back, 0, dilation, self.groups), g, W)
        return gx, gW

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(2, 3, 6, 5), r(4, 3, 3, 2))),
            Sample((r(2, 4, 7, 6), r(6, 2, 3, 3)), {"stride": 2, "padding": 1, "groups": 2}),
            Sample((r(1, 2, 7, 7), r(3, 2, 2, 3)), {"padding": "same", "dilation": 2}),
            Sample((r(2, 2, 9), r(3, 2, 3)), {"stride": 3, "padding": (2,), "dilation": 2}),
            Sample((r(1, 2, 8, 7), r(2, 2, 2, 2)), {"stride": (3, 4)}),  # stride > kernel
        ]

    def reference(self, torch, x, W):
        d = W.ndim - 2
        stride, pairs, dilation = self.resolve(d, tuple(W.shape[2:]))
        return _torch_conv(torch, d)(
            _torch_padded(torch, x, pairs), W, None, stride, 0, dilation, self.groups
        )


@register
class ConvTranspose(_Convolution):
    """y = x ⋆ᵀ W, the transposed convolution (PyTorch's conv_transpose1d/2d).

    x (N, C, *spatial), W (C, O/groups, *kernel), y (N, O, *out). Each input element
    spreads a copy of the kernel into the output, in one dimension

        y_(i·s + a·d − p) += x_i W_a,    out = (n − 1)·s − 2p + d·(k − 1) + 1 + output_padding

    so it is the transpose of Conv in x: as a matrix, ConvTranspose(·, W) = Convᵀ(·, W),
    and J^T g = Conv(g, W), the (strided) correlation of g with the kernel. In W,
    dE/dW_a = Σ_i x_i g_(i·s + a·d − p) = ConvWeightGrad(g, x): g is read in windows and
    x is the other factor.
    """

    formula, tex = "{out} = {x} ⋆ᵀ {W}", "{out} = {x} \\star^\\top {W}"
    gradients = ("{g} ⋆ {W}", "{g} ⋆ {x}")
    tex_gradients = ("{g} \\star {W}", "{g} \\star {x}")

    def __init__(self, stride=1, padding=0, output_padding=0, dilation=1, groups: int = 1):
        super().__init__(stride, padding, dilation, groups)
        self.output_padding = output_padding

    def resolve_all(self, d: int, kernel: tuple[int, ...]):
        """stride, the pairs with output_padding added after, dilation."""
        if self.padding == "same" or self.padding == "valid":
            raise ValueError(f"{self.name}: padding must be ints, got {self.padding!r}")
        stride, pairs, dilation = self.resolve(d, kernel)
        extra = ints(self.output_padding, d, "output_padding", self.name)
        for e, s, di in zip(extra, stride, dilation, strict=True):
            if not 0 <= e < max(s, di):
                raise ValueError(
                    f"{self.name}: output_padding {extra} must be smaller than "
                    f"the stride {stride} or the dilation {dilation}"
                )
        return (
            stride,
            tuple((lo, hi - e) for (lo, hi), e in zip(pairs, extra, strict=True)),
            dilation,
        )

    def forward(self, xp, x, W):
        d = _check_inputs(self.name, x, W, self.groups, transposed=True)
        stride, pairs, dilation = self.resolve_all(d, W.shape[2:])
        return scatter(xp, x, W, stride, pairs, dilation, self.groups, self.name)

    def vjp(self, xp, g, y, x, W, *, needs):
        d = W.ndim - 2
        kernel = tuple(W.shape[2:])
        stride, pairs, dilation = self.resolve_all(d, kernel)
        gx = gW = None
        if needs[0] and needs[1] and is_array(x):  # both read g in windows: one im2col
            gx, cols = correlate(xp, g, W, stride, pairs, dilation, self.groups, self.name)
            gW = weight_gradient(xp, g, x, kernel, stride, pairs, dilation, self.groups,
                                 self.name, cols=cols)  # fmt: skip
            return gx, gW
        if needs[0]:
            gx = xp.apply(Conv(stride, pairs, dilation, self.groups), g, W)
        if needs[1]:
            gW = xp.apply(ConvWeightGrad(kernel, stride, pairs, dilation, self.groups), g, x)
        return gx, gW

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(2, 3, 4, 3), r(3, 2, 3, 2))),
            Sample(
                (r(2, 4, 3, 4), r(4, 3, 3, 3)),
                {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2},
            ),
            Sample(
                (r(1, 2, 3, 3), r(2, 2, 2, 3)),
                {"stride": (2, 3), "dilation": 2, "output_padding": (1, 0)},
            ),
            Sample((r(2, 2, 5), r(2, 3, 3)), {"stride": 3, "padding": 2}),
        ]

    def reference(self, torch, x, W):
        d = W.ndim - 2
        stride, pairs, dilation = self.resolve_all(d, tuple(W.shape[2:]))
        y = _torch_conv_transpose(torch, d)(x, W, None, stride, 0, 0, self.groups, dilation)
        return _torch_padded(torch, y, tuple((-lo, -hi) for lo, hi in pairs))


@register
class ConvWeightGrad(_Convolution):
    """dW = x ⋆ g: Conv's weight gradient as a gate of its own, so that it too has a vjp.

    x (N, C, *spatial) is Conv's input and g (N, O, *out) its output gradient; dW has the
    weight's shape (O, C/groups, *kernel_size). In one dimension
    dW_a = Σ_n Σ_i g_i x_(i·s + a·d − p). It is bilinear: for an upstream G (of W's shape),

        dE/dx = ConvTranspose(g, G)    (x enters as Conv's input does)
        dE/dg = Conv(x, G)             (g enters as Conv's output gradient)
    """

    formula, tex = "{out} = {x} ⋆ {gy}", "{out} = {x} \\star {gy}"
    gradients = ("{gy} ⋆ᵀ {g}", "{x} ⋆ {g}")
    tex_gradients = ("{gy} \\star^\\top {g}", "{x} \\star {g}")

    def __init__(self, kernel_size, stride=1, padding=0, dilation=1, groups: int = 1):
        super().__init__(stride, padding, dilation, groups)
        self.kernel_size = kernel_size

    def _kernel(self, d: int) -> tuple[int, ...]:
        return _positive(
            ints(self.kernel_size, d, "kernel_size", self.name), "kernel_size", self.name
        )

    def forward(self, xp, x, gy):
        if x.ndim < 3:
            raise ValueError(f"{self.name}: needs an input (N, C, *spatial), got shape {x.shape}")
        d = x.ndim - 2
        kernel = self._kernel(d)
        if x.shape[1] % self.groups:
            raise ValueError(
                f"{self.name}: input of shape {x.shape}: channels not "
                f"divisible by groups={self.groups}"
            )
        if gy.ndim != x.ndim or gy.shape[1] == 0:
            raise ValueError(
                f"{self.name}: an output gradient of shape {gy.shape} for an "
                f"input of shape {x.shape} has no channels"
            )
        stride, pairs, dilation = self.resolve(d, kernel)
        return weight_gradient(xp, x, gy, kernel, stride, pairs, dilation, self.groups, self.name)

    def vjp(self, xp, G, dW, x, gy, *, needs):
        d = x.ndim - 2
        kernel = self._kernel(d)
        stride, pairs, dilation = self.resolve(d, kernel)
        gx = ggy = None
        if needs[0]:
            back = inverse_pairs(
                pairs, tuple(gy.shape[2:]), tuple(x.shape[2:]), kernel, stride, dilation
            )
            gx = xp.apply(ConvTranspose(stride, back, 0, dilation, self.groups), gy, G)
        if needs[1]:
            ggy = xp.apply(Conv(stride, pairs, dilation, self.groups), x, G)
        return gx, ggy

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(2, 3, 5, 4), r(2, 2, 3, 3)), {"kernel_size": (3, 2)}),
            Sample(
                (r(2, 4, 6, 5), r(2, 2, 3, 3)),
                {"kernel_size": 3, "stride": 2, "padding": 1, "groups": 2},
            ),
            Sample(
                (r(1, 2, 8), r(1, 3, 3)),
                {"kernel_size": 2, "stride": 3, "padding": ((1, 0),), "dilation": 2},
            ),
        ]

    def reference(self, torch, x, gy):
        d = x.ndim - 2
        kernel = self._kernel(d)
        stride, pairs, dilation = self.resolve(d, kernel)
        cols = _torch_padded(torch, x, pairs)
        if d == 1:  # unfold takes images: a line is an image one row high
            cols, kernel2, stride, dilation = (
                cols[:, :, None],
                (1, *kernel),
                (1, *stride),
                (1, *dilation),
            )
        else:
            kernel2 = kernel
        cols = torch.nn.functional.unfold(cols, kernel2, dilation, 0, stride)  # (N, C·K, L)
        (N, C), O, G = x.shape[:2], gy.shape[1], self.groups
        L = math.prod(gy.shape[2:])
        cols = cols.reshape(N, G, C // G * math.prod(kernel), L)
        dW = torch.einsum("ngol,ngkl->gok", gy.reshape(N, G, O // G, L), cols)
        return dW.reshape((O, C // G) + kernel)
