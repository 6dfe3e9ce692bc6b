"""Products of arrays: the lecture's matrix-vector gate, the general matmul, and einsum
(from which tensordot, dot, inner, kron and friends are composed in ``gradgate.linalg``
and ``gradgate.functional``)."""

from __future__ import annotations

import collections
import functools
import math

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


@register
class Einsum(Gate):
    """o = Σ over the summed letters of Π_k x_k, in Einstein notation (``"ij,jk->ik"``).

    Any subscripts NumPy takes: implicit or explicit output, ``...``, repeated letters in
    one operand (a diagonal: ``"ii->i"``), size-1 axes broadcasting. The contraction order
    is NumPy's greedy one, found once per subscripts and shapes, and each pairwise step a
    (batched) matrix product (``backend.einsum``).

    The gradient of an einsum is an einsum: dE/dx_k is g contracted with every other
    operand, written back on x_k's letters. A letter that x_k alone holds (summed inside
    x_k only) is a broadcast of that result; a letter repeated in x_k (a diagonal) puts the
    result on that diagonal, through an identity matrix joining the repeats.
    """

    formula, tex = "{out} = einsum(subscripts, x0, x1, …)", "{out} = \\sum \\prod_k x_k"
    methods = ("dot", "inner", "tensordot", "kron", "cross")  # composed in functional

    def __init__(self, subscripts: str):
        self.subscripts = subscripts

    def _explicit(self, arrays) -> tuple[tuple[str, ...], str]:
        return parse_subscripts(self.subscripts, tuple(a.ndim for a in arrays))

    def forward(self, xp, *operands):
        terms, output = self._explicit(operands)
        subscripts = ",".join(terms) + "->" + output
        for term, x in zip(terms, operands, strict=True):
            for letter in set(term):
                repeated = {n for t, n in zip(term, x.shape, strict=True) if t == letter}
                if len(repeated) > 1:
                    raise ValueError(
                        f"einsum: repeated subscript {letter!r} in {term!r} "
                        f"names axes of sizes {sorted(repeated)}"
                    )
        sizes: dict[str, set[int]] = {}
        for term, x in zip(terms, operands, strict=True):
            for letter, n in zip(term, x.shape, strict=True):
                sizes.setdefault(letter, set()).add(n)
        for letter, found in sizes.items():
            if len(found - {1}) > 1:
                raise ValueError(
                    f"einsum: subscript {letter!r} names axes of sizes "
                    f"{sorted(found)} in {self.subscripts!r}"
                )
        try:
            return xp.einsum(subscripts, *operands)
        except ValueError as e:
            shapes = ", ".join(str(x.shape) for x in operands)
            raise ValueError(f"einsum: {self.subscripts!r} on shapes {shapes}: {e}") from None

    def vjp(self, xp, g, o, *operands, needs):
        terms, output = self._explicit(operands)
        return tuple(
            _einsum_grad(xp, g, output, terms, operands, k) if need else None
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


def _einsum_grad(xp, g, output: str, terms: tuple[str, ...], operands, k: int):
    """dE/dx_k for o = einsum(terms -> output): einsum(g, x_j for j ≠ k -> x_k's letters)."""
    term, x = terms[k], operands[k]
    others = [j for j in range(len(terms)) if j != k]
    present = set(output).union(*(terms[j] for j in others))
    letters = "".join(dict.fromkeys(term))  # x_k's letters, each once, in order
    kept = "".join(c for c in letters if c in present)
    grad = xp.einsum(
        ",".join([output, *(terms[j] for j in others)]) + "->" + kept,
        g,
        *(operands[j] for j in others),
    )
    size = {c: n for c, n in zip(term, x.shape, strict=True)}
    if len(kept) < len(letters):  # constant along the letters x_k alone holds: broadcast
        sizes = iter(grad.shape)
        shape = tuple(next(sizes) if c in present else 1 for c in letters)
        full = tuple(n if c in present else size[c] for c, n in zip(letters, shape, strict=True))
        grad = xp.broadcast_to(grad.reshape(shape), full)
    wanted = tuple(size[c] for c in letters)
    if tuple(grad.shape) != wanted:  # a size-1 axis of x_k that the others broadcast (or
        # the other way round: then the engine sums the gradient back to x_k's shape)
        grad = xp.broadcast_to(grad, np.broadcast_shapes(tuple(grad.shape), wanted))
    if len(letters) < len(term):  # a diagonal: put the gradient on it, zeros elsewhere
        stretched = tuple(
            a for a, (n, m) in enumerate(zip(grad.shape, wanted, strict=True)) if m == 1 and n != 1
        )
        if stretched:  # summed back here: the diagonal's places are x_k's own
            grad = xp.sum(grad, axis=stretched, keepdims=True)
        place = {c: p for p, c in enumerate(letters)}
        index = []
        for c in term:
            view = [1] * len(letters)
            view[place[c]] = size[c]
            index.append(np.arange(size[c]).reshape(view))
        grad = xp.scatter_add(grad, tuple(index), x.shape)
    return grad
