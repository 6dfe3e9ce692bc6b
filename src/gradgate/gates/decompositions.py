"""numpy.linalg's gates: inverse, solve, determinants and the matrix factorizations.

Every gate works on the last two axes and maps over the leading (batch) axes.

**Several factors, one output.** A factorization computes all its factors at once (the
eigenvalues and eigenvectors of one ``eigh``), and its gradient needs all of them. So each
factorization is one gate whose output packs its factors into one array, and
``gradgate.linalg`` unpacks them with :class:`~gradgate.gates.shape.GetItem` (and
reshape): one factorization per call, and backward gets dE/d(packed), zero where a factor
was not used. (One gate per factor would factorize once per factor, or share a cache
between rules, which a rule may not keep.) The packings:

- ``Eigh``: (..., n + 1, n), the eigenvalues in row 0 and the eigenvectors below;
- ``Svd``, ``Qr``: (..., size), the factors flattened and joined along the last axis;
- ``SlogDet``: (..., 2), the sign and ln |det|.

**Unique factors.** Eigenvectors and singular vectors are defined up to their signs, and Q
and R of a QR up to the signs of R's diagonal; LAPACK picks any. These gates fix them (the
largest-magnitude entry of each eigenvector and left singular vector is positive; R's
diagonal is non-negative), so the factors are a smooth function of the input near it and
agree across libraries.

**Symmetric input.** ``cholesky`` and ``eigh`` read A as (A + Aᵀ)/2: for symmetric A
(their domain) that is A, and their gradient is the symmetric one, as PyTorch's. (NumPy
and PyTorch read one triangle instead, which only differs for non-symmetric input.)

A gradient that does not exist (eigenvectors of repeated eigenvalues, the inverse of a
singular matrix) raises ValueError naming the gate; it is never a silent NaN or zero.
"""

from __future__ import annotations

import numpy as np

from .base import Gate, Sample, register


def _mT(xp, A):
    """The last two axes swapped (a batch of transposes)."""
    return xp.swapaxes(A, -1, -2)


def _array(x):
    """The array behind a Tensor (rules run on Tensors when a gradient graph is built);
    used only to test a condition, never differentiated."""
    return getattr(x, "_data", x)


def _square(name: str, A) -> None:
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{name}: needs square matrices in the last two axes, got shape {A.shape}")


def _matrix(name: str, A) -> None:
    if A.ndim < 2:
        raise ValueError(f"{name}: needs matrices in the last two axes, got shape {A.shape}")


def _finite(name: str, xp, A) -> None:
    """Refuse inf and NaN before LAPACK's SVD sees them (it can loop forever on an inf)."""
    if not bool(xp.all(xp.isfinite(A))):
        raise ValueError(
            f"{name}: the matrix holds inf or NaN; its singular value decomposition is not defined"
        )


def _lapack(name: str, what: str):
    """LAPACK's LinAlgError, as a ValueError that names the gate and the condition."""
    return ValueError(f"{name}: the matrix is {what}")


def _inverse_for_gradient(xp, name: str, A):
    """A⁻¹ for a gradient formula, or ValueError naming ``name`` where A is singular."""
    try:
        inverse = xp.linalg.inv(A)
    except ValueError:  # LinAlgError is a ValueError; so is inv's own error
        inverse = None
    if inverse is None or not np.all(np.isfinite(_array(inverse))):
        raise ValueError(
            f"{name}: the gradient needs the inverse of a singular matrix, which does not exist"
        )
    return inverse


def _well_conditioned(draw, *shape):
    """Random matrices R + n·I: eigenvalues near n ± √n, far from singular."""
    n = shape[-1]
    return draw.normal(*shape) + n * np.eye(n)


def _symmetric(draw, *shape, positive=False):
    """Q diag(λ) Qᵀ with eigenvalues at least 0.5 apart (positive ones if asked)."""
    n = shape[-1]
    q, _ = np.linalg.qr(draw.normal(*shape))
    spread = np.arange(n) * 0.8 + draw.uniform(*shape[:-1], low=0.0, high=0.3)
    lam = spread + (0.5 if positive else -0.4 * n)
    return (q * lam[..., None, :]) @ np.swapaxes(q, -1, -2)


def _distinct_singular(draw, m, n, batch=()):
    """U diag(σ) Vᵀ with singular values at least 0.5 apart and at least 0.5."""
    k = min(m, n)
    u, _ = np.linalg.qr(draw.normal(*batch, m, k))
    v, _ = np.linalg.qr(draw.normal(*batch, n, k))
    s = 0.5 + np.arange(k)[::-1] * 0.7 + draw.uniform(*batch, k, low=0.0, high=0.2)
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


def _torch_signs(torch, V):
    """PyTorch's factors with this module's sign convention (the largest |entry| of each
    column positive)."""
    index = V.detach().abs().argmax(dim=-2, keepdim=True)
    sign = torch.sign(torch.gather(V.detach(), -2, index))
    return torch.where(sign == 0, torch.ones_like(sign), sign)


def _column_signs(xp, V):
    """±1 per column of V (..., m, k): the sign of its largest-magnitude entry."""
    index = xp.argmax(xp.abs(V), axis=-2)[..., None, :]
    sign = xp.sign(xp.take_along_axis(V, index, axis=-2))
    return xp.where(sign == 0, 1, sign)


@register
class Inv(Gate):
    """B = A⁻¹.   dE/dA = −Bᵀ g Bᵀ.   Defined where A is invertible."""

    formula, tex = "{out} = {A}⁻¹", "{out} = {A}^{{-1}}"
    gradients = ("−{out}ᵀ {g} {out}ᵀ",)
    tex_gradients = ("-{out}^\\top {g}\\, {out}^\\top",)

    def forward(self, xp, A):
        _square("inv", A)
        try:
            return xp.linalg.inv(A)
        except np.linalg.LinAlgError:
            raise _lapack("inv", "singular: it has no inverse") from None

    def vjp(self, xp, g, B, A):
        Bt = _mT(xp, B)
        return (-(Bt @ g @ Bt),)

    @staticmethod
    def samples(draw):
        return [
            Sample((_well_conditioned(draw, 3, 3),)),
            Sample((_well_conditioned(draw, 2, 4, 4),)),
        ]

    def reference(self, torch, A):
        return torch.linalg.inv(A)


@register
class Solve(Gate):
    """x = A⁻¹ b, the solution of A x = b.

    As NumPy 2: b of one dimension is a vector (n,); otherwise b is a (batch of) matrix
    (..., n, k), its batch axes broadcast with A's.
    dE/db = A⁻ᵀ g (a solve with Aᵀ),  dE/dA = −(dE/db) xᵀ.   Defined where A is invertible.
    """

    formula, tex = "{out} = {A}⁻¹ {b}", "{out} = {A}^{{-1}} {b}"
    gradients = ("−(dE/d{b}) {out}ᵀ", "{A}⁻ᵀ {g}")

    def forward(self, xp, A, b):
        _square("solve", A)
        vector = b.ndim == 1
        if (b.shape[0] if vector else b.shape[-2] if b.ndim >= 2 else -1) != A.shape[-1]:
            raise ValueError(f"solve: b of shape {b.shape} does not fit A of shape {A.shape}")
        try:
            x = xp.linalg.solve(A, b[:, None] if vector else b)
        except np.linalg.LinAlgError:
            raise _lapack("solve", "singular: A x = b has no unique solution") from None
        return x[..., 0] if vector else x

    def vjp(self, xp, g, x, A, b, *, needs):
        vector = b.ndim == 1
        if vector:
            g, x = xp.expand_dims(g, -1), xp.expand_dims(x, -1)
        gb = xp.linalg.solve(_mT(xp, A), g)  # (..., n, k)
        gA = -(gb @ _mT(xp, x)) if needs[0] else None
        return gA, (gb[..., 0] if vector else gb) if needs[1] else None

    @staticmethod
    def samples(draw):
        c, r = _well_conditioned, draw.normal
        return [
            Sample((c(draw, 3, 3), r(3))),
            Sample((c(draw, 3, 3), r(3, 2))),
            Sample((c(draw, 2, 3, 3), r(2, 3, 2))),
            Sample((c(draw, 2, 3, 3), r(3, 4))),
            Sample((c(draw, 2, 3, 3), r(3))),
        ]

    def reference(self, torch, A, b):
        if b.ndim == 1:
            return torch.linalg.solve(A, b.unsqueeze(-1)).squeeze(-1)
        return torch.linalg.solve(A, b)


@register
class Det(Gate):
    """d = det A.   dE/dA = g d A⁻ᵀ (the cofactor matrix times g).

    Where A is singular, d A⁻ᵀ is the cofactor matrix still, but this rule computes it
    through A⁻¹ and raises instead of guessing.
    """

    formula, tex = "{out} = det {A}", "{out} = \\det {A}"
    gradients = ("{g} {out} {A}⁻ᵀ",)
    tex_gradients = ("{g}\\, {out}\\, {A}^{{-\\top}}",)

    def forward(self, xp, A):
        _square("det", A)
        return xp.linalg.det(A)

    def vjp(self, xp, g, d, A):
        inverse = _inverse_for_gradient(xp, "det", A)
        return (xp.expand_dims(g * d, (-1, -2)) * _mT(xp, inverse),)

    @staticmethod
    def samples(draw):
        return [
            Sample((_well_conditioned(draw, 3, 3),)),
            Sample((_well_conditioned(draw, 2, 4, 4) * 0.5,)),
            Sample((np.array([[0.5, 2.0], [1.5, -1.0]]),)),
        ]

    def reference(self, torch, A):
        return torch.linalg.det(A)


@register
class SlogDet(Gate):
    """(sign, ln |det A|), packed as (..., 2).

    The sign is locally constant (no gradient); dE/dA = g_ln A⁻ᵀ. Defined where A is
    invertible (ln |det| is −inf at a singular matrix, and the rule raises there).
    """

    formula = "{out} = (sign det {A}, ln |det {A}|)"
    gradients = ("{g}[1] {A}⁻ᵀ",)

    def forward(self, xp, A):
        _square("slogdet", A)
        sign, logdet = xp.linalg.slogdet(A)
        return xp.stack([sign, logdet], axis=-1)

    def vjp(self, xp, g, o, A):
        inverse = _inverse_for_gradient(xp, "slogdet", A)
        return (xp.expand_dims(g[..., 1], (-1, -2)) * _mT(xp, inverse),)

    @staticmethod
    def samples(draw):
        return [
            Sample((_well_conditioned(draw, 3, 3),)),
            Sample((np.array([[0.5, 2.0], [1.5, -1.0]]),)),
            Sample((_well_conditioned(draw, 2, 4, 4),)),
        ]

    def reference(self, torch, A):
        sign, logdet = torch.linalg.slogdet(A)
        return torch.stack([sign, logdet], dim=-1)


def _phi(xp, X):
    """The lower triangle of X with its diagonal halved (Murray 2016)."""
    n = X.shape[-1]
    return xp.tril(X) - 0.5 * X * xp.eye(n, dtype=X.dtype)


@register
class Cholesky(Gate):
    """L lower triangular with L Lᵀ = S, for S = (A + Aᵀ)/2 symmetric positive definite.

    With P = Φ(Lᵀ g) (the lower triangle of Lᵀ g, its diagonal halved) and
    X = L⁻ᵀ P L⁻¹:  dE/dA = (X + Xᵀ)/2.  Defined where S is positive definite.
    """

    formula, tex = "{out} {out}ᵀ = {A}", "{out} {out}^\\top = {A}"
    gradients = ("sym(L⁻ᵀ Φ(Lᵀ {g}) L⁻¹)",)

    def forward(self, xp, A):
        _square("cholesky", A)
        try:
            return xp.linalg.cholesky((A + _mT(xp, A)) * 0.5)
        except np.linalg.LinAlgError:
            raise _lapack("cholesky", "not positive definite") from None

    def vjp(self, xp, g, L, A):
        Lt = _mT(xp, L)
        Y = xp.linalg.solve(Lt, _phi(xp, Lt @ g))  # L⁻ᵀ P
        X = _mT(xp, xp.linalg.solve(Lt, _mT(xp, Y)))  # L⁻ᵀ P L⁻¹
        return ((X + _mT(xp, X)) * 0.5,)

    @staticmethod
    def samples(draw):
        return [
            Sample((_symmetric(draw, 3, 3, positive=True),)),
            Sample((_symmetric(draw, 2, 4, 4, positive=True),)),
        ]

    def reference(self, torch, A):
        if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
            return torch.linalg.cholesky(A)  # refuses, as the gate does
        return torch.linalg.cholesky((A + A.mT) / 2)


def _gap_reciprocals(xp, name: str, w, squared: bool = False):
    """F with F_ij = 1/(w_j − w_i) (or 1/(w_j² − w_i²)) off the diagonal and 0 on it, or
    ValueError where two of the values repeat (the vectors' gradient does not exist)."""
    v = w * w if squared else w
    E = xp.expand_dims(v, -2) - xp.expand_dims(v, -1)  # E_ij = v_j − v_i
    n = w.shape[-1]
    off = ~np.eye(n, dtype=bool)
    raw = np.abs(_array(E))
    scale = max(float(np.max(np.abs(_array(v)), initial=0.0)), 1.0)
    if n > 1 and np.min(raw[..., off]) <= 1e3 * np.finfo(raw.dtype).eps * scale:
        what = "singular values" if squared else "eigenvalues"
        raise ValueError(
            f"{name}: two {what} are equal, so the gradient of the "
            "vectors does not exist (it needs them distinct)"
        )
    eye = xp.eye(n, dtype=w.dtype)
    return (1 - eye) / (E + eye)


def _unused(g) -> bool:
    """True when the upstream gradient is zero everywhere (that factor was not used)."""
    return not np.any(_array(g))


@register
class Eigh(Gate):
    """w, V = eigh(S) for S = (A + Aᵀ)/2: S = V diag(w) Vᵀ, w ascending, V orthogonal.

    Packed as (..., n + 1, n): w in row 0, V below. With F_ij = 1/(w_j − w_i) (i ≠ j, 0 on
    the diagonal) and X = V (diag(g_w) + F ∘ (Vᵀ g_V)) Vᵀ:  dE/dA = (X + Xᵀ)/2.
    The eigenvectors' gradient exists where the eigenvalues are distinct; where two are
    equal and V is used, backward raises. Using only w (``eigvalsh``) is fine anywhere.
    """

    formula = "{out} = (w, V) with {A} = V diag(w) Vᵀ"
    gradients = ("sym(V (diag(g_w) + F ∘ Vᵀ g_V) Vᵀ)",)

    def forward(self, xp, A):
        _square("eigh", A)
        try:
            w, V = xp.linalg.eigh((A + _mT(xp, A)) * 0.5)
        except np.linalg.LinAlgError:
            raise _lapack("eigh", "not finite, or eigh did not converge") from None
        V = V * _column_signs(xp, V)
        return xp.concatenate([w[..., None, :], V], axis=-2)

    def vjp(self, xp, g, o, A):
        w, V = o[..., 0, :], o[..., 1:, :]
        gw, gV = g[..., 0, :], g[..., 1:, :]
        inner = xp.expand_dims(gw, -2) * xp.eye(w.shape[-1], dtype=w.dtype)  # diag(g_w)
        if not _unused(gV):
            inner = inner + _gap_reciprocals(xp, "eigh", w) * (_mT(xp, V) @ gV)
        X = V @ inner @ _mT(xp, V)
        return ((X + _mT(xp, X)) * 0.5,)

    @staticmethod
    def samples(draw):
        return [
            Sample((_symmetric(draw, 3, 3),)),
            Sample((_symmetric(draw, 2, 4, 4),)),
            Sample((_symmetric(draw, 1, 1),)),
        ]

    def reference(self, torch, A):
        if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
            return torch.linalg.eigh(A)  # refuses, as the gate does
        w, V = torch.linalg.eigh((A + A.mT) / 2)
        return torch.cat([w.unsqueeze(-2), V * _torch_signs(torch, V)], dim=-2)


def _unpack(xp, packed, shapes):
    """Split the last axis of ``packed`` into arrays of the given trailing shapes."""
    out, start = [], 0
    batch = packed.shape[:-1]
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(packed[..., start : start + size].reshape(batch + tuple(shape)))
        start += size
    return out


def _pack(xp, arrays):
    batch = arrays[0].shape[:-2] if arrays[0].ndim >= 2 else arrays[0].shape[:-1]
    return xp.concatenate([a.reshape(batch + (-1,)) for a in arrays], axis=-1)


def svd_shapes(m: int, n: int):
    k = min(m, n)
    return (m, k), (k,), (k, n)


@register
class Svd(Gate):
    """U, S, Vh with A = U diag(S) Vh (reduced: k = min(m, n)), S descending.

    Packed as (..., m·k + k + k·n), U, S and Vh flattened in that order. With V = Vhᵀ,
    F_ij = 1/(s_j² − s_i²) (i ≠ j, 0 on the diagonal), J = F ∘ (Uᵀ g_U − g_Uᵀ U) and
    K = F ∘ (Vᵀ g_V − g_Vᵀ V) (Townsend 2016):

        dE/dA = U (J S + diag(g_S) + S K) Vᵀ + (I − U Uᵀ) g_U S⁻¹ Vᵀ + U S⁻¹ g_Vᵀ (I − V Vᵀ)

    The singular vectors' gradient exists where the singular values are distinct (and,
    for a non-square A, non-zero); where that fails and U or Vh is used, backward raises.
    Using only S (``svdvals``) is fine anywhere the singular values are distinct from 0
    or simple.
    """

    formula = "{out} = (U, S, Vh) with {A} = U diag(S) Vh"

    def forward(self, xp, A):
        _matrix("svd", A)
        _finite("svd", xp, A)
        try:
            U, S, Vh = xp.linalg.svd(A, full_matrices=False)
        except np.linalg.LinAlgError:
            raise _lapack("svd", "not finite, or svd did not converge") from None
        sign = _column_signs(xp, U)
        return _pack(xp, [U * sign, S, Vh * _mT(xp, sign)])

    def vjp(self, xp, g, o, A):
        m, n = A.shape[-2:]
        U, S, Vh = _unpack(xp, o, svd_shapes(m, n))
        gU, gS, gVh = _unpack(xp, g, svd_shapes(m, n))
        k = min(m, n)
        V, gV = _mT(xp, Vh), _mT(xp, gVh)
        eye = xp.eye(k, dtype=S.dtype)
        inner = xp.expand_dims(gS, -2) * eye
        vectors = not (_unused(gU) and _unused(gVh))
        if vectors:
            F = _gap_reciprocals(xp, "svd", S, squared=True)
            Ut_gU, Vt_gV = _mT(xp, U) @ gU, _mT(xp, V) @ gV
            J = F * (Ut_gU - _mT(xp, Ut_gU))
            K = F * (Vt_gV - _mT(xp, Vt_gV))
            inner = inner + J * xp.expand_dims(S, -2) + xp.expand_dims(S, -1) * K
        gA = U @ inner @ Vh
        if vectors and m != n:
            if np.min(np.abs(_array(S)), initial=np.inf) <= 1e3 * np.finfo(S.dtype).eps * max(
                float(np.max(np.abs(_array(S)), initial=0.0)), 1.0
            ):
                raise ValueError(
                    "svd: a singular value of a non-square matrix is zero, so "
                    "the gradient of the singular vectors does not exist"
                )
            inverse = 1 / xp.expand_dims(S, -2)  # S⁻¹ applied to columns
            if m > k:
                gA = gA + ((gU - U @ Ut_gU) * inverse) @ Vh
            if n > k:
                gA = gA + (U * inverse) @ (gVh - (gVh @ V) @ Vh)
        return (gA,)

    @staticmethod
    def samples(draw):
        return [
            Sample((_distinct_singular(draw, 4, 3),)),
            Sample((_distinct_singular(draw, 3, 5),)),
            Sample((_distinct_singular(draw, 3, 3, batch=(2,)),)),
        ]

    def reference(self, torch, A):
        U, S, Vh = torch.linalg.svd(A, full_matrices=False)
        sign = _torch_signs(torch, U)
        U, Vh = U * sign, Vh * sign.mT
        batch = A.shape[:-2]
        return torch.cat([U.reshape(*batch, -1), S, Vh.reshape(*batch, -1)], dim=-1)


def qr_shapes(m: int, n: int):
    k = min(m, n)
    return (m, k), (k, n)


def _copyltu(xp, M):
    """The symmetric matrix whose lower triangle is M's."""
    lower = xp.tril(M, -1)
    return lower + _mT(xp, lower) + M * xp.eye(M.shape[-1], dtype=M.dtype)


def _qr_square_grad(xp, gQ, gR, Q, R):
    """dE/dA for A = Q R with R square (m ≥ n):
    M = R g_Rᵀ − g_Qᵀ Q,  dE/dA = (g_Q + Q copyltu(M)) R⁻ᵀ."""
    M = R @ _mT(xp, gR) - _mT(xp, gQ) @ Q
    B = gQ + Q @ _copyltu(xp, M)
    return _mT(xp, xp.linalg.solve(R, _mT(xp, B)))  # B R⁻ᵀ


@register
class Qr(Gate):
    """Q, R with A = Q R (reduced: Q (m, k) orthonormal columns, R (k, n) upper
    triangular, k = min(m, n)), R's diagonal made non-negative.

    Packed as (..., m·k + k·n). For m ≥ n, with M = R g_Rᵀ − g_Qᵀ Q:
    dE/dA = (g_Q + Q copyltu(M)) R⁻ᵀ, copyltu(M) the symmetric matrix of M's lower triangle.
    For m < n, A = [X | Y] with X square: dE/dY = Q g_R2 and dE/dX is the square rule with
    g_Q + Y g_R2ᵀ. Defined where A has full rank (R's diagonal non-zero); backward raises
    otherwise.
    """

    formula = "{out} = (Q, R) with {A} = Q R"

    def forward(self, xp, A):
        _matrix("qr", A)
        try:
            Q, R = xp.linalg.qr(A)
        except np.linalg.LinAlgError:
            raise _lapack("qr", "not finite") from None
        k = min(A.shape[-2:])
        d = xp.sign(xp.diagonal(R[..., :k, :k], axis1=-2, axis2=-1))
        d = xp.where(d == 0, 1, d)
        return _pack(xp, [Q * xp.expand_dims(d, -2), R * xp.expand_dims(d, -1)])

    def vjp(self, xp, g, o, A):
        m, n = A.shape[-2:]
        Q, R = _unpack(xp, o, qr_shapes(m, n))
        gQ, gR = _unpack(xp, g, qr_shapes(m, n))
        diag = np.abs(np.diagonal(_array(R)[..., :, : min(m, n)], axis1=-2, axis2=-1))
        scale = max(float(np.max(np.abs(_array(R)), initial=0.0)), 1.0)
        if np.min(diag, initial=np.inf) <= 1e3 * np.finfo(diag.dtype).eps * scale:
            raise ValueError(
                "qr: the matrix does not have full rank, so the gradient of Q and R does not exist"
            )
        if m >= n:
            return (_qr_square_grad(xp, gQ, gR, Q, R),)
        Y, gR1, gR2 = A[..., m:], gR[..., :m], gR[..., m:]
        gX = _qr_square_grad(xp, gQ + Y @ _mT(xp, gR2), gR1, Q, R[..., :m])
        return (xp.concatenate([gX, Q @ gR2], axis=-1),)

    @staticmethod
    def samples(draw):
        c = _well_conditioned
        return [
            Sample((draw.normal(4, 3),)),
            Sample((c(draw, 3, 3),)),
            Sample((draw.normal(2, 5, 3),)),
            Sample((draw.normal(3, 5),)),
        ]

    def reference(self, torch, A):
        Q, R = torch.linalg.qr(A)
        k = min(A.shape[-2:])
        d = torch.sign(torch.diagonal(R[..., :k, :k], dim1=-2, dim2=-1)).detach()
        d = torch.where(d == 0, torch.ones_like(d), d)
        Q, R = Q * d.unsqueeze(-2), R * d.unsqueeze(-1)
        batch = A.shape[:-2]
        return torch.cat([Q.reshape(*batch, -1), R.reshape(*batch, -1)], dim=-1)


@register
class Pinv(Gate):
    """X = A⁺, the Moore-Penrose pseudo-inverse: singular values at or below rtol·σ_max
    count as zero (rtol None: max(m, n)·ε, PyTorch's default; NumPy's pinv takes 1e-15).

    dE/dA = −Xᵀ g Xᵀ + (I − A X) gᵀ X Xᵀ + Xᵀ X gᵀ (I − X A)   (Golub & Pereyra 1973).
    A⁺ is differentiable only where the rank does not change nearby; this rule takes that
    to mean full rank (rank = min(m, n)) and raises for a rank-deficient A.
    """

    formula, tex = "{out} = {A}⁺", "{out} = {A}^{{+}}"
    gradients = ("−Xᵀ {g} Xᵀ + (I − {A}X){g}ᵀXXᵀ + XᵀX{g}ᵀ(I − X{A})",)

    def __init__(self, rtol: float | None = None):
        self.rtol = rtol

    def forward(self, xp, A):
        _matrix("pinv", A)
        _finite("pinv", xp, A)
        try:
            U, S, Vh = xp.linalg.svd(A, full_matrices=False)
        except np.linalg.LinAlgError:
            raise _lapack("pinv", "not finite, or svd did not converge") from None
        m, n = A.shape[-2:]
        top = S[..., :1] if S.shape[-1] else S
        rtol = max(m, n) * np.finfo(A.dtype).eps if self.rtol is None else self.rtol
        kept = S > rtol * top
        inverse = xp.where(kept, 1 / xp.where(kept, S, 1), 0)
        X = (_mT(xp, Vh) * xp.expand_dims(inverse, -2)) @ _mT(xp, U)
        return X, bool(np.all(kept))

    def vjp(self, xp, g, X, A, *, saved):
        if not saved:
            raise ValueError(
                "pinv: the matrix is rank-deficient, where the pseudo-inverse is not "
                "differentiable (nor lstsq's solution A⁺ b in A)"
            )
        m, n = A.shape[-2:]
        Xt, gt = _mT(xp, X), _mT(xp, g)
        gA = -(Xt @ g @ Xt)
        gA = gA + (gt - A @ (X @ gt)) @ (X @ Xt)  # (I − A X) gᵀ X Xᵀ
        gA = gA + (Xt @ X) @ (gt - (gt @ X) @ A)  # Xᵀ X gᵀ (I − X A)
        return (gA,)

    @staticmethod
    def samples(draw):
        return [
            Sample((_distinct_singular(draw, 4, 3),)),
            Sample((_distinct_singular(draw, 3, 5),)),
            Sample((_well_conditioned(draw, 2, 3, 3),)),
            Sample((_distinct_singular(draw, 3, 4),), {"rtol": 1e-15}),
        ]

    def reference(self, torch, A):
        return torch.linalg.pinv(A, rtol=self.rtol)
