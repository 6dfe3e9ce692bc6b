"""Normalisation, embedding, activation and loss modules against their PyTorch twins."""

from __future__ import annotations

import numpy as np
import pytest

from gradgate import nn

from .twins import compare, torch

DTYPES = [np.float32, np.float64]
rng = np.random.default_rng(0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
@pytest.mark.parametrize(
    "options",
    [{}, {"momentum": None}, {"affine": False}, {"track_running_stats": False}, {"momentum": 0.3}],
)
def test_batch_norm_1d_trains_and_evaluates_as_torch(dtype, shape, options):
    ours, theirs = nn.BatchNorm1d(3, **options), torch.nn.BatchNorm1d(3, **options)
    with torch.no_grad():
        if theirs.affine:
            theirs.weight.uniform_(0.5, 1.5)
            theirs.bias.uniform_(-0.5, 0.5)
    x = rng.standard_normal(shape) * 2 + 1
    compare(ours, theirs, [x], dtype, steps=3)  # running statistics after three batches
    ours.eval()
    theirs.eval()
    compare(ours, theirs, [rng.standard_normal(shape)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_2d(dtype):
    ours, theirs = nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    compare(ours, theirs, [rng.standard_normal((3, 4, 5, 2))], dtype, steps=2)
    assert int(ours.num_batches_tracked.item()) == 2
    ours.eval()
    theirs.eval()
    compare(ours, theirs, [rng.standard_normal((2, 4, 3, 3))], dtype)


def test_batch_norm_refuses_a_wrong_input_and_one_value_per_channel():
    with pytest.raises(ValueError, match="BatchNorm2d: expected an input of 4 dimensions"):
        nn.BatchNorm2d(3)(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(np.zeros((1, 3)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, normalized", [((4, 5), 5), ((2, 3, 4), (3, 4))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(dtype, shape, normalized, affine):
    ours = nn.LayerNorm(normalized, elementwise_affine=affine)
    theirs = torch.nn.LayerNorm(normalized, elementwise_affine=affine)
    if affine:
        with torch.no_grad():
            theirs.weight.normal_()
            theirs.bias.normal_()
    compare(ours, theirs, [rng.standard_normal(shape)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, groups", [((3, 4), 2), ((2, 6, 5), 3), ((2, 4, 3, 3), 4)])
def test_group_norm(dtype, shape, groups):
    ours, theirs = nn.GroupNorm(groups, shape[1]), torch.nn.GroupNorm(groups, shape[1])
    with torch.no_grad():
        theirs.weight.normal_()
        theirs.bias.normal_()
    compare(ours, theirs, [rng.standard_normal(shape)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding(dtype, padding_idx):
    ours = nn.Embedding(6, 3, padding_idx=padding_idx)
    theirs = torch.nn.Embedding(6, 3, padding_idx=padding_idx)
    y = np.array([[0, 2, 5, 2], [1, 5, 5, 3]])
    compare(ours, theirs, [y], dtype)
    if padding_idx is not None:
        assert not np.any(ours.weight.grad.numpy()[padding_idx])


ACTIVATIONS = [
    (lambda: nn.GELU(), lambda: torch.nn.GELU()),
    (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    (lambda: nn.SiLU(), lambda: torch.nn.SiLU()),
    (lambda: nn.ELU(0.7), lambda: torch.nn.ELU(0.7)),
    (lambda: nn.SELU(), lambda: torch.nn.SELU()),
    (lambda: nn.Softsign(), lambda: torch.nn.Softsign()),
    (lambda: nn.Hardtanh(-0.5, 2.0), lambda: torch.nn.Hardtanh(-0.5, 2.0)),
    (lambda: nn.LogSigmoid(), lambda: torch.nn.LogSigmoid()),
    (lambda: nn.LogSoftmax(dim=1), lambda: torch.nn.LogSoftmax(dim=1)),
    (lambda: nn.Identity(), lambda: torch.nn.Identity()),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make", ACTIVATIONS, ids=lambda m: type(m[0]()).__name__)
def test_activation_modules(dtype, make):
    x = rng.standard_normal((4, 6)) * 3
    x[np.abs(x - 2.0) < 0.05] += 0.1  # keep away from hardtanh's bounds
    x[np.abs(x + 0.5) < 0.05] += 0.1
    compare(make[0](), make[1](), [x], dtype)


def test_log_sigmoid_is_finite_far_in_both_tails():
    x = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    out = nn.LogSigmoid()(x).numpy()
    np.testing.assert_allclose(out, torch.nn.functional.logsigmoid(torch.tensor(x)).numpy())
    assert np.isfinite(out).all()


LOSSES = [
    {},
    {"weight": [0.2, 1.0, 2.0, 0.5]},
    {"ignore_index": 1},
    {"label_smoothing": 0.15},
    {"weight": [0.2, 1.0, 2.0, 0.5], "ignore_index": 3, "label_smoothing": 0.1},
    {"reduction": "sum", "label_smoothing": 0.2},
    {"reduction": "none", "ignore_index": 0},
]


def _torch_options(options):
    return {k: torch.tensor(v) if k == "weight" else v for k, v in options.items()}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", LOSSES, ids=str)
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 2)])
def test_cross_entropy_loss_with_labels(dtype, options, shape):
    x = rng.standard_normal(shape)
    y = rng.integers(0, 4, shape[:1] + shape[2:])
    if "weight" in options:
        options = dict(options, weight=np.array(options["weight"], dtype=dtype))
    compare(
        nn.CrossEntropyLoss(**options),
        torch.nn.CrossEntropyLoss(**_torch_options(options)),
        [x, y],
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options",
    [{}, {"weight": [0.2, 1.0, 2.0, 0.5]}, {"label_smoothing": 0.3}, {"reduction": "none"}],
    ids=str,
)
def test_cross_entropy_loss_with_probabilities(dtype, options):
    x = rng.standard_normal((5, 4))
    t = rng.random((5, 4))
    t /= t.sum(axis=1, keepdims=True)
    if "weight" in options:
        options = dict(options, weight=np.array(options["weight"], dtype=dtype))
    compare(
        nn.CrossEntropyLoss(**options),
        torch.nn.CrossEntropyLoss(**_torch_options(options)),
        [x, t],
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options", [{}, {"weight": [0.5, 1.0, 2.0]}, {"ignore_index": 2}, {"reduction": "sum"}], ids=str
)
def test_nll_loss(dtype, options):
    logp = np.log(rng.dirichlet(np.ones(3), 7))
    y = rng.integers(0, 3, 7)
    if "weight" in options:
        options = dict(options, weight=np.array(options["weight"], dtype=dtype))
    compare(nn.NLLLoss(**options), torch.nn.NLLLoss(**_torch_options(options)), [logp, y], dtype)


def test_cross_entropy_keeps_the_fused_gate_for_plain_labels():
    import gradgate as gg

    x = gg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    loss = gg.cross_entropy(x, np.array([0, 3, 1]), reduction="none")
    assert loss.gate.name == "CrossEntropy"


def test_every_label_ignored_gives_nan_and_a_zero_gradient_as_torch():
    import gradgate as gg

    x = gg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    loss = gg.cross_entropy(x, np.array([-100, -100]))
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))
