"""safetensors files: gradgate's weights load into the PyTorch twin of the model and back,
arrays of any memory layout survive, and a missing package is named in one line."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import gradgate as gg
from gradgate import nn, optim

safetensors = pytest.importorskip("safetensors")
st_numpy = pytest.importorskip("safetensors.numpy")

rng = np.random.default_rng(12)


def mlp(m, dtype):
    options = {"dtype": dtype} if m is nn else {}  # the torch twin is made double() after
    return m.Sequential(m.Linear(6, 8, **options), m.Tanh(), m.Linear(8, 3, **options))


def cnn(m, dtype):
    return m.Sequential(m.Conv2d(1, 4, 3, padding=1), m.ReLU(), m.Flatten(), m.Linear(4 * 8 * 8, 3))


def lstm(m, dtype):
    return m.LSTM(5, 7, batch_first=True)


# name: (builder, input shape, the gradgate.nn class it needs)
MODELS = {
    "mlp": (mlp, (4, 6), None),
    "cnn": (cnn, (4, 1, 8, 8), "Conv2d"),
    "lstm": (lstm, (4, 6, 5), "LSTM"),
}
DTYPES = {"float32": (np.float32, 1e-5), "float64": (np.float64, 1e-10)}


def first(output):
    return output[0] if isinstance(output, tuple) else output  # an LSTM's (out, (h, c))


def gradgate_model(name, dtype):
    build, _, needs = MODELS[name]
    if needs is not None and not hasattr(nn, needs):
        pytest.skip(f"gradgate.nn.{needs} does not exist yet")
    model = build(nn, dtype)
    if any(p.dtype != dtype for p in model.parameters()):
        if not hasattr(model, "double"):
            pytest.skip("gradgate.nn.Module.double does not exist yet")
        model = model.double()
    return model


def torch_model(torch, name, dtype):
    model = MODELS[name][0](torch.nn, dtype)
    return model.double() if dtype == np.float64 else model


def train_gradgate(model, x, steps=3):
    opt = optim.Adam(model.parameters(), lr=0.05)
    for _ in range(steps):
        out = first(model(x))
        opt.zero_grad()
        gg.mean(out * out).backward()
        opt.step()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", MODELS)
def test_gradgate_weights_load_into_the_torch_twin(name, dtype, tmp_path):
    torch = pytest.importorskip("torch")
    import safetensors.torch

    np_dtype, tolerance = DTYPES[dtype]
    model = gradgate_model(name, np_dtype)
    x = rng.standard_normal(MODELS[name][1]).astype(np_dtype)
    train_gradgate(model, gg.tensor(x))
    gg.save_safetensors(model, tmp_path / "model.safetensors")

    twin = torch_model(torch, name, np_dtype)
    state = safetensors.torch.load_file(str(tmp_path / "model.safetensors"))
    assert sorted(state) == sorted(twin.state_dict())
    twin.load_state_dict(state)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(twin.state_dict()[key].numpy(), value.numpy())
    with torch.no_grad():
        theirs = first(twin(torch.tensor(x))).numpy()
    with gg.no_grad():
        ours = first(model(gg.tensor(x))).numpy()
    assert ours.dtype == np_dtype
    np.testing.assert_allclose(ours, theirs, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", MODELS)
def test_torch_weights_load_into_the_gradgate_model(name, dtype, tmp_path):
    torch = pytest.importorskip("torch")
    import safetensors.torch

    np_dtype, tolerance = DTYPES[dtype]
    model = gradgate_model(name, np_dtype)
    twin = torch_model(torch, name, np_dtype)
    x = rng.standard_normal(MODELS[name][1]).astype(np_dtype)
    opt = torch.optim.Adam(twin.parameters(), lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        (first(twin(torch.tensor(x))) ** 2).mean().backward()
        opt.step()
    safetensors.torch.save_file(twin.state_dict(), str(tmp_path / "twin.safetensors"))

    loaded = gg.load_safetensors(tmp_path / "twin.safetensors")
    assert all(isinstance(v, gg.Tensor) and not v.requires_grad for v in loaded.values())
    model.load_state_dict(loaded)
    with torch.no_grad():
        theirs = first(twin(torch.tensor(x))).numpy()
    with gg.no_grad():
        ours = first(model(gg.tensor(x))).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=tolerance, atol=tolerance)


def test_round_trip_keeps_names_dtypes_values_and_metadata(tmp_path):
    state = {
        "weight": gg.tensor(rng.standard_normal((3, 4)).astype(np.float32)),
        "double": rng.standard_normal(5),
        "half": np.arange(6, dtype=np.float16).reshape(2, 3),
        "count": np.array([1, -2, 3], dtype=np.int64),
        "mask": np.array([True, False]),
        "scalar": np.float64(2.5),
    }
    path = tmp_path / "state.safetensors"
    gg.save_safetensors(state, path, metadata={"format": "pt", "epochs": 3})
    loaded = gg.load_safetensors(path)
    assert sorted(loaded) == sorted(state)
    for key, value in state.items():
        expected = np.asarray(value.numpy() if isinstance(value, gg.Tensor) else value)
        assert loaded[key].dtype == expected.dtype, key
        np.testing.assert_array_equal(loaded[key].numpy(), expected)
    with safetensors.safe_open(str(path), "np") as f:
        assert f.metadata() == {"format": "pt", "epochs": "3"}


def test_transposed_fortran_strided_and_big_endian_arrays_keep_their_values(tmp_path):
    base = rng.standard_normal((6, 5))
    state = {
        "fortran": np.asfortranarray(base),
        "transposed": base.T,
        "strided": base[::2, 1::2],
        "big_endian": base.astype(">f8"),
        "tensor_of_a_view": gg.tensor(base).T,
    }
    path = tmp_path / "layouts.safetensors"
    gg.save_safetensors(state, path)
    loaded = gg.load_safetensors(path)
    for key, value in state.items():
        expected = value.numpy() if isinstance(value, gg.Tensor) else value
        np.testing.assert_array_equal(loaded[key].numpy(), expected, err_msg=key)
        assert loaded[key].shape == expected.shape


def test_a_module_is_saved_by_its_state_dict(tmp_path):
    model = nn.MLP([4, 3, 2], generator=np.random.default_rng(0))
    gg.save_safetensors(model, tmp_path / "mlp.safetensors")
    raw = st_numpy.load_file(str(tmp_path / "mlp.safetensors"))
    assert sorted(raw) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    other = nn.MLP([4, 3, 2], generator=np.random.default_rng(1))
    other.load_state_dict(gg.load_safetensors(tmp_path / "mlp.safetensors"))
    for p, q in zip(model.parameters(), other.parameters(), strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


@pytest.mark.parametrize(
    "state, match",
    [
        ({1: np.zeros(2)}, "names must be str"),
        ({"x": "text"}, "is a str, not a Tensor or an array"),
        ({"x": np.zeros(2, dtype=complex)}, "has dtype complex128"),
        ([np.zeros(2)], "expected a Module or a dict of Tensors"),
    ],
)
def test_what_cannot_be_saved_is_refused_and_an_earlier_file_survives(state, match, tmp_path):
    path = tmp_path / "keep.safetensors"
    gg.save_safetensors({"a": np.ones(3)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=match):
        gg.save_safetensors(state, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.safetensors"]


def test_a_missing_safetensors_package_is_named_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(
        ImportError,
        match=r"^save_safetensors needs the safetensors package: "
        r"pip install safetensors",
    ) as error:
        gg.save_safetensors({"a": np.ones(2)}, tmp_path / "a.safetensors")
    assert "\n" not in str(error.value) and error.value.__cause__ is None
    with pytest.raises(ImportError, match="load_safetensors needs the safetensors package"):
        gg.load_safetensors(tmp_path / "a.safetensors")
