"""Neural-network building blocks: modules, layers, losses and initialisers.

from gradgate import nn
model = nn.Sequential(nn.Linear(64, 32), nn.Sigmoid(), nn.Linear(32, 10), nn.Sigmoid())
E = nn.SqErr()(model(x), t)
"""

from . import functional, init
from .activations import ELU, GELU, SELU, Hardtanh, LogSigmoid, LogSoftmax, SiLU, Softsign
from .attention import MultiheadAttention, TransformerEncoder, TransformerEncoderLayer
from .containers import ModuleDict, ModuleList
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
from .embedding import Dropout1d, Dropout2d, Embedding
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
    NLLLoss,
    SqErr,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse,
    sqerr,
)
from .mlp import ACTIVATIONS, MLP, make_activation
from .models import digits_cnn
from .module import IncompatibleKeys, Module, Parameter, RemovableHandle
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "Dropout1d",
    "Dropout2d",
    "ELU",
    "Embedding",
    "GELU",
    "GRU",
    "GRUCell",
    "GroupNorm",
    "Hardtanh",
    "LSTM",
    "LSTMCell",
    "LayerNorm",
    "LogSigmoid",
    "LogSoftmax",
    "ModuleDict",
    "ModuleList",
    "MultiheadAttention",
    "NLLLoss",
    "RNN",
    "RNNCell",
    "RemovableHandle",
    "SELU",
    "SiLU",
    "Softsign",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "functional",
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
