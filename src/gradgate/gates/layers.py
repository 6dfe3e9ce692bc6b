"""Gates behind the layers of ``gradgate.nn``: normalisation, embedding lookup and the LSTM
cell's element-wise part.

Each is one gate with a fused backward because that is where a composition would be slow
or would keep many intermediate arrays alive: normalising takes five reductions and
broadcasts as a composition, one LSTM step a dozen element-wise gates. Everything around
them (affine parameters, matrix products) is composed from the general gates.
"""

from __future__ import annotations

import numpy as np

from .base import Gate, Sample, is_array, register
from .reduce import normalize_axis


@register
class Normalize(Gate):
    """o = (x − μ) / √(σ² + ε), with μ and σ² (biased) the mean and variance of x over
    ``axes``: the core of batch, layer and group normalisation.

    Backward (N = number of elements averaged, r = 1/√(σ² + ε), o = (x − μ) r):
    do_i/dx_j = r (δ_ij − 1/N − o_i o_j / N), since dμ/dx_j = 1/N and
    d(σ²)/dx_j = 2 (x_j − μ)/N. The matrix is symmetric, so
    J^T g = r (g − mean(g) − o ⊙ mean(g ⊙ o)), the means taken over ``axes``: three
    reductions instead of a Jacobian.
    """

    function = "normalize"
    formula = "{out} = ({x} − μ) / √(σ² + ε)"
    tex = "{out} = ({x} - \\mu) / \\sqrt{{\\sigma^2 + \\varepsilon}}"
    gradients = ("r ({g} − mean {g} − {out} ⊙ mean({g} ⊙ {out}))",)

    def __init__(self, axes=-1, eps: float = 1e-5):
        self.axes = axes
        self.eps = float(eps)

    def forward(self, xp, x):
        axes = normalize_axis(self.axes, x.ndim)
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(
                f"normalize: nothing to average over axes {self.axes} of a "
                f"tensor of shape {x.shape}"
            )
        with np.errstate(invalid="ignore", over="ignore"):  # inf in a slice: NaN, as PyTorch
            d = x - xp.mean(x, axis=axes, keepdims=True)
            var = xp.mean(d * d, axis=axes, keepdims=True)
            return d / xp.sqrt(var + self.eps)

    def vjp(self, xp, g, o, x):
        axes = normalize_axis(self.axes, x.ndim)
        d = x - xp.mean(x, axis=axes, keepdims=True)
        r = 1 / xp.sqrt(xp.mean(d * d, axis=axes, keepdims=True) + self.eps)
        mean_g = xp.mean(g, axis=axes, keepdims=True)
        return (r * (g - mean_g - o * xp.mean(g * o, axis=axes, keepdims=True)),)

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(3, 5),)),
            Sample((r(4, 3, 2),), {"axes": (0, 2), "eps": 1e-3}),
            Sample((r(2, 3, 4),), {"axes": (1, 2)}),
        ]

    def reference(self, torch, x):
        axes = normalize_axis(self.axes, x.ndim)
        mean = x.mean(dim=axes, keepdim=True)
        var = x.var(dim=axes, unbiased=False, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps)


@register
class Embedding(Gate):
    """o = W[y]: row y of the table W (num, dim) for every integer y of the index array.

    dE/dW is zero but for the rows looked up, where g is added (scatter-add: a row looked up
    twice gets both contributions). The indices take no gradient.

    With ``padding_idx`` = p, the places where y = p read zeros and give row p no gradient,
    as in PyTorch (whose ``nn.Embedding`` keeps row p at zero; here it reads as zero even
    when it is not, so the rule is the true derivative of its forward).
    """

    function = "embedding_lookup"
    formula = "{out} = {W}[{y}]"
    gradients = ("{g} added into the rows {y}", "")

    def __init__(self, padding_idx: int | None = None):
        self.padding_idx = padding_idx

    def forward(self, xp, W, y):
        if W.ndim != 2:
            raise ValueError(f"embedding: the table must be (num, dim), got {W.shape}")
        if y.dtype.kind not in "iu":
            raise TypeError(f"embedding: indices must be integers, got {y.dtype}")
        if y.size and (int(y.min()) < 0 or int(y.max()) >= W.shape[0]):
            raise IndexError(
                f"embedding: indices must lie in [0, {W.shape[0]}), got "
                f"{int(y.min())}..{int(y.max())}"
            )
        if self.padding_idx is None:
            return W[y]
        if not 0 <= self.padding_idx < W.shape[0]:
            raise ValueError(
                f"embedding: padding_idx {self.padding_idx} is not a row of a table of {W.shape[0]}"
            )
        return xp.where(xp.expand_dims(y != self.padding_idx, -1), W[y], 0)

    def vjp(self, xp, g, o, W, y):
        if self.padding_idx is not None:
            keep = xp.expand_dims(y != self.padding_idx, -1)
            g = xp.where(keep, g, 0 * g)
        return xp.scatter_add(g, (y,), W.shape), None

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.normal(5, 3), np.array([0, 2, 2, 4]))),
            Sample((draw.normal(4, 2), np.array([[1, 0], [3, 1]])), {"padding_idx": 1}),
        ]

    def reference(self, torch, W, y):
        out = torch.nn.functional.embedding(y, W, padding_idx=self.padding_idx)
        if self.padding_idx is None:
            return out
        return torch.where((y != self.padding_idx).unsqueeze(-1), out, torch.zeros_like(out))


@register
class LstmCell(Gate):
    """[h′, c′] from the pre-activations a = [a_i, a_f, a_g, a_o] (B, 4H), PyTorch's gate
    order, and the cell state c (B, H): with i = σ(a_i), f = σ(a_f), u = tanh(a_g),
    o = σ(a_o), c′ = f ⊙ c + i ⊙ u and h′ = o ⊙ tanh(c′). The output is (B, 2H): h′, then c′.

    Backward, for g = [g_h, g_c] and t = tanh(c′): c′ receives
    G = g_c + g_h ⊙ o ⊙ (1 − t²), and then
    dE/da_i = G ⊙ u ⊙ i(1 − i),  dE/da_f = G ⊙ c ⊙ f(1 − f),  dE/da_g = G ⊙ i ⊙ (1 − u²),
    dE/da_o = g_h ⊙ t ⊙ o(1 − o),  dE/dc = G ⊙ f.
    """

    function = "lstm_cell_update"
    formula = "{out} = [o ⊙ tanh(c′), c′],  c′ = f ⊙ {c} + i ⊙ u"
    gradients = ("[G ⊙ u ⊙ i(1−i), G ⊙ {c} ⊙ f(1−f), G ⊙ i ⊙ (1−u²), g_h ⊙ t ⊙ o(1−o)]", "G ⊙ f")

    def forward(self, xp, a, c):
        H = c.shape[-1]
        if a.shape[-1] != 4 * H or a.shape[:-1] != c.shape[:-1]:
            raise ValueError(
                f"lstm_cell_update: pre-activations {a.shape} do not fit the "
                f"cell state {c.shape} (they need 4 × {H} columns)"
            )
        ifo = xp.sigmoid(a[..., : 2 * H])
        u = xp.tanh(a[..., 2 * H : 3 * H])
        o = xp.sigmoid(a[..., 3 * H :])
        c_new = ifo[..., H:] * c + ifo[..., :H] * u
        return xp.concatenate([o * xp.tanh(c_new), c_new], axis=-1)

    def vjp(self, xp, g, out, a, c, *, needs):
        H = c.shape[-1]
        i = xp.sigmoid(a[..., :H])
        f = xp.sigmoid(a[..., H : 2 * H])
        u = xp.tanh(a[..., 2 * H : 3 * H])
        o = xp.sigmoid(a[..., 3 * H :])
        c_new = out[..., H:]
        t = xp.tanh(c_new)
        g_h = g[..., :H]
        G = g[..., H:] + g_h * o * (1 - t * t)
        ga = (
            xp.concatenate(
                [
                    G * u * i * (1 - i),
                    G * c * f * (1 - f),
                    G * i * (1 - u * u),
                    g_h * t * o * (1 - o),
                ],
                axis=-1,
            )
            if needs[0]
            else None
        )
        return ga, (G * f if needs[1] else None)

    @staticmethod
    def samples(draw):
        return [
            Sample((draw.normal(3, 8), draw.normal(3, 2))),
            Sample((draw.normal(12), draw.normal(3))),
        ]

    def reference(self, torch, a, c):
        if a.shape[-1] != 4 * c.shape[-1] or a.shape[:-1] != c.shape[:-1]:
            raise ValueError("the pre-activations do not fit the cell state")  # as forward
        i, f, u, o = a.chunk(4, dim=-1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(u)
        return torch.cat([torch.sigmoid(o) * torch.tanh(c_new), c_new], dim=-1)


def _lstm_steps(xp, x, h, c, W_ih, W_hh, b):
    """Run the LSTM over x (L, N, I) from (h, c) in any namespace (arrays, or Tensors under
    create_graph): (acts, cells, tanh_c, hs) with acts (L, N, 4H) the gate values
    [i, f, u, o] of every step, cells (L + 1, N, H) the cell states c_0 … c_L, tanh_c
    (L, N, H) their tanh from c_1 on, and hs the list h_1 … h_L."""
    H = h.shape[-1]
    L, N = x.shape[0], x.shape[1]
    projected = xp.reshape(
        xp.matmul(xp.reshape(x, (L * N, x.shape[2])), xp.transpose(W_ih)) + b, (L, N, 4 * H)
    )  # every step's input part in one product
    W_hh_T = xp.transpose(W_hh)
    hs, cs, tcs, acts = [], [c], [], []
    for t in range(L):
        a = projected[t] + xp.matmul(h, W_hh_T)  # (N, 4H)
        ifu = [xp.sigmoid(a[:, : 2 * H]), xp.tanh(a[:, 2 * H : 3 * H])]
        o = xp.sigmoid(a[:, 3 * H :])
        i, f, u = ifu[0][:, :H], ifu[0][:, H:], ifu[1]
        c = f * c + i * u
        tc = xp.tanh(c)
        h = o * tc
        hs.append(h)
        cs.append(c)
        tcs.append(tc)
        acts.append(xp.concatenate([*ifu, o], axis=-1))
    return xp.stack(acts, axis=0), xp.stack(cs, axis=0), xp.stack(tcs, axis=0), hs


def _lstm_forward_arrays(xp, x, h0, c0, W_ih, W_hh, b):
    """The forward on arrays, into buffers allocated once: the output (L + 1, N, H)
    (h_1 … h_L, c_L), and what the vjp reads, acts (L, N, 4H), cells (L + 1, N, H) and
    tanh_c (L, N, H), as :func:`_lstm_steps` gives them. Each step's pre-activations are
    computed in place in acts and turned into the gate values there."""
    H = h0.shape[-1]
    L, N = x.shape[0], x.shape[1]
    dtype = xp.result_type(x, h0, c0, W_ih, W_hh, b)  # as the composition would promote
    acts = xp.matmul(x.reshape(L * N, x.shape[2]), W_ih.T).astype(dtype, copy=False)
    acts += b
    acts = acts.reshape(L, N, 4 * H)
    out = xp.empty((L + 1, N, H), dtype=acts.dtype)
    cells = xp.empty((L + 1, N, H), dtype=acts.dtype)
    tanh_c = xp.empty((L, N, H), dtype=acts.dtype)
    cells[0] = c0
    W_hh_T = xp.ascontiguousarray(W_hh.T)  # a transposed view makes each step's GEMM 1.7x slower
    h = h0
    for t in range(L):
        a = acts[t]
        a += xp.matmul(h, W_hh_T)  # (N, 4H)
        a[:, : 2 * H] = xp.sigmoid(a[:, : 2 * H])
        xp.tanh(a[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])
        a[:, 3 * H :] = xp.sigmoid(a[:, 3 * H :])
        c = cells[t + 1]
        xp.multiply(a[:, H : 2 * H], cells[t], out=c)  # f ⊙ c_{t−1}
        c += a[:, :H] * a[:, 2 * H : 3 * H]  # + i ⊙ u
        xp.tanh(c, out=tanh_c[t])
        h = xp.multiply(a[:, 3 * H :], tanh_c[t], out=out[t])  # o ⊙ tanh(c_t)
    out[L] = cells[L]
    return out, (acts, cells, tanh_c)


def _lstm_shapes_fit(x, h0, c0, W_ih, W_hh, b) -> bool:
    if x.ndim != 3 or h0.ndim != 2 or tuple(c0.shape) != tuple(h0.shape):
        return False
    four_h = 4 * h0.shape[1]
    return (
        h0.shape[0] == x.shape[1]
        and tuple(W_ih.shape) == (four_h, x.shape[2])
        and tuple(W_hh.shape) == (four_h, h0.shape[1])
        and tuple(b.shape) == (four_h,)
    )


@register
class LstmLayer(Gate):
    """One LSTM layer over a whole sequence, x (L, N, I) from (h₀, c₀) (N, H), with weights
    W_ih (4H, I), W_hh (4H, H) and the summed bias b (4H,) in PyTorch's gate order (i, f, g,
    o): a_t = W_ih x_t + W_hh h_{t−1} + b, c_t = f ⊙ c_{t−1} + i ⊙ u, h_t = o ⊙ tanh(c_t).
    The output is (L + 1, N, H): h_1 … h_L, then c_L.

    Backward through time, for g = [g_h1 … g_hL, g_c]: from the last step down, with
    dh = 0 and dc = g_c at the start, dh_t = g_ht + dh and c_t receives
    G_t = dc + dh_t ⊙ o_t ⊙ (1 − tanh² c_t); then
    da_t = [G_t ⊙ u ⊙ i(1−i), G_t ⊙ c_{t−1} ⊙ f(1−f), G_t ⊙ i ⊙ (1−u²), dh_t ⊙ tanh c_t ⊙ o(1−o)],
    dh = da_t W_hh (to h_{t−1}) and dc = G_t ⊙ f (to c_{t−1}). With the da_t stacked (L, N, 4H):
    dE/dx = da W_ih, dE/dW_ih = Σ_t da_tᵀ x_t, dE/dW_hh = Σ_t da_tᵀ h_{t−1},
    dE/db = Σ_t Σ_n da_t, and dE/dh₀, dE/dc₀ are the last dh, dc. The products over t run as
    one matrix product each.

    The forward keeps each step's gate values and cell state (as PyTorch's LSTM keeps its
    workspace) and the vjp on arrays reuses them, since recomputing them would cost another
    forward pass; under ``create_graph`` the vjp recomputes them from the input Tensors, so
    that the graph of the gradient reaches the inputs and second derivatives stay right.
    """

    function = "lstm_layer"
    formula = "{out} = [h_1 … h_L, c_L] of the LSTM over {x}"
    gradients = (
        "da W_ih",
        "dh after step 1",
        "dc after step 1",
        "Σ_t da_tᵀ x_t",
        "Σ_t da_tᵀ h_{t−1}",
        "Σ_t Σ_n da_t",
    )

    def forward(self, xp, x, h0, c0, W_ih, W_hh, b):
        if not _lstm_shapes_fit(x, h0, c0, W_ih, W_hh, b):
            raise ValueError(
                f"lstm_layer: shapes do not fit: x {x.shape} (L, N, I), h0 {h0.shape} and c0 "
                f"{c0.shape} (N, H), W_ih {W_ih.shape} (4H, I), W_hh {W_hh.shape} (4H, H), "
                f"b {b.shape} (4H,)"
            )
        if x.shape[0] == 0:
            return xp.expand_dims(c0, 0), None
        return _lstm_forward_arrays(xp, x, h0, c0, W_ih, W_hh, b)

    def vjp(self, xp, g, out, x, h0, c0, W_ih, W_hh, b, *, needs, saved):
        H = h0.shape[-1]
        L, N = x.shape[0], x.shape[1]
        if L == 0:
            return None, None, g[0], None, None, None  # an empty sequence: c_L is c0
        if saved is not None and is_array(x):
            acts, cells, tanh_c = saved  # the fast path: arrays, nothing to differentiate
            later = out[: L - 1]  # h_1 … h_{L−1}
        else:  # create_graph: recomputed from the inputs, so the graph reaches them
            acts, cells, tanh_c, hs = _lstm_steps(xp, x, h0, c0, W_ih, W_hh, b)
            later = xp.stack(hs[:-1], axis=0) if L > 1 else None
        # every step's local derivatives at once, (L, N, H) each; the loop is left with
        # what depends on the gradient flowing back
        i, f = acts[..., :H], acts[..., H : 2 * H]
        u, o = acts[..., 2 * H : 3 * H], acts[..., 3 * H :]
        into_c = o * (1 - tanh_c * tanh_c)  # dc_t/dh_t
        d_i, d_f = u * i * (1 - i), cells[:L] * f * (1 - f)
        d_u, d_o = i * (1 - u * u), tanh_c * o * (1 - o)
        dh = None
        dc = g[L]
        das = [None] * L
        for t in range(L - 1, -1, -1):
            dh_t = g[t] if dh is None else g[t] + dh
            G = dc + dh_t * into_c[t]
            da = xp.concatenate([G * d_i[t], G * d_f[t], G * d_u[t], dh_t * d_o[t]], axis=-1)
            das[t] = da
            dh = xp.matmul(da, W_hh)
            dc = G * f[t]
        dA = xp.reshape(xp.stack(das, axis=0), (L * N, 4 * H))
        dA_T = xp.transpose(dA)
        gx = xp.reshape(xp.matmul(dA, W_ih), x.shape) if needs[0] else None
        gW_ih = xp.matmul(dA_T, xp.reshape(x, (L * N, x.shape[2]))) if needs[3] else None
        if needs[4]:  # h_{t−1} for every step: h0, then h_1 … h_{L−1}
            first = xp.expand_dims(h0, 0)
            previous = first if L == 1 else xp.concatenate([first, later], axis=0)
            gW_hh = xp.matmul(dA_T, xp.reshape(previous, (L * N, H)))
        else:
            gW_hh = None
        gb = xp.sum(dA, axis=0) if needs[5] else None
        return gx, dh, dc, gW_ih, gW_hh, gb

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(3, 2, 3), r(2, 2), r(2, 2), r(8, 3), r(8, 2), r(8))),
            Sample((r(4, 1, 2), r(1, 3), r(1, 3), r(12, 2) * 0.5, r(12, 3) * 0.5, r(12))),
        ]

    def reference(self, torch, x, h0, c0, W_ih, W_hh, b):
        if not _lstm_shapes_fit(x, h0, c0, W_ih, W_hh, b):
            raise ValueError("the shapes do not fit")  # as forward: no broadcasting
        h, c, hs = h0, c0, []
        for t in range(x.shape[0]):
            i, f, u, o = (x[t] @ W_ih.T + h @ W_hh.T + b).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(u)
            h = torch.sigmoid(o) * torch.tanh(c)
            hs.append(h)
        return torch.stack([*hs, c], dim=0)
