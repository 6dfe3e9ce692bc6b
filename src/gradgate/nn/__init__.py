"""Neural-network building blocks: modules, layers, losses and initialisers.

    from gradgate import nn
    model = nn.Sequential(nn.Linear(64, 32), nn.Sigmoid(), nn.Linear(32, 10), nn.Sigmoid())
    E = nn.SqErr()(model(x), t)
"""

from . import init
from .layers import (
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from .losses import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    MSELoss,
    SqErr,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse,
    sqerr,
)
from .mlp import ACTIVATIONS, MLP, make_activation
from .module import IncompatibleKeys, Module, Parameter

__all__ = [
    "ACTIVATIONS",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "Identity",
    "IncompatibleKeys",
    "LeakyReLU",
    "Linear",
    "MLP",
    "MSELoss",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "SqErr",
    "Tanh",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "init",
    "make_activation",
    "mse",
    "sqerr",
]
