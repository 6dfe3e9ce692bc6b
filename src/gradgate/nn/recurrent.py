"""Recurrent layers, as ``torch.nn``'s: RNN, LSTM, GRU (``num_layers``, ``batch_first``,
``bidirectional``, ``dropout``, an initial state) and their one-step cells.

Parameters carry PyTorch's names and layouts, gates stacked in PyTorch's order: for layer
k, ``weight_ih_l{k}`` (G·H, in), ``weight_hh_l{k}`` (G·H, H), ``bias_ih_l{k}`` and
``bias_hh_l{k}`` (G·H,), with a ``_reverse`` suffix for the backward direction; G is 1
(RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n). Each layer and direction runs as one
fused gate over the whole sequence (:class:`~gradgate.gates.recurrent.LstmLayer`,
``GruLayer``, ``RnnLayer``: backward through time in its vjp); the one-step cells are
compositions of matvec and element-wise gates (LSTMCell's element-wise part fused).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import functional as G
from ..factories import zeros
from ..tensor import DEFAULT_FLOAT, Tensor
from . import functional as F
from . import init
from .module import Module, Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x._data if isinstance(x, Tensor) else x))


def _rnn_step(
    mode: str, x: Any, h: Any, W_ih: Tensor, W_hh: Tensor, b_ih: Any, b_hh: Any
) -> Tensor:
    """h′ of an RNN (tanh or relu) or GRU cell; x (N, in), h (N, H)."""
    gi = G.matvec(W_ih, x)
    gh = G.matvec(W_hh, h)
    if b_ih is not None:
        gi = gi + b_ih
        gh = gh + b_hh
    if mode == "RNN_TANH":
        return G.tanh(gi + gh)
    if mode == "RNN_RELU":
        return G.relu(gi + gh)
    H = _shape(h)[-1]
    r = G.sigmoid(gi[..., :H] + gh[..., :H])
    z = G.sigmoid(gi[..., H : 2 * H] + gh[..., H : 2 * H])
    n = G.tanh(gi[..., 2 * H :] + r * gh[..., 2 * H :])
    return n + z * (h - n)  # (1 − z) ⊙ n + z ⊙ h


def _lstm_step(
    x: Any, h: Any, c: Any, W_ih: Tensor, W_hh: Tensor, b_ih: Any, b_hh: Any
) -> tuple[Tensor, Tensor]:
    a = G.matvec(W_ih, x) + G.matvec(W_hh, h)
    if b_ih is not None:
        a = a + (b_ih + b_hh)
    H = _shape(h)[-1]
    out = F.lstm_cell_update(a, c)
    return out[..., :H], out[..., H:]


def _uniform_parameters(
    module: Module,
    names: list[str],
    shapes: list[tuple[int, ...]],
    hidden_size: int,
    dtype: Any,
    generator: Any,
) -> None:
    """PyTorch's start for every recurrent weight and bias: U(−1/√H, 1/√H)."""
    bound = 1.0 / math.sqrt(hidden_size)
    for name, shape in zip(names, shapes, strict=True):
        p = Parameter(np.empty(shape, dtype))
        init.uniform_(p, -bound, bound, generator)
        setattr(module, name, p)


# --- cells ------------------------------------------------------------------------------


class _Cell(Module):
    mode = "RNN_TANH"
    weight_ih: Tensor  # set by _uniform_parameters, PyTorch's names
    weight_hh: Tensor
    bias_ih: Any
    bias_hh: Any

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gh = _GATES[self.mode] * hidden_size
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if bias else [])
        shapes: list[tuple[int, ...]] = [(gh, input_size), (gh, hidden_size), (gh,), (gh,)]
        shapes = shapes[: len(names)]
        _uniform_parameters(
            self, names, shapes, hidden_size, np.dtype(dtype or DEFAULT_FLOAT), generator
        )
        if not bias:
            self.bias_ih = self.bias_hh = None

    def _prepare(self, x: Any, state: Any) -> tuple[Any, bool]:
        shape = _shape(x)
        if len(shape) not in (1, 2) or shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}: expected input (N, {self.input_size}) "
                f"or ({self.input_size},), got {shape}"
            )
        return x, len(shape) == 1

    def _zeros(self, x: Any) -> Tensor:
        shape = _shape(x)[:-1] + (self.hidden_size,)
        return zeros(shape, dtype=self.weight_ih.dtype)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"


class RNNCell(_Cell):
    """h′ = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu, ``nonlinearity="relu"``)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, dtype, generator)

    def forward(self, x: Any, h: Any = None) -> Tensor:
        x, _ = self._prepare(x, h)
        h = self._zeros(x) if h is None else h
        return _rnn_step(
            self.mode, x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh
        )


class GRUCell(_Cell):
    """r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(… z …), n = tanh(W_in x + b_in + r ⊙
    (W_hn h + b_hn)), h′ = (1 − z) ⊙ n + z ⊙ h."""

    mode = "GRU"

    def forward(self, x: Any, h: Any = None) -> Tensor:
        x, _ = self._prepare(x, h)
        h = self._zeros(x) if h is None else h
        return _rnn_step("GRU", x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class LSTMCell(_Cell):
    """(h′, c′) from x and (h, c): i, f, g, o from W_ih x + b_ih + W_hh h + b_hh, then
    c′ = σ(f) ⊙ c + σ(i) ⊙ tanh(g), h′ = σ(o) ⊙ tanh(c′) (one fused gate)."""

    mode = "LSTM"

    def forward(self, x: Any, state: Any = None) -> tuple[Tensor, Tensor]:
        x, _ = self._prepare(x, state)
        h, c = (self._zeros(x), self._zeros(x)) if state is None else state
        return _lstm_step(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


# --- layers over sequences ----------------------------------------------------------------


class _RNNBase(Module):
    mode = "RNN_TANH"
    weight_ih_l0: Tensor  # and the others, set by _uniform_parameters

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        for what, n in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"{name}: {what} must be a positive integer, got {n!r}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must lie in [0, 1], got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.generator = generator
        directions = 2 if bidirectional else 1
        gh = _GATES[self.mode] * hidden_size
        names: list[str] = []
        shapes: list[tuple[int, ...]] = []
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                names += [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes += [(gh, width), (gh, hidden_size)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(gh,), (gh,)]
        _uniform_parameters(
            self, names, shapes, hidden_size, np.dtype(dtype or DEFAULT_FLOAT), generator
        )

    def _weights(self, layer: int, suffix: str) -> tuple[Any, Any, Any, Any]:
        get = vars(self).get
        return (
            get(f"weight_ih_l{layer}{suffix}"),
            get(f"weight_hh_l{layer}{suffix}"),
            get(f"bias_ih_l{layer}{suffix}"),
            get(f"bias_hh_l{layer}{suffix}"),
        )

    def _initial(self, hx: Any, batch: int, unbatched: bool, what: str) -> Any:
        directions = 2 if self.bidirectional else 1
        shape = (self.num_layers * directions, batch, self.hidden_size)
        if hx is None:
            return zeros(shape, dtype=self.weight_ih_l0.dtype)
        if unbatched:
            hx = G.expand_dims(hx, 1) if isinstance(hx, Tensor) else np.expand_dims(hx, 1)
        if _shape(hx) != shape:
            raise ValueError(
                f"{type(self).__name__}: expected {what} of shape {shape}, got {_shape(hx)}"
            )
        return hx

    def forward(self, x: Any, hx: Any = None) -> tuple[Tensor, Any]:
        name = type(self).__name__
        shape = _shape(x)
        if len(shape) not in (2, 3) or shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: expected input (L, N, {self.input_size}) "
                f"({'(N, L, …)' if self.batch_first else 'or batch_first'}) or "
                f"(L, {self.input_size}), got {shape}"
            )
        unbatched = len(shape) == 2
        if unbatched:
            x = G.expand_dims(x, 1)
        elif self.batch_first:
            x = G.swapaxes(x, 0, 1)
        L, N = _shape(x)[:2]
        if L == 0:
            raise ValueError(f"{name}: the input sequence is empty")
        c0: Any = None
        if self.mode == "LSTM":
            h0, c0 = (None, None) if hx is None else hx
            h0 = self._initial(h0, N, unbatched, "h_0")
            c0 = self._initial(c0, N, unbatched, "c_0")
        else:
            h0 = self._initial(hx, N, unbatched, "h_0")
        directions = ("", "_reverse") if self.bidirectional else ("",)
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(directions):
                k = layer * len(directions) + d
                W_ih, W_hh, b_ih, b_hh = self._weights(layer, suffix)
                seq = x if d == 0 else x[::-1]
                if self.mode == "LSTM":
                    b = b_ih + b_hh if b_ih is not None else zeros(W_hh.shape[0], dtype=W_hh.dtype)
                    out = G.lstm_layer(seq, h0[k], c0[k], W_ih, W_hh, b)  # (L + 1, N, H)
                    hs = out[:L] if d == 0 else out[L - 1 :: -1]
                    h_n.append(out[L - 1])
                    c_n.append(out[L])
                else:
                    if b_ih is None:
                        b_ih = b_hh = Tensor(np.zeros(W_hh.shape[0], dtype=W_hh.dtype))
                    if self.mode == "GRU":
                        out = G.gru_layer(seq, h0[k], W_ih, W_hh, b_ih, b_hh)  # (L, N, H)
                    else:
                        act = "tanh" if self.mode == "RNN_TANH" else "relu"
                        out = G.rnn_layer(seq, h0[k], W_ih, W_hh, b_ih + b_hh, act)
                    hs = out if d == 0 else out[::-1]
                    h_n.append(out[L - 1])
                outputs.append(hs)
            x = outputs[0] if len(outputs) == 1 else G.concatenate(outputs, axis=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True, self.generator)
        output = x
        states = [G.stack(h_n, axis=0)] + ([G.stack(c_n, axis=0)] if c_n else [])
        if unbatched:
            output = G.squeeze(output, 1)
            states = [G.squeeze(s, 1) for s in states]
        elif self.batch_first:
            output = G.swapaxes(output, 0, 1)
        return output, (tuple(states) if self.mode == "LSTM" else states[0])

    def extra_repr(self) -> str:
        extras = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            extras.append(f"num_layers={self.num_layers}")
        for flag in ("batch_first", "bidirectional"):
            if getattr(self, flag):
                extras.append(f"{flag}=True")
        if self.dropout:
            extras.append(f"dropout={self.dropout}")
        return ", ".join(extras)


class RNN(_RNNBase):
    """h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh) (or relu) over a sequence.
    Returns (output, h_n): output (L, N, D·H) holds the last layer's h_t, h_n
    (D·num_layers, N, H) every layer's last state."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype,
            generator,
        )


class LSTM(_RNNBase):
    """The LSTM over a sequence (see :class:`LSTMCell` for one step). Returns
    (output, (h_n, c_n)); ``hx`` is (h_0, c_0), each (D·num_layers, N, H)."""

    mode = "LSTM"


class GRU(_RNNBase):
    """The GRU over a sequence (see :class:`GRUCell` for one step). Returns (output, h_n)."""

    mode = "GRU"
