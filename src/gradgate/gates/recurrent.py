"""Gates of the recurrent layers: the LSTM cell's element-wise part, and whole layers of
LSTM, GRU and Elman RNN over a sequence, each with its backward through time in one vjp.

A layer as one gate: a composition would record a dozen element-wise gates per step and
keep all their outputs; the fused forward runs the steps into buffers allocated once
(each step's matrix product with W_hh, the rest element-wise in place), keeps only what
the backward reads (the gate values, as PyTorch's fused layers keep their workspace), and
the vjp runs the steps backwards, the products over all steps as one GEMM each. Under
``create_graph`` the vjp recomputes what it reads from the input Tensors, so that the graph
of the gradient reaches them and second derivatives stay right.
"""

from __future__ import annotations

import numpy as np

from .base import Gate, Sample, is_array, register


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


def _layer_shapes_fit(x, h0, W_ih, W_hh, biases, gates: int) -> bool:
    """x (L ≥ 1, N, I), h0 (N, H), W_ih (G·H, I), W_hh (G·H, H), each bias (G·H,)."""
    if x.ndim != 3 or h0.ndim != 2 or x.shape[0] == 0:
        return False
    rows = gates * h0.shape[1]
    return (
        h0.shape[0] == x.shape[1]
        and tuple(W_ih.shape) == (rows, x.shape[2])
        and tuple(W_hh.shape) == (rows, h0.shape[1])
        and all(tuple(b.shape) == (rows,) for b in biases)
    )


def _refuse(name: str, x, h0, W_ih, W_hh, biases, gates: int) -> None:
    if not _layer_shapes_fit(x, h0, W_ih, W_hh, biases, gates):
        rows = f"{gates}H" if gates > 1 else "H"
        raise ValueError(
            f"{name}: shapes do not fit: x {x.shape} (L ≥ 1, N, I), h0 {h0.shape} (N, H), "
            f"W_ih {W_ih.shape} ({rows}, I), W_hh {W_hh.shape} ({rows}, H), biases "
            f"{', '.join(str(b.shape) for b in biases)} ({rows},)"
        )


def _previous(xp, h0, out):
    """h_0 … h_{L−1} as one matrix (L·N, H): what W_hh multiplied at each step."""
    L, N, H = out.shape
    first = xp.expand_dims(h0, 0)
    stacked = first if L == 1 else xp.concatenate([first, out[: L - 1]], axis=0)
    return xp.reshape(stacked, (L * N, H))


def _input_gradients(xp, dA, x, W_ih, needs_x: bool, needs_W: bool):
    """dE/dx = dA W_ih and dE/dW_ih = dAᵀ X for the stacked pre-activation gradients dA
    (L·N, G·H) of the input part a_t = W_ih x_t + …"""
    L, N, I = x.shape
    gx = xp.reshape(xp.matmul(dA, W_ih), x.shape) if needs_x else None
    gW = xp.matmul(xp.transpose(dA), xp.reshape(x, (L * N, I))) if needs_W else None
    return gx, gW


def _gru_steps(xp, x, h, W_ih, W_hh, b_ih, b_hh):
    """The GRU over x (L, N, I) from h in any namespace (arrays, or Tensors under
    create_graph): (acts, hs), acts (L, N, 4H) every step's [r, z, n, W_hn h + b_hn], hs
    the list h_1 … h_L."""
    H = h.shape[-1]
    L, N = x.shape[0], x.shape[1]
    projected = xp.reshape(
        xp.matmul(xp.reshape(x, (L * N, x.shape[2])), xp.transpose(W_ih)) + b_ih, (L, N, 3 * H)
    )
    W_hh_T = xp.transpose(W_hh)
    hs, acts = [], []
    for t in range(L):
        gh = xp.matmul(h, W_hh_T) + b_hh  # (N, 3H)
        rz = xp.sigmoid(projected[t][:, : 2 * H] + gh[:, : 2 * H])
        r, z, hn = rz[:, :H], rz[:, H:], gh[:, 2 * H :]
        n = xp.tanh(projected[t][:, 2 * H :] + r * hn)
        h = n + z * (h - n)
        hs.append(h)
        acts.append(xp.concatenate([rz, n, hn], axis=-1))
    return xp.stack(acts, axis=0), hs


def _gru_forward_arrays(xp, x, h0, W_ih, W_hh, b_ih, b_hh):
    """The forward on arrays into buffers allocated once: the output h_1 … h_L (L, N, H),
    and acts (L, N, 4H) as :func:`_gru_steps` gives them."""
    H = h0.shape[-1]
    L, N = x.shape[0], x.shape[1]
    dtype = xp.result_type(x, h0, W_ih, W_hh, b_ih, b_hh)
    projected = xp.matmul(x.reshape(L * N, x.shape[2]), W_ih.T).astype(dtype, copy=False)
    projected += b_ih
    projected = projected.reshape(L, N, 3 * H)
    out = xp.empty((L, N, H), dtype=dtype)
    acts = xp.empty((L, N, 4 * H), dtype=dtype)
    W_hh_T = xp.ascontiguousarray(W_hh.T)  # a transposed view slows each step's GEMM
    h = h0
    for t in range(L):
        gh = xp.matmul(h, W_hh_T)
        gh += b_hh
        a, p = acts[t], projected[t]
        xp.add(p[:, : 2 * H], gh[:, : 2 * H], out=a[:, : 2 * H])
        a[:, : 2 * H] = xp.sigmoid(a[:, : 2 * H])  # r, z
        a[:, 3 * H :] = gh[:, 2 * H :]  # W_hn h + b_hn
        n = a[:, 2 * H : 3 * H]
        xp.multiply(a[:, :H], gh[:, 2 * H :], out=n)
        n += p[:, 2 * H :]
        xp.tanh(n, out=n)
        h = xp.subtract(h, n, out=out[t])
        h *= a[:, H : 2 * H]
        h += n  # n + z ⊙ (h − n)
    return out, acts


@register
class GruLayer(Gate):
    """One GRU layer over a sequence, PyTorch's: x (L, N, I) from h₀ (N, H), weights
    W_ih (3H, I), W_hh (3H, H) and biases b_ih, b_hh (3H,) in the gate order (r, z, n):

        r = σ(W_ir x_t + b_ir + W_hr h + b_hr),   z = σ(W_iz x_t + b_iz + W_hz h + b_hz),
        n = tanh(W_in x_t + b_in + r ⊙ (W_hn h + b_hn)),   h′ = (1 − z) ⊙ n + z ⊙ h.

    The output is h_1 … h_L (L, N, H); the layer's last state is its last row.

    Backward through time, for g = [g_1 … g_L]: from the last step down, with dh = 0 at the
    start, dh_t = g_t + dh and, with hn = W_hn h_{t−1} + b_hn,

        da_z = dh_t ⊙ (h_{t−1} − n) ⊙ z(1 − z),   da_n = dh_t ⊙ (1 − z) ⊙ (1 − n²),
        da_r = da_n ⊙ hn ⊙ r(1 − r):

    the input part a^i = W_ih x_t + b_ih receives [da_r, da_z, da_n], the hidden part
    a^h = W_hh h + b_hh receives [da_r, da_z, da_n ⊙ r], and h_{t−1} receives
    dh = dh_t ⊙ z + (da^h) W_hh. Stacked over the steps: dE/dx = da^i W_ih,
    dE/dW_ih = Σ_t da^iᵀ x_t, dE/dW_hh = Σ_t da^hᵀ h_{t−1}, dE/db_ih = Σ da^i,
    dE/db_hh = Σ da^h, and dE/dh₀ is the last dh.
    """

    function = "gru_layer"
    formula = "{out} = [h_1 … h_L] of the GRU over {x}"
    gradients = (
        "da^i W_ih",
        "dh after step 1",
        "Σ_t da^iᵀ x_t",
        "Σ_t da^hᵀ h_{t−1}",
        "Σ_t Σ_n da^i",
        "Σ_t Σ_n da^h",
    )

    def forward(self, xp, x, h0, W_ih, W_hh, b_ih, b_hh):
        _refuse("gru_layer", x, h0, W_ih, W_hh, (b_ih, b_hh), 3)
        return _gru_forward_arrays(xp, x, h0, W_ih, W_hh, b_ih, b_hh)

    def vjp(self, xp, g, out, x, h0, W_ih, W_hh, b_ih, b_hh, *, needs, saved):
        H = h0.shape[-1]
        L, N = x.shape[0], x.shape[1]
        if is_array(x):
            acts = saved  # the fast path: arrays, nothing to differentiate again
        else:  # create_graph: recomputed from the inputs, so the graph reaches them
            acts, _ = _gru_steps(xp, x, h0, W_ih, W_hh, b_ih, b_hh)
        previous = _previous(xp, h0, out)  # (L·N, H)
        r, z = acts[..., :H], acts[..., H : 2 * H]
        n, hn = acts[..., 2 * H : 3 * H], acts[..., 3 * H :]
        # every step's local derivatives at once, (L, N, H) each
        d_z = (xp.reshape(previous, (L, N, H)) - n) * z * (1 - z)
        d_n = (1 - z) * (1 - n * n)
        d_r = hn * r * (1 - r)
        dh = None
        inputs, hiddens = [None] * L, [None] * L
        for t in range(L - 1, -1, -1):
            dh_t = g[t] if dh is None else g[t] + dh
            da_n = dh_t * d_n[t]
            da_rz = [da_n * d_r[t], dh_t * d_z[t]]
            inputs[t] = xp.concatenate([*da_rz, da_n], axis=-1)
            hiddens[t] = xp.concatenate([*da_rz, da_n * r[t]], axis=-1)
            dh = dh_t * z[t] + xp.matmul(hiddens[t], W_hh)
        dI = xp.reshape(xp.stack(inputs, axis=0), (L * N, 3 * H))
        dH = xp.reshape(xp.stack(hiddens, axis=0), (L * N, 3 * H))
        gx, gW_ih = _input_gradients(xp, dI, x, W_ih, needs[0], needs[2])
        gW_hh = xp.matmul(xp.transpose(dH), previous) if needs[3] else None
        gb_ih = xp.sum(dI, axis=0) if needs[4] else None
        gb_hh = xp.sum(dH, axis=0) if needs[5] else None
        return gx, dh, gW_ih, gW_hh, gb_ih, gb_hh

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(3, 2, 3), r(2, 2), r(6, 3), r(6, 2), r(6), r(6))),
            Sample((r(4, 1, 2), r(1, 3), r(9, 2) * 0.5, r(9, 3) * 0.5, r(9), r(9))),
        ]

    def reference(self, torch, x, h0, W_ih, W_hh, b_ih, b_hh):
        _refuse("gru_layer", x, h0, W_ih, W_hh, (b_ih, b_hh), 3)  # as forward
        h, hs = h0, []
        for t in range(x.shape[0]):
            ir, iz, i_n = (x[t] @ W_ih.T + b_ih).chunk(3, dim=-1)
            hr, hz, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=-1)
            r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
            n = torch.tanh(i_n + r * h_n)
            h = (1 - z) * n + z * h
            hs.append(h)
        return torch.stack(hs, dim=0)


def _rnn_forward(xp, x, h0, W_ih, W_hh, b, nonlinearity: str):
    """h_1 … h_L (L, N, H) of the Elman RNN, on arrays (buffers allocated once, each
    step's pre-activation turned into h_t in place) or on Tensors (under create_graph)."""
    L, N = x.shape[0], x.shape[1]
    H = h0.shape[-1]
    if not is_array(x):
        act = xp.tanh if nonlinearity == "tanh" else xp.relu
        projected = xp.reshape(
            xp.matmul(xp.reshape(x, (L * N, x.shape[2])), xp.transpose(W_ih)) + b, (L, N, H)
        )
        h, hs = h0, []
        for t in range(L):
            h = act(projected[t] + xp.matmul(h, xp.transpose(W_hh)))
            hs.append(h)
        return xp.stack(hs, axis=0)
    dtype = xp.result_type(x, h0, W_ih, W_hh, b)
    out = xp.matmul(x.reshape(L * N, x.shape[2]), W_ih.T).astype(dtype, copy=False)
    out += b
    out = out.reshape(L, N, H)
    W_hh_T = xp.ascontiguousarray(W_hh.T)
    h = h0
    for t in range(L):
        h = out[t]
        h += xp.matmul(out[t - 1] if t else h0, W_hh_T)
        if nonlinearity == "tanh":
            xp.tanh(h, out=h)
        else:
            xp.maximum(h, 0, out=h)
    return out


NONLINEARITIES = ("tanh", "relu")


@register
class RnnLayer(Gate):
    """One Elman RNN layer over a sequence, PyTorch's: x (L, N, I) from h₀ (N, H), weights
    W_ih (H, I), W_hh (H, H) and the summed bias b = b_ih + b_hh (H,):
    h_t = φ(a_t), a_t = W_ih x_t + W_hh h_{t−1} + b, φ = tanh (or relu). The output is
    h_1 … h_L (L, N, H).

    Backward through time, for g = [g_1 … g_L]: from the last step down, with dh = 0 at
    the start, dh_t = g_t + dh, da_t = dh_t ⊙ φ′(a_t) (1 − h_t² for tanh, 0 where h_t ≤ 0
    for relu: read from the output, so nothing is kept) and dh = da_t W_hh. Stacked:
    dE/dx = da W_ih, dE/dW_ih = Σ_t da_tᵀ x_t, dE/dW_hh = Σ_t da_tᵀ h_{t−1},
    dE/db = Σ da, and dE/dh₀ is the last dh.
    """

    function = "rnn_layer"
    formula = "{out} = [h_1 … h_L] of the RNN over {x}"
    gradients = ("da W_ih", "dh after step 1", "Σ_t da_tᵀ x_t", "Σ_t da_tᵀ h_{t−1}", "Σ da")

    def __init__(self, nonlinearity: str = "tanh"):
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"rnn_layer: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        self.nonlinearity = nonlinearity

    def forward(self, xp, x, h0, W_ih, W_hh, b):
        _refuse("rnn_layer", x, h0, W_ih, W_hh, (b,), 1)
        return _rnn_forward(xp, x, h0, W_ih, W_hh, b, self.nonlinearity)

    def vjp(self, xp, g, out, x, h0, W_ih, W_hh, b, *, needs):
        L, N, H = out.shape
        tanh = self.nonlinearity == "tanh"
        # φ′ from the output: 1 − h² for tanh; for relu 0 where h ≤ 0, else 1 (a NaN h
        # passes the gradient, as in PyTorch's RNN)
        slope = 1 - out * out if tanh else out <= 0
        dh = None
        das = [None] * L
        for t in range(L - 1, -1, -1):
            dh_t = g[t] if dh is None else g[t] + dh
            das[t] = dh_t * slope[t] if tanh else xp.where(slope[t], 0, dh_t)
            dh = xp.matmul(das[t], W_hh)
        dA = xp.reshape(xp.stack(das, axis=0), (L * N, H))
        gx, gW_ih = _input_gradients(xp, dA, x, W_ih, needs[0], needs[2])
        gW_hh = xp.matmul(xp.transpose(dA), _previous(xp, h0, out)) if needs[3] else None
        gb = xp.sum(dA, axis=0) if needs[4] else None
        return gx, dh, gW_ih, gW_hh, gb

    @staticmethod
    def samples(draw):
        r = draw.normal
        # relu: units whose pre-activations stay well above 0 (positive inputs and input
        # weights, a positive bias) and units that stay well below (all negative), so
        # that finite differences never straddle the kink
        sign = np.array([1.0, -1.0, 1.0])[:, None]
        return [
            Sample((r(3, 2, 3), r(2, 2), r(2, 3), r(2, 2), r(2))),
            Sample((r(4, 1, 2), r(1, 3), r(3, 2) * 0.5, r(3, 3) * 0.5, r(3))),
            Sample(
                (
                    draw.positive(3, 2, 2),
                    draw.positive(2, 3, low=0.1, high=0.3),
                    sign * draw.positive(3, 2),
                    draw.uniform(3, 3, low=-0.1, high=0.1),
                    sign[:, 0] * 0.5,
                ),
                {"nonlinearity": "relu"},
            ),
        ]

    def reference(self, torch, x, h0, W_ih, W_hh, b):
        _refuse("rnn_layer", x, h0, W_ih, W_hh, (b,), 1)  # as forward
        act = torch.tanh if self.nonlinearity == "tanh" else torch.relu
        h, hs = h0, []
        for t in range(x.shape[0]):
            h = act(x[t] @ W_ih.T + h @ W_hh.T + b)
            hs.append(h)
        return torch.stack(hs, dim=0)
