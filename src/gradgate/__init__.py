"""gradgate: neural networks as computation graphs of gates, trained by backpropagation.

    import gradgate as gg
    W = gg.randn(3, 4, requires_grad=True)
    E = gg.sqerr(gg.sigmoid(gg.matvec(W, x)), t)
    E.backward()          # W.grad now holds dE/dW
"""

# isort: off
# first: the engine and the gates' API build on it
from .tensor import Tensor, as_tensor, from_numpy, tensor
# isort: on
from . import check, data, linalg, nn, optim, viz
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .check import jacobian
from .engine import apply, enable_grad, grad, is_grad_enabled, no_grad
from .factories import (
    arange,
    eye,
    full,
    manual_seed,
    ones,
    ones_like,
    rand,
    randn,
    zeros,
    zeros_like,
)
from .functional import *  # every gate's functional form, and the compositions
from .gates import REGISTRY, Gate, register
from .io import CheckpointError, load, save
from .trace import trace

__version__ = "0.1.0"

__all__ = [name for name in dir() if not name.startswith("_")]
