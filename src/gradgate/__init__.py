"""gradgate: neural networks as computation graphs of gates, trained by backpropagation.

import gradgate as gg
W = gg.randn(3, 4, requires_grad=True)
E = gg.sqerr(gg.sigmoid(gg.matvec(W, x)), t)
E.backward()          # W.grad now holds dE/dW
"""

# isort: off
from .tensor import Tensor, as_tensor, from_numpy, tensor  # first: the engine builds on it

# isort: on
from . import check, data, dtypes, linalg, nn, optim, viz
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .check import jacobian
from .conventions import ValuesIndices
from .dtypes import (
    bool,
    complex64,
    complex128,
    double,
    float,
    float16,
    float32,
    float64,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
)
from .engine import apply, enable_grad, grad, is_grad_enabled, no_grad
from .factories import (
    arange,
    empty,
    eye,
    full,
    full_like,
    linspace,
    logspace,
    manual_seed,
    meshgrid,
    multinomial,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    tril_indices,
    zeros,
    zeros_like,
)
from .functional import *  # noqa: F403  (every gate's functional form, and the compositions)
from .gates import REGISTRY, Gate, register
from .io import CheckpointError, load, save
from .replay.api import Captured, capture
from .replay.state import CaptureError
from .trace import trace
from .weights import load_safetensors, save_safetensors

__version__ = "0.1.0"

__all__ = [name for name in dir() if not name.startswith("_")]
