"""Convolution and pooling layers against their PyTorch twins, with copied weights: outputs,
input gradients and parameter gradients, float32 to 1e-5 and float64 to 1e-10."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradgate as gg
from gradgate import nn

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note

TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _torch_twin(ours, theirs, dtype):
    """theirs with our parameters copied in (by PyTorch's own names), in ``dtype``."""
    theirs = theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
    ours_state = {k: v.numpy() for k, v in ours.state_dict().items()}
    assert sorted(ours_state) == sorted(theirs.state_dict())
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours_state.items()})
    return theirs


def compare(ours, theirs, shape, dtype, seed=0):
    """Forward and backward of both on one input and one upstream gradient."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    theirs = _torch_twin(ours, theirs, dtype)
    xg = gg.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    y, yt = ours(xg), theirs(xt)
    tol = TOLERANCE[dtype]
    assert y.dtype == dtype
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), **tol)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), **tol)
    for (name, p), (name_t, pt) in zip(
        ours.named_parameters(), theirs.named_parameters(), strict=True
    ):
        assert name == name_t
        np.testing.assert_allclose(p.grad.numpy(), pt.grad.numpy(), err_msg=name, **tol)


def layer(cls, *args, dtype=np.float64, **kwargs):
    return cls(*args, **kwargs, dtype=dtype, generator=np.random.default_rng(1))


CONV_CASES = [  # (ours, theirs, input shape)
    ("Conv1d", (3, 4, 3), {}, (2, 3, 11)),
    ("Conv1d", (4, 6, 2), {"stride": 3, "padding": 2, "dilation": 2, "groups": 2}, (2, 4, 13)),
    ("Conv1d", (2, 3, 4), {"padding": "same", "bias": False}, (3, 2, 9)),  # even kernel
    ("Conv2d", (3, 5, 3), {}, (2, 3, 7, 9)),  # odd shapes
    ("Conv2d", (4, 6, (3, 2)), {"stride": (2, 1), "padding": (1, 2), "groups": 2}, (2, 4, 9, 7)),
    ("Conv2d", (2, 4, 3), {"dilation": (2, 3), "padding": 2}, (1, 2, 10, 11)),
    ("Conv2d", (3, 2, (2, 4)), {"padding": "same", "dilation": (1, 2)}, (2, 3, 7, 8)),
    ("Conv2d", (2, 3, 2), {"stride": 3}, (2, 2, 8, 10)),  # stride > kernel
    ("Conv2d", (4, 4, 3), {"groups": 4, "padding": "valid"}, (1, 4, 6, 6)),  # depthwise
    ("Conv2d", (3, 4, 3), {"padding": 1, "padding_mode": "reflect"}, (2, 3, 7, 6)),
    (
        "Conv2d",
        (3, 4, 3),
        {"padding": (2, 1), "stride": 2, "padding_mode": "replicate"},
        (2, 3, 7, 6),
    ),
    (
        "Conv2d",
        (2, 4, (2, 3)),
        {"padding": "same", "dilation": 2, "padding_mode": "circular"},
        (2, 2, 7, 8),
    ),
    ("Conv1d", (3, 2, 3), {"padding": 2, "padding_mode": "reflect"}, (2, 3, 9)),
    ("Conv1d", (3, 2, 4), {"padding": "same", "padding_mode": "circular"}, (2, 3, 9)),
    ("ConvTranspose2d", (3, 4, 3), {}, (2, 3, 4, 5)),
    (
        "ConvTranspose2d",
        (4, 6, (3, 2)),
        {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2},
        (2, 4, 5, 4),
    ),
    (
        "ConvTranspose2d",
        (2, 3, 3),
        {
            "stride": (2, 3),
            "dilation": 2,
            "padding": (2, 1),
            "output_padding": (1, 0),
            "bias": False,
        },
        (1, 2, 4, 3),
    ),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, args, kwargs, shape", CONV_CASES)
def test_convolution_layers_match_torch(name, args, kwargs, shape, dtype):
    ours = layer(getattr(nn, name), *args, dtype=dtype, **kwargs)
    compare(ours, getattr(torch.nn, name)(*args, **kwargs), shape, dtype)


POOL_CASES = [
    ("MaxPool1d", (3,), {}, (2, 3, 10)),
    ("MaxPool1d", (4,), {"stride": 2, "padding": 2, "dilation": 2}, (2, 2, 13)),
    ("MaxPool2d", (2,), {}, (2, 3, 8, 7)),
    ("MaxPool2d", ((3, 2),), {"stride": (2, 1), "padding": 1}, (2, 2, 7, 6)),
    ("MaxPool2d", (2,), {"stride": 3}, (1, 2, 9, 8)),  # stride > kernel
    ("AvgPool1d", (3,), {"stride": 2, "padding": 1}, (2, 3, 10)),
    ("AvgPool2d", (2,), {}, (2, 3, 8, 7)),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, (2, 2, 7, 9)),
    ("MaxPool2d", (2,), {"ceil_mode": True}, (2, 3, 7, 5)),  # a last, partial window
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, (2, 2, 8, 6)),
    ("MaxPool1d", (3,), {"stride": 2, "ceil_mode": True}, (2, 2, 10)),
    ("AvgPool2d", (2,), {"ceil_mode": True}, (2, 3, 7, 5)),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, (2, 2, 8, 6)),
    (
        "AvgPool2d",
        (3,),
        {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
        (2, 2, 8, 6),
    ),
    ("AvgPool1d", (3,), {"stride": 2, "ceil_mode": True}, (2, 2, 10)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 5, 7)),
    ("AdaptiveAvgPool2d", ((3, 2),), {}, (2, 2, 7, 5)),
    ("AdaptiveAvgPool2d", ((None, 3),), {}, (1, 2, 4, 8)),
    ("Flatten", (), {}, (2, 3, 4, 5)),
    ("Flatten", (0, 2), {}, (2, 3, 4, 5)),
    ("Unflatten", (1, (2, 6)), {}, (3, 12, 5)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, args, kwargs, shape", POOL_CASES)
def test_pooling_and_reshaping_layers_match_torch(name, args, kwargs, shape, dtype):
    ours = getattr(nn, name)(*args, **kwargs)
    compare(ours, getattr(torch.nn, name)(*args, **kwargs), shape, dtype)


def test_max_pool_sends_each_gradient_to_the_first_maximum_as_torch():
    x = np.array([[[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 1.0, 3.0]]]])  # ties in every window
    xg, xt = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    gg.max_pool2d(xg, 2, 1).sum().backward()
    torch.nn.functional.max_pool2d(xt, 2, 1).sum().backward()
    np.testing.assert_array_equal(xg.grad.numpy(), xt.grad.numpy())
    y, index = gg.max_pool2d(gg.tensor(x), 2, return_indices=True)
    _, index_t = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(index.numpy(), index_t.numpy())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 3, "stride": 1, "padding": 1},
        {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1), "dilation": (2, 1)},
        {"kernel_size": 2},
    ],
)
def test_max_pool_of_inf_and_nan_windows_picks_what_torch_picks(kwargs):
    """A window wholly −∞ names its first element inside x (not the padding); a NaN wins,
    the last of a window's NaNs; ties go to the first maximum."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 7)).round(0)  # many ties
    x[0, 0, :3, :3] = -np.inf
    x[1, 2, :, :4] = -np.inf
    x[0, 1, 2, 2] = x[0, 1, 2, 4] = x[1, 0, 5, 6] = np.nan
    xg, xt = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, index = gg.max_pool2d(xg, return_indices=True, **kwargs)
    yt, index_t = torch.nn.functional.max_pool2d(xt, return_indices=True, **kwargs)
    np.testing.assert_array_equal(y.numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(index.numpy(), index_t.numpy())
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_unbatched_inputs_as_in_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 7))
    conv = layer(nn.Conv2d, 3, 2, 3, padding=1)
    twin = _torch_twin(conv, torch.nn.Conv2d(3, 2, 3, padding=1), np.float64)
    np.testing.assert_allclose(
        conv(gg.tensor(x)).numpy(), twin(torch.tensor(x)).detach().numpy(), rtol=1e-10
    )
    np.testing.assert_allclose(
        gg.max_pool1d(gg.tensor(x[0]), 2).numpy(),
        torch.nn.functional.max_pool1d(torch.tensor(x[0]), 2).numpy(),
    )


def test_digits_cnn_matches_its_torch_twin_and_has_its_state_dict_names():
    ours = nn.digits_cnn(dtype=np.float64, generator=np.random.default_rng(0)).eval()
    theirs = torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 8, 8)),
        torch.nn.Conv2d(1, 32, 3, padding="same"),
        torch.nn.ReLU(),
        torch.nn.Conv2d(32, 64, 3, padding="same"),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(1024, 128),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.25),
        torch.nn.Linear(128, 10),
    ).eval()
    compare(ours, theirs, (5, 64), np.float64)


def test_default_init_is_pytorchs_range_and_seeded():
    conv = nn.Conv2d(6, 8, (3, 2), groups=2, generator=np.random.default_rng(4))
    fan_in = 3 * 3 * 2  # in/groups · kernel
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=√5) = U(±1/√fan_in)
    w = conv.weight.numpy()
    assert w.shape == (8, 3, 3, 2) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(conv.bias.numpy()).max() <= bound
    again = nn.Conv2d(6, 8, (3, 2), groups=2, generator=np.random.default_rng(4))
    np.testing.assert_array_equal(w, again.weight.numpy())
    up = nn.ConvTranspose2d(4, 6, 3, groups=2)
    assert up.weight.shape == (4, 3, 3, 3)
    assert np.abs(up.weight.numpy()).max() <= 1 / math.sqrt(3 * 9)


def test_second_derivatives_of_a_conv_pool_network():
    rng = np.random.default_rng(2)
    x = gg.tensor(rng.standard_normal((1, 2, 6, 5)), requires_grad=True)
    W = gg.tensor(rng.standard_normal((3, 2, 3, 3)) * 0.5, requires_grad=True)
    b = gg.tensor(rng.standard_normal(3), requires_grad=True)

    def f(x, W, b):
        return gg.avg_pool2d(gg.tanh(gg.conv2d(x, W, b, stride=(1, 2), padding=1)), 2)

    assert gg.check.gradgradcheck(f, [x, W, b])


def test_a_third_derivative_is_again_a_convolution():
    """d³/dx³ of Σ conv(x, W)³ in direction v agrees with torch (Conv → ConvTranspose →
    Conv ... all the way up)."""
    rng = np.random.default_rng(3)
    x, W = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((2, 2, 2, 2))
    xg, xt = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    Wt = torch.tensor(W)
    (g,) = gg.grad(gg.sum(gg.conv2d(xg, W, stride=2) ** 3.0), xg, create_graph=True)
    (h,) = gg.grad(gg.sum(g * g), xg, create_graph=True)
    (k,) = gg.grad(gg.sum(h), xg)
    (gt,) = torch.autograd.grad(
        torch.nn.functional.conv2d(xt, Wt, stride=2).pow(3).sum(), xt, create_graph=True
    )
    (ht,) = torch.autograd.grad((gt * gt).sum(), xt, create_graph=True)
    (kt,) = torch.autograd.grad(ht.sum(), xt)
    np.testing.assert_allclose(k.numpy(), kt.numpy(), rtol=1e-10, atol=1e-12)


# --- errors name the operation and the shapes -------------------------------------------


def test_channels_not_divisible_by_groups():
    with pytest.raises(
        ValueError,
        match="Conv2d: in_channels 3 and out_channels 4 must both be divisible by groups 2",
    ):
        nn.Conv2d(3, 4, 3, groups=2)
    x, W = gg.randn(1, 6, 5, 5), gg.randn(4, 2, 3, 3)
    with pytest.raises(
        ValueError,
        match=r"Conv: input of shape \(1, 6, 5, 5\) has 6 channels; "
        r"a weight of shape \(4, 2, 3, 3\) with groups=2",
    ):
        gg.conv2d(x, W, groups=2)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: gg.conv2d(gg.randn(3, 5), gg.randn(4, 3, 3, 3)),
            r"conv2d: needs an input \(N, C, H, W\) or \(C, H, W\), got shape \(3, 5\)",
        ),
        (
            lambda: gg.conv2d(gg.randn(1, 3, 2, 2), gg.randn(4, 3, 3, 3)),
            r"Conv: the kernel \(3, 3\) \(dilation \(1, 1\)\) is larger than the padded "
            r"input \(2, 2\)",
        ),
        (
            lambda: gg.conv2d(gg.randn(1, 3, 5, 5), gg.randn(4, 3, 3, 3), stride=2, padding="same"),
            "Conv: padding='same' needs stride 1",
        ),
        (
            lambda: gg.conv2d(gg.randn(1, 3, 5, 5), gg.randn(4, 3, 3, 3), gg.randn(3)),
            r"conv: bias of shape \(3,\) does not fit 4 output channels",
        ),
        (
            lambda: gg.conv_transpose2d(
                gg.randn(1, 3, 4, 4), gg.randn(3, 2, 3, 3), stride=2, output_padding=2
            ),
            "ConvTranspose: output_padding",
        ),
        (
            lambda: gg.max_pool2d(gg.randn(1, 1, 4, 4), 2, padding=2),
            r"MaxPool: padding \(2, 2\) must be at least 0 and at most half the kernel",
        ),
        (
            lambda: nn.Conv2d(2, 3, 3, padding_mode="mirror"),
            "Conv2d: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', "
            "got 'mirror'",
        ),
        (
            lambda: nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect"),
            r"ConvTranspose2d: only padding_mode='zeros' is supported \(as in PyTorch\)",
        ),
        (
            lambda: gg.adaptive_avg_pool2d(gg.randn(1, 1, 4, 4), 0),
            "AdaptiveAvgPool: output_size must be positive ints",
        ),
        (
            lambda: nn.Unflatten(1, (3, 5))(gg.randn(2, 12)),
            r"Unflatten: axis 1 of length 12 cannot be split into \(3, 5\)",
        ),
    ],
)
def test_bad_arguments_are_refused_with_the_operation_and_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("name", ["Conv", "ConvTranspose", "ConvWeightGrad"])
def test_the_convolutions_give_the_same_numbers_a_few_images_at_a_time(monkeypatch, name):
    """The im2col matrices are built for as many images as fit in CHUNK_BYTES, and a
    transpose with short rows puts the batch innermost (SHORT_ROW): one image at a time
    (the forward's matrix then not kept), and in either layout, the forward and both
    gradients agree with the whole batch at once, every sample of the gate (strides,
    groups, dilation)."""
    from gradgate.gates import REGISTRY, Draw
    from gradgate.gates import conv as K

    cls = REGISTRY[name]
    for case in cls.samples(Draw(np.random.default_rng(5))):
        gate = case.gate(cls)
        x, second = case.inputs
        x = np.concatenate([x, x[::-1] * 0.5])  # a batch of at least 2
        if name == "ConvWeightGrad":  # the second input is a batch too: the output gradient
            second = np.concatenate([second, second[::-1] * 0.5])
        inputs = [x, second]
        results = []
        for chunk, short_row in ((K.CHUNK_BYTES, K.SHORT_ROW), (1, 0), (1, 10**6)):
            monkeypatch.setattr(K, "CHUNK_BYTES", chunk)
            monkeypatch.setattr(K, "SHORT_ROW", short_row)
            tensors = [gg.tensor(a, requires_grad=True) for a in inputs]
            out = gg.apply(gate, *tensors)
            g = np.random.default_rng(1).standard_normal(out.shape)
            out.backward(g)
            results.append([out.numpy()] + [t.grad.numpy() for t in tensors])
        for whole, *others in zip(*results, strict=True):
            for other in others:
                np.testing.assert_allclose(other, whole, rtol=1e-12, atol=1e-12)
