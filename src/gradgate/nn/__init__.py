"""Neural-network building blocks: modules, layers, losses and initialisers.

    from gradgate import nn
    model = nn.Sequential(nn.Linear(64, 32), nn.Sigmoid(), nn.Linear(32, 10), nn.Sigmoid())
    E = nn.SqErr()(model(x), t)
"""

from . import init
from .conv import (
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    ConvTranspose2d,
    Flatten,
    MaxPool1d,
    MaxPool2d,
    Unflatten,
)
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
from .models import digits_cnn
from .module import IncompatibleKeys, Module, Parameter

__all__ = [
    "ACTIVATIONS",
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "BCEWithLogitsLoss",
    "Conv1d",
    "Conv2d",
    "ConvTranspose2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "Identity",
    "IncompatibleKeys",
    "LeakyReLU",
    "Linear",
    "MLP",
    "MSELoss",
    "MaxPool1d",
    "MaxPool2d",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "SqErr",
    "Tanh",
    "Unflatten",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "digits_cnn",
    "init",
    "make_activation",
    "mse",
    "sqerr",
]
