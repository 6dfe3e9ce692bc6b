"""``gradgate.nn.functional``: the functional forms of the layers, as ``torch.nn.functional``.

    import gradgate.nn.functional as F
    y = F.gelu(F.layer_norm(x, (64,)))
    loss = F.cross_entropy(logits, labels, label_smoothing=0.1)

Element-wise activations, losses and shape functions are those of ``gradgate.functional``
(re-exported here by name, with PyTorch's argument names where they differ: ``dim`` for
``axis``). The layer functions below compose gates: normalisation is the fused
:class:`~gradgate.gates.layers.Normalize` gate followed by the affine parameters, attention
is matmul and softmax gates, dropout multiplies by a constant mask.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import backend, factories
from .. import functional as _functional
from ..engine import apply, no_grad
from ..gates.layers import Embedding, Normalize
from ..gates.recurrent import LstmCell
from ..replay.state import replayed
from ..tensor import Tensor
from ..tensor import _raw as _data

# --- re-exported by name ----------------------------------------------------------------

# Looked up in gradgate.functional, so that a function appears here as soon as a gate or
# composition of that name exists there (convolutions and pooling included).
_REEXPORTED = (
    "relu",
    "sigmoid",
    "tanh",
    "softplus",
    "leaky_relu",
    "gelu",
    "silu",
    "elu",
    "selu",
    "softsign",
    "hardtanh",
    "log_sigmoid",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy_with_logits",
    "mse",
    "sqerr",
    "matmul",
    "matvec",
    "where",
    "clamp",
    "normalize",
    "pad",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "unfold",
    "fold",
    "erf",
)
for _name in _REEXPORTED:
    _value = getattr(_functional, _name, None)
    if _value is not None:
        globals()[_name] = _value
logsigmoid = _functional.log_sigmoid

if TYPE_CHECKING:  # the functions looked up above, for the type checker

    def __getattr__(name: str) -> Any: ...


def softmax(x: Any, dim: int = -1) -> Tensor:
    """e^x / Σ e^x along ``dim``."""
    return _functional.softmax(x, dim)


def log_softmax(x: Any, dim: int = -1) -> Tensor:
    """x − logsumexp(x) along ``dim``."""
    return _functional.log_softmax(x, dim)


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """(input − target)², averaged or summed (PyTorch's name for :func:`mse`)."""
    return _functional.mse(input, target, reduction)


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """x Wᵀ + b, for W (out, in): the lecture's s = W o for each row of x."""
    s = _functional.matvec(weight, x)
    return s if bias is None else s + bias


def one_hot(labels: Any, num_classes: int = -1) -> Tensor:
    """Integer labels (...) as a constant int64 tensor (..., num_classes) of zeros with a one
    at each label; ``num_classes=-1`` takes the largest label + 1."""
    y = np.asarray(_data(labels))
    if y.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got {y.dtype}")
    if num_classes < 0:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"one_hot: labels must lie in [0, {num_classes}), got {int(y.min())}..{int(y.max())}"
        )
    return Tensor((y[..., None] == np.arange(num_classes)).astype(np.int64))


def embedding(input: Any, weight: Any, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` (num, dim) at the integer ``input`` (...): (..., dim)."""
    if padding_idx is not None and padding_idx < 0:
        padding_idx += _functional._shape(weight)[0]
    return apply(Embedding(padding_idx), weight, np.asarray(_data(input)))


# --- normalisation ------------------------------------------------------------------------


def _affine(x: Tensor, weight: Any, bias: Any, shape: tuple[int, ...]) -> Tensor:
    if weight is not None:
        x = x * _functional.reshape(weight, shape)
    if bias is not None:
        x = x + _functional.reshape(bias, shape)
    return x


def _channel_shape(x: Any) -> tuple[int, ...]:
    """(1, C, 1, ...): a per-channel vector broadcast over x (N, C, ...)."""
    ndim = len(_functional._shape(x))
    if ndim < 2:
        raise ValueError(
            f"batch_norm: input must be (N, C, ...), got shape {_functional._shape(x)}"
        )
    return (1, -1) + (1,) * (ndim - 2)


def layer_norm(
    x: Any,
    normalized_shape: int | Sequence[int],
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> Tensor:
    """(x − μ) / √(σ² + ε) ⊙ weight + bias, μ and σ² over the last len(normalized_shape) axes."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    x_shape = _functional._shape(x)
    if x_shape[len(x_shape) - len(shape) :] != shape:
        raise ValueError(
            f"layer_norm: the input's last axes {x_shape} are not normalized_shape {shape}"
        )
    axes = tuple(range(-len(shape), 0))
    return _affine(apply(Normalize(axes, eps), x), weight, bias, shape)


def batch_norm(
    x: Any,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation of x (N, C) or (N, C, ...), per channel.

    Training (or without running statistics): normalised with the batch's mean and biased
    variance over every axis but the channel axis, and the running statistics, when given,
    updated in place as PyTorch does: r ← (1 − momentum) r + momentum · s, with the batch's
    *unbiased* variance for the running variance. Evaluation: (x − running_mean) /
    √(running_var + ε), the statistics constants.
    """
    channel = _channel_shape(x)
    shape = _functional._shape(x)
    axes = (0,) + tuple(range(2, len(shape)))
    if training or running_mean is None or running_var is None:
        count = int(np.prod([shape[a] for a in axes]))
        if training and count <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when "
                f"training, got input of shape {shape}"
            )
        if training and running_mean is not None and running_var is not None:
            data = _data(x)
            with no_grad():
                mean = data.mean(axis=axes)
                var = data.var(axis=axes, ddof=1)
                for stat, batch in ((running_mean, mean), (running_var, var)):
                    array = stat.writable_array()
                    array *= 1.0 - momentum
                    array += (momentum * batch).astype(array.dtype)
        out = apply(Normalize(axes, eps), x)
    else:
        mean = np.asarray(_data(running_mean)).reshape(channel)
        scale = 1.0 / np.sqrt(np.asarray(_data(running_var)).reshape(channel) + eps)
        dtype = _data(x).dtype
        out = (x - mean.astype(dtype)) * scale.astype(dtype)
    return _affine(out, weight, bias, channel)


def group_norm(
    x: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> Tensor:
    """x (N, C, ...) normalised over each group of C / num_groups channels (and all the
    positions), then scaled and shifted per channel."""
    shape = _functional._shape(x)
    if len(shape) < 2 or shape[1] % num_groups:
        raise ValueError(
            f"group_norm: input (N, C, ...) with C divisible by num_groups "
            f"{num_groups}, got shape {shape}"
        )
    grouped = _functional.reshape(x, (shape[0], num_groups, -1))
    out = _functional.reshape(apply(Normalize((2,), eps), grouped), shape)
    return _affine(out, weight, bias, _channel_shape(x))


# --- dropout --------------------------------------------------------------------------------


def _dropout(
    x: Any,
    p: float,
    training: bool,
    generator: np.random.Generator | None,
    mask_shape: Any,
    what: str,
) -> Any:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{what}: p must lie in [0, 1], got {p!r}")
    if not training or p == 0.0:
        return x
    data = _data(x)
    device = backend.device_of(data)
    return _functional.mul(x, dropout_mask(generator, mask_shape, p, data.dtype, device))


@replayed
def dropout_mask(
    generator: Any, shape: Any, p: float, dtype: Any, device: str, uniform: Any = np.float64
) -> Any:
    """The kept elements' scale 1/(1 − p), zero elsewhere, on ``device``; an element is
    kept where a uniform number (drawn in the dtype ``uniform``) is ≥ p. Drawn afresh at
    every call (and at every replay of a captured step)."""
    if p == 1.0:
        mask = np.zeros(shape, dtype=dtype)
    else:
        rng = generator if generator is not None else factories.default_generator()
        keep = rng.random(shape, dtype=uniform) >= p
        mask = keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))
    return mask if device == "cpu" else backend.to_device(mask, device)


def dropout(
    x: Any, p: float = 0.5, training: bool = True, generator: np.random.Generator | None = None
) -> Any:
    """Each element zeroed with probability p, the rest scaled by 1/(1 − p) (training); the
    identity otherwise. The mask is a constant drawn from ``generator`` (default: gradgate's
    generator, reseeded by ``gradgate.manual_seed``), so dE/dx = mask ⊙ g."""
    return _dropout(x, p, training, generator, _functional._shape(x), "dropout")


def _channels_dropout(
    x: Any, p: float, training: bool, generator: Any, spatial: int, what: str
) -> Any:
    shape = _functional._shape(x)
    if len(shape) not in (spatial + 1, spatial + 2):
        raise ValueError(
            f"{what}: input must be (N, C, {'L' if spatial == 1 else 'H, W'}) or "
            f"without N, got shape {shape}"
        )
    mask_shape = shape[: len(shape) - spatial] + (1,) * spatial
    return _dropout(x, p, training, generator, mask_shape, what)


def dropout1d(x: Any, p: float = 0.5, training: bool = True, generator: Any = None) -> Any:
    """Whole channels of x (N, C, L) zeroed with probability p, the rest scaled by 1/(1 − p)."""
    return _channels_dropout(x, p, training, generator, 1, "dropout1d")


def dropout2d(x: Any, p: float = 0.5, training: bool = True, generator: Any = None) -> Any:
    """Whole channels of x (N, C, H, W) zeroed with probability p, the rest scaled."""
    return _channels_dropout(x, p, training, generator, 2, "dropout2d")


# --- attention ------------------------------------------------------------------------------


def scaled_dot_product_attention(
    q: Any,
    k: Any,
    v: Any,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """softmax(q kᵀ · scale + mask) v for q (..., L, E), k (..., S, E), v (..., S, Ev).

    ``scale`` defaults to 1/√E. A boolean ``attn_mask`` (broadcast to (..., L, S)) marks with
    True the places that take part, as PyTorch's; a float mask is added to the scores.
    ``is_causal`` lets position i attend to positions ≤ i only. A composition of matmul,
    where and softmax gates, so its backward is theirs: the softmax's J^T g between two
    matrix products.
    """
    q_shape, k_shape = _functional._shape(q), _functional._shape(k)
    if len(q_shape) < 2 or q_shape[-1] != k_shape[-1]:
        raise ValueError(
            f"scaled_dot_product_attention: q {q_shape} and k {k_shape} need "
            "one feature size E in their last axis"
        )
    scale = 1.0 / math.sqrt(q_shape[-1]) if scale is None else scale
    scores = _functional.matmul(q, _functional.swapaxes(k, -1, -2)) * scale  # (..., L, S)
    L, S = q_shape[-2], k_shape[-2]
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
        attn_mask = np.tril(np.ones((L, S), dtype=bool))
    if attn_mask is not None:
        mask = _data(attn_mask)
        if mask.dtype == np.bool_:
            scores = _functional.where(mask, scores, -np.inf)
        else:
            scores = scores + mask
    weights = _functional.softmax(scores, -1)
    if dropout_p:
        weights = dropout(weights, dropout_p, True, generator)
    return _functional.matmul(weights, v)


# --- recurrent cells ------------------------------------------------------------------------


def lstm_cell_update(a: Any, c: Any) -> Tensor:
    """[h′, c′] (B, 2H) from the pre-activations a (B, 4H) and the cell state c (B, H); see
    :class:`~gradgate.gates.recurrent.LstmCell`."""
    return apply(LstmCell(), a, c)


__all__ = sorted(
    name
    for name, value in globals().items()
    if not name.startswith("_")
    and callable(value)
    and name
    not in (
        "apply",
        "no_grad",
        "annotations",
        "Tensor",
        "Embedding",
        "LstmCell",
        "Normalize",
        "Sequence",
        "Any",
        "TYPE_CHECKING",
    )
)
