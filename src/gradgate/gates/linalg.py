"""Products of arrays: the lecture's matrix-vector gate, the general matmul, and einsum
(from which tensordot, dot, inner, kron and friends are composed in ``gradgate.linalg``
and ``gradgate.functional``)."""

from __future__ import annotations

import collections
import functools
import math
from dataclasses import dataclass

import numpy as np

from .base import Gate, Sample, register


def _not_aligned(name: str, a_shape, b_shape, k_a: int, k_b: int) -> ValueError:
    return ValueError(
        f"{name}: shapes {tuple(a_shape)} and {tuple(b_shape)} are not aligned: {k_a} != {k_b}"
    )


@register
class MatVec(Gate):
    """s = W o, the lecture's matrix-vector gate (20.3), for one vector or a batch.

    W has one row per upper neuron, W[j, i] = w_ij, so s_j = Σ_i w_ij o_i. ``o`` is a vector
    (in,) or a batch (..., in); the product is applied to every vector of the batch, which
    for a batch reads s = o Wᵀ.

    dE/do = Wᵀ · dE/ds                                    (20.3a)
    dE/dW = dE/ds ⊗ o = (dE/ds) oᵀ, summed over the batch  (20.3b, an outer product)
    """

    function = "matvec"
    formula, tex = "{out} = {W} {o}", "{out} = {W}\\, {o}"
    gradients = ("{g} ⊗ {o}", "{W}ᵀ {g}")
    tex_gradients = ("{g}\\, {o}^\\top", "{W}^\\top {g}")

    def forward(self, xp, W, o):
        if W.ndim != 2 or o.ndim < 1:
            raise ValueError(
                f"matvec: W must be a matrix and o a vector or a batch of vectors, "
                f"got shapes {W.shape} and {o.shape}"
            )
        if W.shape[1] != o.shape[-1]:
            raise _not_aligned("matvec", W.shape, o.shape, W.shape[1], o.shape[-1])
        return o @ W.T

    def vjp(self, xp, g, s, W, o, *, needs):
        gW = go = None
        if needs[0]:
            batch = math.prod(o.shape[:-1])  # not -1: that is ambiguous when out or in is 0
            g2 = g.reshape((batch, g.shape[-1]))  # (batch, out)
            o2 = o.reshape((batch, o.shape[-1]))  # (batch, in)
            gW = g2.T @ o2  # (out, in): Σ over the batch of the outer products g oᵀ
        if needs[1]:
            go = g @ W  # (..., in)
        return gW, go

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [Sample((r(3, 4), r(4))), Sample((r(3, 4), r(5, 4))), Sample((r(3, 4), r(2, 5, 4)))]

    def reference(self, torch, W, o):
        return o @ W.T


@register
class MatMul(Gate):
    """C = A B over the last two axes, leading (batch) axes broadcast as in NumPy.

    dE/dA = g Bᵀ,  dE/dB = Aᵀ g  (transposes of the last two axes). Vectors are promoted to
    matrices by ``gradgate.matmul`` before they reach this gate.
    """

    promoted = slice(None)
    formula, tex = "{out} = {A} {B}", "{out} = {A}\\, {B}"
    gradients = ("{g} {B}ᵀ", "{A}ᵀ {g}")
    tex_gradients = ("{g}\\, {B}^\\top", "{A}^\\top {g}")

    def forward(self, xp, A, B):
        if A.ndim < 2 or B.ndim < 2:
            raise ValueError(f"matmul gate needs matrices, got shapes {A.shape} and {B.shape}")
        if A.shape[-1] != B.shape[-2]:
            raise _not_aligned("matmul", A.shape, B.shape, A.shape[-1], B.shape[-2])
        try:
            return A @ B
        except ValueError:
            raise ValueError(
                f"matmul: batch shapes {A.shape[:-2]} and {B.shape[:-2]} do not broadcast"
            ) from None

    def vjp(self, xp, g, C, A, B, *, needs):
        gA = g @ xp.swapaxes(B, -1, -2) if needs[0] else None
        gB = xp.swapaxes(A, -1, -2) @ g if needs[1] else None
        return gA, gB

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(3, 4), r(4, 2))),
            Sample((r(2, 3, 4), r(4, 5))),
            Sample((r(2, 1, 3, 4), r(3, 4, 2))),
        ]

    def reference(self, torch, A, B):
        return A @ B


# --- einsum ----------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@functools.lru_cache(maxsize=1024)
def parse_subscripts(subscripts: str, ndims: tuple[int, ...]) -> tuple[tuple[str, ...], str]:
    """Einstein subscripts made explicit: one letter per axis of every operand (an
    ellipsis becomes letters of its own, aligned from the right as broadcasting aligns)
    and the output's letters (NumPy's implicit output when there is no ``->``)."""
    text = subscripts.replace(" ", "")
    inputs, arrow, output = text.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(
            f"einsum: {len(terms)} operand subscripts in {subscripts!r} for {len(ndims)} operands"
        )
    for term in (*terms, output):
        rest = term.replace("...", "")
        if "." in rest or any(c not in _LETTERS for c in rest):
            raise ValueError(
                f"einsum: subscripts {subscripts!r} may hold only letters, ',', '->' and '...'"
            )
    named = set(inputs.replace("...", "").replace(",", ""))
    spare = [c for c in _LETTERS if c not in named]
    longest = max(
        (n - len(t.replace("...", "")) for t, n in zip(terms, ndims, strict=True) if "..." in t),
        default=0,
    )
    if longest > len(spare):
        raise ValueError(f"einsum: {subscripts!r} has too many axes under '...'")
    ellipsis = "".join(spare[:longest])[::-1]  # the last axis of '...' gets spare[0]
    explicit = []
    for term, n in zip(terms, ndims, strict=True):
        letters = term.replace("...", "")
        if "..." in term:
            count = n - len(letters)
            if count < 0:
                raise ValueError(
                    f"einsum: subscripts {term!r} name more axes than the operand's {n}"
                )
            term = term.replace("...", ellipsis[len(ellipsis) - count :])
        if len(term) != n:
            raise ValueError(f"einsum: subscripts {term!r} for an operand of {n} dimensions")
        explicit.append(term)
    if arrow:
        if "..." not in output and longest and any("..." in t for t in terms):
            raise ValueError(
                f"einsum: output subscripts of {subscripts!r} must hold '...' where the operands do"
            )
        output = output.replace("...", ellipsis)
        unknown = set(output) - set("".join(explicit))
        if unknown or len(set(output)) != len(output):
            raise ValueError(
                f"einsum: output subscripts of {subscripts!r} must be distinct "
                "letters of the operands"
            )
    else:
        counts = collections.Counter(inputs.replace("...", "").replace(",", ""))
        output = ellipsis + "".join(sorted(c for c, k in counts.items() if k == 1))
    return tuple(explicit), output


@functools.lru_cache(maxsize=2048)
def explicit_subscripts(subscripts: str, shapes: tuple[tuple[int, ...], ...]) -> str:
    """``subscripts`` for operands of these shapes with one letter per axis and the output
    given (``"ij,jk->ik"``), once each letter's lengths are checked to agree (or be 1)."""
    terms, output = parse_subscripts(subscripts, tuple(len(s) for s in shapes))
    for term, shape in zip(terms, shapes, strict=True):
        for letter in set(term):
            repeated = {n for t, n in zip(term, shape, strict=True) if t == letter}
            if len(repeated) > 1:
                raise ValueError(
                    f"einsum: repeated subscript {letter!r} in {term!r} "
                    f"names axes of sizes {sorted(repeated)}"
                )
    sizes: dict[str, set[int]] = {}
    for term, shape in zip(terms, shapes, strict=True):
        for letter, n in zip(term, shape, strict=True):
            sizes.setdefault(letter, set()).add(n)
    for letter, found in sizes.items():
        if len(found - {1}) > 1:
            raise ValueError(
                f"einsum: subscript {letter!r} names axes of sizes "
                f"{sorted(found)} in {subscripts!r}"
            )
    return ",".join(terms) + "->" + output


@register
class Einsum(Gate):
    """o = Σ over the summed letters of Π_k x_k, in Einstein notation (``"ij,jk->ik"``).

    Any subscripts NumPy takes: implicit or explicit output, ``...``, repeated letters in
    one operand (a diagonal: ``"ii->i"``), size-1 axes broadcasting. Two or more operands
    are contracted pairwise in NumPy's greedy order, each pair a (batched) matrix product,
    by a plan made once per subscripts and shapes (``gradgate.contraction``).
    ``gradgate.einsum`` records three or more operands as the plan's pairwise steps, one
    gate each, so that backward reuses the products the forward made.

    The gradient of an einsum is an einsum: dE/dx_k is g contracted with every other
    operand, written back on x_k's letters. A letter that x_k alone holds (summed inside
    x_k only) is a broadcast of that result; a letter repeated in x_k (a diagonal) puts the
    result on that diagonal, through an identity matrix joining the repeats.
    """

    formula, tex = "{out} = einsum(subscripts, x0, x1, …)", "{out} = \\sum \\prod_k x_k"
    methods = ("dot", "inner", "tensordot", "kron", "cross")  # composed in functional

    def __init__(self, subscripts: str):
        self.subscripts = subscripts

    def forward(self, xp, *operands):
        subscripts = explicit_subscripts(self.subscripts, tuple([x.shape for x in operands]))
        try:
            return xp.einsum(subscripts, *operands)
        except ValueError as e:
            shapes = ", ".join(str(x.shape) for x in operands)
            raise ValueError(f"einsum: {self.subscripts!r} on shapes {shapes}: {e}") from None

    def vjp(self, xp, g, o, *operands, needs):
        shapes = tuple([tuple(x.shape) for x in operands])
        subscripts = explicit_subscripts(self.subscripts, shapes)
        return tuple(
            _einsum_grad(xp, g, _gradient(subscripts, shapes, k), operands) if need else None
            for k, need in enumerate(needs)
        )

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(3, 4), r(4, 5)), {"subscripts": "ij,jk->ik"}),
            Sample((r(2, 3, 4), r(2, 4, 5)), {"subscripts": "bij,bjk->bik"}),
            Sample((r(3, 4), r(4, 5), r(5, 2)), {"subscripts": "ij,jk,kl->il"}),
            Sample((r(4, 4),), {"subscripts": "ii->i"}),
            Sample((r(4, 4),), {"subscripts": "ii"}),
            Sample((r(3, 4), r(4)), {"subscripts": "ij,j"}),
            Sample((r(2, 1, 3, 4), r(5, 4, 2)), {"subscripts": "...ij,...jk->...ik"}),
            Sample((r(3, 4), r(3)), {"subscripts": "ij,i->ij"}),
            Sample((r(3, 3, 2), r(2, 5)), {"subscripts": "iik,kl->lk"}),
            Sample((r(3, 4),), {"subscripts": "ij->"}),
        ]

    def reference(self, torch, *operands):
        return torch.einsum(self.subscripts, *operands)


@dataclass(frozen=True)
class _Gradient:
    """How dE/dx_k comes out of g for one einsum, operand and shapes (see
    :func:`_gradient`)."""

    subscripts: str | None  # einsum(g, x_j for j ≠ k -> x_k's letters); None: g itself
    others: tuple[int, ...]  # the j ≠ k
    spread: tuple[tuple[int, ...], tuple[int, ...]] | None  # reshape, then broadcast to
    widen: tuple[int, ...] | None  # broadcast to (x_k's lengths where the others' are 1)
    diagonal: tuple[tuple[int, ...], tuple[np.ndarray, ...]] | None  # axes summed, index
    shape: tuple[int, ...]  # x_k's


@functools.lru_cache(maxsize=2048)
def _gradient(subscripts: str, shapes: tuple[tuple[int, ...], ...], k: int) -> _Gradient:
    """dE/dx_k for o = einsum(explicit ``subscripts``), worked out once per shapes."""
    inputs, _, output = subscripts.partition("->")
    terms = inputs.split(",")
    term, shape = terms[k], shapes[k]
    others = tuple(j for j in range(len(terms)) if j != k)
    present = set(output).union(*(terms[j] for j in others))
    letters = "".join(dict.fromkeys(term))  # x_k's letters, each once, in order
    kept = "".join(c for c in letters if c in present)
    size = dict(zip(term, shape, strict=True))

    def length(c: str, among: tuple[int, ...]) -> int:  # broadcast: the one that is not 1
        found = [n for j in among for t, n in zip(terms[j], shapes[j], strict=True) if t == c]
        return next((n for n in found if n != 1), 1)

    everyone = tuple(range(len(terms)))  # g holds the output's letters at these lengths
    current = tuple(length(c, everyone if c in output else others) for c in kept)
    einsum = ",".join([output, *(terms[j] for j in others)]) + "->" + kept
    spread = widen = diagonal = None
    if len(kept) < len(letters):  # constant along the letters x_k alone holds: broadcast
        lengths = iter(current)
        stub = tuple(next(lengths) if c in present else 1 for c in letters)
        current = tuple(n if c in present else size[c] for c, n in zip(letters, stub, strict=True))
        spread = (stub, current)
    wanted = tuple(size[c] for c in letters)
    if current != wanted:  # a size-1 axis of x_k that the others broadcast (or the other
        # way round: then the engine sums the gradient back to x_k's shape)
        widen = current = tuple(np.broadcast_shapes(current, wanted))
    if len(letters) < len(term):  # a diagonal: put the gradient on it, zeros elsewhere
        stretched = tuple(
            a for a, (n, m) in enumerate(zip(current, wanted, strict=True)) if m == 1 and n != 1
        )  # summed back first: the diagonal's places are x_k's own
        place = {c: p for p, c in enumerate(letters)}
        index = []
        for c in term:
            view = [1] * len(letters)
            view[place[c]] = size[c]
            index.append(np.arange(size[c]).reshape(view))
            index[-1].flags.writeable = False  # shared by every use of this plan
        diagonal = (stretched, tuple(index))
    identity = not others and kept == output
    return _Gradient(None if identity else einsum, others, spread, widen, diagonal, shape)


def _einsum_grad(xp, g, gradient: _Gradient, operands):
    """dE/dx_k: g contracted with the other operands, then spread onto x_k's axes."""
    grad = g
    if gradient.subscripts is not None:
        grad = xp.einsum(gradient.subscripts, g, *(operands[j] for j in gradient.others))
    if gradient.spread is not None:
        grad = xp.broadcast_to(grad.reshape(gradient.spread[0]), gradient.spread[1])
    if gradient.widen is not None:
        grad = xp.broadcast_to(grad, gradient.widen)
    if gradient.diagonal is not None:
        stretched, index = gradient.diagonal
        if stretched:
            grad = xp.sum(grad, axis=stretched, keepdims=True)
        grad = xp.scatter_add(grad, index, gradient.shape)
    return grad
