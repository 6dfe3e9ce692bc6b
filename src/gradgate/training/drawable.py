"""Networks to draw or explore, built from what a user names: a checkpoint's weights, or a
tensor that a script leaves behind."""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import functional as F
from .. import io
from ..nn import ACTIVATIONS
from ..tensor import Tensor
from .checkpoint import CHECKPOINT_FORMAT
from .config import LOSSES, InputError
from .inference import load_trained
from .setup import loss_module


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def checkpoint_network(path: str, seed: int = 0) -> tuple[Tensor, dict[str, Tensor]]:
    """A network built from a checkpoint's weight matrices, ending in its loss.

    The first chain of 2-D arrays (each W_k of shape (out, in) with in = the previous out)
    becomes s_k = W_k o_{k−1} (+ b_k, the 1-D array of length out that follows W_k, if
    any), o_k = f(s_k). A checkpoint holds values, not the model's code: f and the loss
    come from the checkpoint's ``config`` (``activation``, ``loss``) when it has one, as
    ``gradgate train`` writes, and are otherwise the lecture's, σ and E = SqErr(o, t).
    A training checkpoint of another model than the MLP (``--model cnn``) is drawn as that
    model: :func:`trained_network`.
    """
    try:
        loaded = io.load(path)
    except FileNotFoundError:
        raise ValueError(f"file not found: {path}") from None
    config = loaded.get("config") if isinstance(loaded, dict) else None
    config = config if isinstance(config, dict) else {}
    if config.get("model", "mlp") != "mlp" and loaded.get("format") == CHECKPOINT_FORMAT:
        return trained_network(path, seed)
    activation = config.get("activation", "sigmoid")
    loss_name = config.get("loss", "sqerr")
    if activation not in ACTIVATIONS or loss_name not in LOSSES:
        raise ValueError(f"{path}: cannot draw activation {activation!r} with loss {loss_name!r}")
    loss = LOSSES[loss_name]
    layers = _weight_chain(_arrays(_model_part(loaded), ""))
    if not layers:
        raise ValueError(f"{path}: no weight matrices (2-D float arrays) in this checkpoint")
    rng = np.random.default_rng(seed)
    first = layers[0][1]
    x = Tensor(np.asarray(rng.uniform(0.0, 1.0, first.shape[1]), dtype=first.dtype))
    names: dict[str, Tensor] = {"x": x}
    o = x
    for k, (key, W_data, bias_key, bias_data) in enumerate(layers, start=1):
        W = Tensor(W_data, requires_grad=True)
        names[key] = W
        s = F.matvec(W, o)
        if bias_data is not None and bias_key is not None:
            bias = Tensor(bias_data, requires_grad=True)
            names[bias_key] = bias
            s = F.add(s, bias)
        names[f"s{k}"] = s
        f = activation if k < len(layers) else loss.output_activation
        o = ACTIVATIONS[f]()(s) if f is not None else s
        if o is not s:
            names[f"o{k}"] = o
    classes = layers[-1][1].shape[0]
    label = int(rng.integers(classes))
    if loss.one_hot:
        t = Tensor(np.eye(classes, dtype=first.dtype)[label])
    else:  # class labels, for a batch of one
        t, o = Tensor(np.array([label])), F.reshape(o, (1, classes))
    E = loss.module()(o, t)
    names.update({"t": t, "E": E})
    return E, names


def trained_network(path: str, seed: int = 0) -> tuple[Tensor, dict[str, Tensor]]:
    """The network of a training checkpoint, rebuilt as ``gradgate evaluate`` rebuilds it,
    on one random example (pixels uniform in [0, 1)), in evaluation mode, ending in its
    loss against a random class. Its parameters are named as in the state dict."""
    try:
        trained = load_trained(path)
    except InputError as error:
        raise ValueError(str(error)) from None
    rng = np.random.default_rng(seed)
    model = trained.model.eval()
    dtype = next(model.parameters()).dtype
    x = Tensor(np.asarray(rng.uniform(0.0, 1.0, (1, trained.features)), dtype=dtype))
    names: dict[str, Tensor] = {"x": x, **dict(model.named_parameters())}
    o = model(x)  # (1, classes)
    label = int(rng.integers(trained.classes))
    loss = LOSSES[trained.config.loss]
    t = Tensor(np.eye(trained.classes, dtype=dtype)[[label]] if loss.one_hot else [label])
    E = loss_module(trained.config.loss, trained.config.label_smoothing)(o, t)
    names.update({"o": o, "t": t, "E": E})
    return E, names


def _weight_chain(
    entries: list[tuple[str, np.ndarray]],
) -> list[tuple[str, np.ndarray, str | None, np.ndarray | None]]:
    """(key, W, bias key, bias) for the first chain of weight matrices that fit together."""
    layers: list[tuple[str, np.ndarray, str | None, np.ndarray | None]] = []
    for k, (key, a) in enumerate(entries):
        if a.ndim != 2 or a.dtype.kind != "f":
            continue
        if layers and a.shape[1] != layers[-1][1].shape[0]:
            break  # the chain ends (what follows is an optimiser's state, say)
        found: tuple[str | None, np.ndarray | None] = (None, None)
        for key_b, b in entries[k + 1 :]:
            if b.ndim == 2:
                break
            if b.ndim == 1 and b.dtype.kind == "f" and b.shape[0] == a.shape[0]:
                found = (key_b, b)
                break
        layers.append((key, a, *found))
    return layers


def _model_part(loaded: Any) -> Any:
    """The model's state in a checkpoint that also holds an optimiser's, when it says so."""
    if isinstance(loaded, dict):
        for key in ("model", "state_dict", "model_state", "model_state_dict", "parameters"):
            if isinstance(loaded.get(key), dict):
                return loaded[key]
    return loaded


def _arrays(obj: Any, where: str) -> list[tuple[str, np.ndarray]]:
    """Every array in a nested structure, with its key path, in order."""
    if isinstance(obj, Tensor):
        return [(where, obj.numpy())]
    if isinstance(obj, np.ndarray):
        return [(where, obj)]
    if isinstance(obj, dict):
        items: Sequence[tuple[Any, Any]] = list(obj.items())
    elif isinstance(obj, (list, tuple)):
        items = list(enumerate(obj))
    else:
        return []
    out = []
    for key, value in items:
        out += _arrays(value, f"{where}.{key}" if where else str(key))
    return out


def _run_script(path: str, wanted: str | None) -> tuple[Tensor, dict[str, Tensor]]:
    """Run a script as ``__main__`` and pick the tensor to draw from its globals."""
    if not os.path.isfile(path):
        raise ValueError(f"no such script: {path}")
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [path]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        scope = runpy.run_path(path, run_name="__main__")
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    tensors = {k: v for k, v in scope.items() if isinstance(v, Tensor) and not k.startswith("_")}
    candidates = [wanted] if wanted else ["E", "loss"]
    for name in candidates:
        if name in tensors:
            return tensors[name], tensors
    found = ", ".join(sorted(tensors)) or "none"
    raise ValueError(
        f"{path}: no tensor named {' or '.join(candidates)} after the script ran "
        f"(tensors found: {found}); choose one with --tensor"
    )
