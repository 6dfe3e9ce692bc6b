"""Einstein sums of two or more operands, contracted two at a time as matrix products.

An einsum ``"bij,bjk->bik"`` of several operands is contracted in pairs, in the order
NumPy's greedy optimiser picks. Each pair becomes one (batched) matrix product: the letters
both operands hold and the result keeps are the batch, the letters they share and nothing
later needs are summed, and every other letter is a row (of the first) or a column (of the
second), so that one operand is transposed and reshaped to (batch, rows, summed) and the
other to (batch, summed, columns), and BLAS does the work.

Which axes go where depends only on the subscripts and the shapes, so it is worked out once
per (subscripts, shapes) into a :class:`Plan`, cached, and then run as a few transposes,
reshapes and matmuls per pair (``np.einsum(optimize=True)`` searches for the order again on
every call). The plan's steps are einsums of two operands themselves
(:attr:`Pair.subscripts`), so ``gradgate.einsum`` records an einsum of three or more
operands as its pairwise steps, and backward reuses the products the forward made.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = Any  # a NumPy (or CuPy) ndarray

# OpenBLAS multiplies by a stack of small transposed matrices (a @ bᵀ, as in q kᵀ, or g Bᵀ
# in a batched product's backward) 20-50% slower than by contiguous ones; up to this many
# rows and columns, copying b first costs less (measured with NumPy's OpenBLAS; above, the
# copy costs more than it saves).
SMALL_TRANSPOSED = 96


@dataclass(frozen=True)
class Side:
    """How one operand of a pair becomes a stack of matrices for the product."""

    reduce: str | None  # an einsum taking its diagonals and summing the letters only it holds
    summed: tuple[int, ...]  # axes of length n where the other operand's is 1: summed first
    axes: tuple[int, ...] | None  # the transpose to (batch, rows, columns); None: in order
    shape: tuple[int, ...] | None  # the reshape to (batch..., rows, columns); None: it is

    def matrix(self, module: Any, x: Array) -> Array:
        if self.reduce is not None:
            x = module.einsum(self.reduce, x)
        if self.summed:
            x = x.sum(axis=self.summed, keepdims=True)
        if self.axes is not None:
            x = x.transpose(self.axes)
        if self.shape is not None:
            x = x.reshape(self.shape)
        return x


@dataclass(frozen=True)
class Pair:
    """One step: the operands at ``positions`` leave the list (in that order, the first
    the higher), and their product joins its end."""

    positions: tuple[int, int]
    a_first: bool  # the first operand popped is a (the rows'); otherwise the second is
    a: Side
    b: Side
    multiply: bool  # nothing summed: an elementwise product, by broadcasting
    einsum: str | None  # nothing summed, rows and columns both: an outer product, which
    # NumPy's einsum writes faster than broadcasting does (a and b are only reduced)
    shape: tuple[int, ...] | None  # (batch..., rows, columns) → the letters' own axes
    subscripts: str  # the step as an einsum of (a, b): "bi,ij->bj"


@dataclass(frozen=True)
class Plan:
    """The pairwise steps of one einsum, then the transpose of the last product's letters
    to the output's (None when they are in order)."""

    steps: tuple[Pair, ...]
    letters: str  # the last product's letters
    axes: tuple[int, ...] | None

    def fold(self, operands: Any, product: Callable[[Pair, Any, Any], Any]) -> Any:
        """The last step's result, each step's ``product(step, a, b)`` taking the place
        of its two operands."""
        ops = list(operands)
        for step in self.steps:
            first, second = ops.pop(step.positions[0]), ops.pop(step.positions[1])
            ops.append(
                product(step, first, second) if step.a_first else product(step, second, first)
            )
        return ops[0]

    def run(self, module: Any, operands: Any) -> Array:
        def product(step: Pair, a: Array, b: Array) -> Array:
            a, b = step.a.matrix(module, a), step.b.matrix(module, b)
            if step.einsum is not None:
                return module.einsum(step.einsum, a, b)
            if step.multiply:
                out = a * b
            else:
                if (
                    module is np
                    and b.strides[-2] == b.itemsize
                    and b.shape[-1] <= SMALL_TRANSPOSED
                    and b.shape[-2] <= SMALL_TRANSPOSED
                ):
                    b = np.ascontiguousarray(b)
                out = a @ b
            return out if step.shape is None else out.reshape(step.shape)

        x = self.fold(operands, product)
        return x if self.axes is None else x.transpose(self.axes)


def greedy_path(subscripts: str, shapes: tuple[tuple[int, ...], ...]) -> list[tuple[int, int]]:
    """The pairwise order NumPy's greedy optimiser picks (positions in the list of operands
    left, each product appended at its end), with no memory limit: NumPy's default limit
    (the largest operand) can leave several operands for one step, and so does an einsum
    that sums nothing; such a step is taken as pairs from the left."""
    dummies = [np.lib.stride_tricks.as_strided(np.empty(1), s, [0] * len(s)) for s in shapes]
    path = np.einsum_path(subscripts, *dummies, optimize=("greedy", sys.maxsize))[0][1:]
    pairs: list[tuple[int, int]] = []
    length = len(shapes)
    for step in path:
        p = sorted(step)
        pairs.append((p[0], p[1]))
        length -= 1
        for j in range(2, len(p)):  # p[j] moved down by the j operands taken before it
            pairs.append((p[j] - j, length - 1))
            length -= 1
    return pairs


@functools.lru_cache(maxsize=2048)
def plan(subscripts: str, shapes: tuple[tuple[int, ...], ...]) -> Plan:
    """The plan for an explicit einsum (one letter per axis, ``->`` and the output given)
    of two or more operands whose letters' lengths agree (or are 1)."""
    inputs, _, output = subscripts.partition("->")
    terms, sizes = inputs.split(","), list(shapes)
    steps = []
    pairs = greedy_path(subscripts, shapes)
    letters = terms[0]
    for n, (i, j) in enumerate(pairs):
        high, low = max(i, j), min(i, j)
        s_high, s_low = terms.pop(high), terms.pop(low)
        shape_high, shape_low = sizes.pop(high), sizes.pop(low)
        needed = set(output).union(*terms)
        # a is the operand further left, unless the other order gives the last product
        # the output's letters at once
        a_first = n == len(pairs) - 1 and (
            _letters(s_low, s_high, needed) != output and _letters(s_high, s_low, needed) == output
        )
        left, right = (s_low, shape_low), (s_high, shape_high)
        a, b = (right, left) if a_first else (left, right)
        step, letters, shape = _pair((high, low), a_first, *a, *b, needed)
        steps.append(step)
        terms.append(letters)
        sizes.append(shape)
    axes = None if letters == output else tuple(letters.index(c) for c in output)
    return Plan(tuple(steps), letters, axes)


def _letters(sa: str, sb: str, needed: set[str]) -> str:
    """The letters of :func:`_pair`'s product, in its order: batch, rows, columns."""
    a = [c for c in dict.fromkeys(sa) if c in needed or c in sb]
    b = [c for c in dict.fromkeys(sb) if c in needed or c in sa]
    batch = [c for c in a if c in b and c in needed]
    return "".join(batch + [c for c in a if c not in b] + [c for c in b if c not in a])


def _pair(
    positions: tuple[int, int],
    a_first: bool,
    sa: str,
    shape_a: tuple[int, ...],
    sb: str,
    shape_b: tuple[int, ...],
    needed: set[str],
) -> tuple[Pair, str, tuple[int, ...]]:
    """The step Σ over the letters a and b share and nothing later needs, as a matmul of
    a → (batch, rows, summed) and b → (batch, summed, columns); its product's letters
    (batch, rows, columns) and shape."""
    ka = "".join(c for c in dict.fromkeys(sa) if c in needed or c in sb)
    kb = "".join(c for c in dict.fromkeys(sb) if c in needed or c in ka)
    size_a = dict(zip(sa, shape_a, strict=True))
    size_b = dict(zip(sb, shape_b, strict=True))
    batch = [c for c in ka if c in kb and c in needed]
    summed = [c for c in ka if c in kb and c not in needed]
    # a letter summed at length 1 against length n: Σ_c a_c b = (Σ_c a_c) b, summed first
    sum_a = tuple(ka.index(c) for c in summed if size_a[c] != 1 and size_b[c] == 1)
    sum_b = tuple(kb.index(c) for c in summed if size_b[c] != 1 and size_a[c] == 1)
    for c in summed:
        if size_a[c] != size_b[c]:
            size_a[c] = size_b[c] = 1
    rows = [c for c in ka if c not in kb]
    columns = [c for c in kb if c not in ka]
    k = math.prod(size_a[c] for c in summed)
    n_rows, n_columns = math.prod(size_a[c] for c in rows), math.prod(size_b[c] for c in columns)
    a = _side(sa, ka, sum_a, batch + rows + summed, len(batch), size_a, (n_rows, k))
    b = _side(sb, kb, sum_b, batch + summed + columns, len(batch), size_b, (k, n_columns))
    batch_shape = tuple(
        max(size_a[c], size_b[c]) if min(size_a[c], size_b[c]) != 0 else 0 for c in batch
    )
    shape = batch_shape + tuple(size_a[c] for c in rows) + tuple(size_b[c] for c in columns)
    product = batch_shape + (n_rows, n_columns)
    letters = "".join(batch + rows + columns)
    einsum = None
    if not summed and rows and columns:
        einsum = f"{ka},{kb}->{letters}"
        a, b = Side(a.reduce, (), None, None), Side(b.reduce, (), None, None)
        product = shape
    reshape = None if product == shape else shape
    step = Pair(positions, a_first, a, b, not summed, einsum, reshape, f"{sa},{sb}->{letters}")
    return step, letters, shape


def _side(
    letters: str,
    kept: str,
    summed: tuple[int, ...],
    order: list[str],
    batch: int,
    size: dict[str, int],
    matrix: tuple[int, int],
) -> Side:
    """One operand's way to its matrix: ``kept`` letters of ``letters`` left after the
    reduction, transposed into ``order`` (its first ``batch`` letters the batch), then
    reshaped to the batch and the (rows, columns) of ``matrix``."""
    axes = tuple(kept.index(c) for c in order)
    target = tuple(size[c] for c in order[:batch]) + matrix
    return Side(
        None if kept == letters else f"{letters}->{kept}",
        summed,
        None if axes == tuple(range(len(kept))) else axes,
        None if tuple(size[c] for c in order) == target else target,
    )
