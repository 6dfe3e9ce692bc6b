"""Products of matrices: the lecture's matrix-vector gate and the general matmul."""

from __future__ import annotations

import math

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
