"""Recurrent layers, cells, attention and the Transformer encoder layer against their
PyTorch twins (weights copied through the state dict)."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
from gradgate import nn

from .twins import compare, torch

DTYPES = [np.float32, np.float64]
rng = np.random.default_rng(1)

RECURRENT = {
    "RNN": (nn.RNN, torch.nn.RNN),
    "LSTM": (nn.LSTM, torch.nn.LSTM),
    "GRU": (nn.GRU, torch.nn.GRU),
}
SETTINGS = [
    {},
    {"num_layers": 2},
    {"bidirectional": True},
    {"batch_first": True},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"bias": False},
]


def _state(kind, layers, directions, batch, hidden):
    shape = (layers * directions,) + ((batch,) if batch else ()) + (hidden,)
    h = rng.standard_normal(shape) * 0.5
    return (h, rng.standard_normal(shape) * 0.5) if kind == "LSTM" else h


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("settings", SETTINGS, ids=str)
@pytest.mark.parametrize("kind", sorted(RECURRENT))
@pytest.mark.parametrize("initial", [False, True])
def test_recurrent_layers(dtype, settings, kind, initial):
    ours_cls, theirs_cls = RECURRENT[kind]
    ours, theirs = ours_cls(3, 4, **settings), theirs_cls(3, 4, **settings)
    L, N = 5, 2
    shape = (N, L, 3) if settings.get("batch_first") else (L, N, 3)
    x = rng.standard_normal(shape)
    directions = 2 if settings.get("bidirectional") else 1
    if not initial:
        compare(ours, theirs, [x], dtype)
        return
    state = _state(kind, settings.get("num_layers", 1), directions, N, 4)
    if kind == "LSTM":
        compare(ours, theirs, [x, *state], dtype, call=lambda m, x, h, c: m(x, (h, c)))
    else:
        compare(ours, theirs, [x, state], dtype)


@pytest.mark.parametrize("kind", sorted(RECURRENT))
def test_recurrent_layers_take_an_unbatched_sequence(kind):
    ours_cls, theirs_cls = RECURRENT[kind]
    ours = ours_cls(3, 4, num_layers=2, bidirectional=True)
    theirs = theirs_cls(3, 4, num_layers=2, bidirectional=True)
    compare(ours, theirs, [rng.standard_normal((6, 3))], np.float64)


def test_relu_rnn():
    ours, theirs = nn.RNN(3, 4, nonlinearity="relu"), torch.nn.RNN(3, 4, nonlinearity="relu")
    compare(ours, theirs, [rng.standard_normal((4, 2, 3))], np.float64)


CELLS = {
    "RNNCell": (nn.RNNCell, torch.nn.RNNCell),
    "GRUCell": (nn.GRUCell, torch.nn.GRUCell),
    "LSTMCell": (nn.LSTMCell, torch.nn.LSTMCell),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("batched", [True, False])
def test_cells(dtype, kind, batched):
    ours, theirs = CELLS[kind][0](3, 5), CELLS[kind][1](3, 5)
    x = rng.standard_normal((4, 3) if batched else (3,))
    h = rng.standard_normal((4, 5) if batched else (5,))
    if kind == "LSTMCell":
        c = rng.standard_normal(h.shape)
        compare(ours, theirs, [x, h, c], dtype, call=lambda m, x, h, c: m(x, (h, c)))
        compare(ours, theirs, [x], dtype)  # zero state
    else:
        compare(ours, theirs, [x, h], dtype)
        compare(ours, theirs, [x], dtype)


def test_lstm_state_dict_names_and_a_torch_state_dict_loads():
    theirs = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    ours = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for name, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[name].numpy(), value.numpy())


def test_recurrent_layers_refuse_bad_shapes():
    with pytest.raises(ValueError, match="LSTM: expected input"):
        nn.LSTM(3, 4)(np.zeros((2, 2, 5), np.float32))
    with pytest.raises(ValueError, match="expected h_0 of shape"):
        nn.GRU(3, 4)(np.zeros((2, 2, 3), np.float32), np.zeros((1, 3, 4), np.float32))


def test_lstm_layer_dropout_between_layers_is_seeded_and_off_in_eval():
    m = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    gg.manual_seed(3)
    a = m(x)[0].numpy()
    gg.manual_seed(3)
    b = m(x)[0].numpy()
    np.testing.assert_array_equal(a, b)
    m.eval()
    c = m(x)[0].numpy()
    twin = torch.nn.LSTM(3, 4, num_layers=2, dropout=0.5).eval()
    twin.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    np.testing.assert_allclose(c, twin(torch.tensor(x))[0].detach().numpy(), atol=1e-6)
    assert not np.allclose(a, c)


# --- attention ---------------------------------------------------------------------------


def _mha_call(**kwargs):
    def call(m, q, k, v, *masks):
        named = dict(zip(kwargs.get("mask_names", ()), masks, strict=True))
        options = {k: v for k, v in kwargs.items() if k != "mask_names"}
        return m(q, k, v, **named, **options)

    return call


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("average", [True, False])
def test_multihead_attention(dtype, batch_first, average):
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    with torch.no_grad():
        theirs.in_proj_bias.normal_()
        theirs.out_proj.bias.normal_()
    q, k, v = (rng.standard_normal((3, 4, 8) if not batch_first else (4, 3, 8)) for _ in "qkv")
    k = k[:, :, :] if batch_first else k
    compare(ours, theirs, [q, k, v], dtype, call=_mha_call(average_attn_weights=average))


@pytest.mark.parametrize("dtype", DTYPES)
def test_multihead_attention_masks(dtype):
    ours, theirs = nn.MultiheadAttention(6, 3), torch.nn.MultiheadAttention(6, 3)
    L, S, N = 4, 5, 2
    q = rng.standard_normal((L, N, 6))
    kv = rng.standard_normal((S, N, 6))
    bool_mask = rng.random((L, S)) < 0.3
    bool_mask[:, 0] = False  # every query sees at least one key
    padding = np.array([[False, False, True, False, True], [False, True, False, False, False]])
    float_mask = rng.standard_normal((N * 3, L, S))
    for masks, names in [
        ((bool_mask,), ("attn_mask",)),
        ((padding,), ("key_padding_mask",)),
        ((bool_mask, padding), ("attn_mask", "key_padding_mask")),
        ((float_mask,), ("attn_mask",)),
    ]:
        compare(
            ours,
            theirs,
            [q, kv, kv, *masks],
            dtype,
            differentiate={0, 1, 2},
            call=_mha_call(mask_names=names),
        )


def test_multihead_attention_unbatched_and_state_dict_names():
    ours, theirs = nn.MultiheadAttention(4, 2), torch.nn.MultiheadAttention(4, 2)
    assert list(ours.state_dict()) == [
        "in_proj_weight",
        "in_proj_bias",
        "out_proj.weight",
        "out_proj.bias",
    ]
    x = rng.standard_normal((3, 4))
    compare(ours, theirs, [x, x, x], np.float64, call=_mha_call())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_encoder_layer(dtype, norm_first, activation, batch_first):
    options = dict(
        dim_feedforward=16,
        dropout=0.0,
        activation=activation,
        norm_first=norm_first,
        batch_first=batch_first,
    )
    ours = nn.TransformerEncoderLayer(8, 2, **options)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, **options)
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(0.1 * torch.randn_like(p))
    x = rng.standard_normal((5, 3, 8))
    L = x.shape[1] if batch_first else x.shape[0]
    causal = np.triu(np.ones((L, L), dtype=bool), 1)  # True: left out
    compare(ours, theirs, [x], dtype)
    compare(ours, theirs, [x, causal], dtype, call=lambda m, x, mask: m(x, src_mask=mask))


def test_transformer_encoder_stack_names_and_output():
    layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    theirs = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 2)
    compare(ours, theirs, [rng.standard_normal((4, 2, 8))], np.float64)


@pytest.mark.parametrize("causal", [False, True])
def test_scaled_dot_product_attention_function(causal):
    import gradgate.nn.functional as F

    q, k, v = (rng.standard_normal((2, 3, 4, 5)) for _ in "qkv")
    mask = rng.random((4, 4)) > 0.3
    mask[:, 0] = True
    xs = [gg.tensor(a, requires_grad=True) for a in (q, k, v)]
    ts = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    kwargs = {"is_causal": True} if causal else {"attn_mask": mask}
    tkwargs = {"is_causal": True} if causal else {"attn_mask": torch.tensor(mask)}
    out = F.scaled_dot_product_attention(*xs, **kwargs)
    tout = torch.nn.functional.scaled_dot_product_attention(*ts, **tkwargs)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    for x, t in zip(xs, ts, strict=True):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
