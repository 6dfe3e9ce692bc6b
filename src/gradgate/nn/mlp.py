"""A multi-layer perceptron built from Linear layers and one activation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..arguments import is_count
from .layers import Identity, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Softmax, Tanh
from .module import Module

ACTIVATIONS: dict[str, type[Module]] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "softmax": Softmax,
    "identity": Identity,
}


def make_activation(name: str) -> Module:
    """A new activation module by name: sigmoid, tanh, relu, leaky_relu, softmax, identity."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class MLP(Sequential):
    """Linear layers of the given ``sizes`` with ``activation`` between them.

    ``MLP([64, 32, 10])`` is ``Sequential(Linear(64, 32), Sigmoid(), Linear(32, 10))``;
    ``output_activation`` (a name, or None for none) follows the last layer. The lecture's
    network (20.4) is ``MLP([n_in, n_hidden, n_out], "sigmoid", "sigmoid", bias=False)``.
    Parameters are named as in the Sequential: ``"0.weight"``, ``"2.weight"``, ...
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "sigmoid",
        output_activation: str | None = None,
        bias: bool = True,
        generator: np.random.Generator | None = None,
    ) -> None:
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs an input and an output size, got {sizes}")
        if not all(is_count(n) for n in sizes):
            raise ValueError(f"MLP: sizes must be positive integers, got {sizes}")
        make_activation(activation)  # an unknown name fails here, even with no hidden layer
        layers: list[Module] = []
        for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(Linear(n_in, n_out, bias=bias, generator=generator))
            if k < len(sizes) - 2:
                layers.append(make_activation(activation))
        if output_activation is not None:
            layers.append(make_activation(output_activation))
        super().__init__(*layers)
        self.sizes = [int(n) for n in sizes]
        self.activation = activation
        self.output_activation = output_activation

    def extra_repr(self) -> str:
        return (
            f"sizes={self.sizes}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r}"
        )
