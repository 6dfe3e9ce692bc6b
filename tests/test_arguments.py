"""One check of positive integers, shared by layers, loaders, data sets and schedules."""

from __future__ import annotations

import re

import numpy as np
import pytest

import gradgate as gg
from gradgate import nn, optim
from gradgate.arguments import count, is_count
from gradgate.data import DataLoader, TensorDataset, moons, spirals


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.uint8(1)])
def test_positive_integers_count(value):
    assert is_count(value)
    assert count(value, "n") == int(value) and type(count(value, "n")) is int


@pytest.mark.parametrize("value", [0, -2, True, 2.0, 2.5, "3", None, np.float64(2)])
def test_everything_else_is_refused_naming_the_argument(value):
    assert not is_count(value)
    with pytest.raises(
        ValueError, match=re.escape(f"size must be a positive integer, got {value!r}")
    ):
        count(value, "size")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: nn.Linear(2.0, 3), "Linear: in_features must be a positive integer, got 2.0"),
        (lambda: nn.MLP([4, True, 2]), "MLP: sizes must be positive integers"),
        (lambda: DataLoader(TensorDataset(np.zeros(3)), batch_size=True), "batch_size must be"),
        (lambda: moons(n=0), "n must be a positive integer, got 0"),
        (lambda: spirals(classes=1.5), "classes must be a positive integer, got 1.5"),
        # a fractional step used to be truncated silently: StepLR(opt, 2.5) stepped every 2
        (
            lambda: optim.StepLR(optim.SGD([gg.zeros(1, requires_grad=True)]), 2.5),
            "StepLR: step_size must be a positive integer, got 2.5",
        ),
        (
            lambda: optim.CosineAnnealingLR(optim.SGD([gg.zeros(1, requires_grad=True)]), 0),
            "CosineAnnealingLR: T_max must be a positive integer, got 0",
        ),
    ],
)
def test_every_user_of_the_check_refuses_a_bad_count(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()
