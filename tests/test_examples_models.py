"""The LSTM-digits and character-model examples, run briefly: they train, evaluate and
sample without error, and learn something in a few steps."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_lstm_digits_learns_in_one_epoch(capsys):
    accuracy = _load("lstm_digits").main(["--epochs", "1"])
    assert accuracy > 0.3  # ten classes: chance is 0.1
    assert "test accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("model", ["mlp", "transformer"])
def test_char_model_beats_a_uniform_guess_after_a_few_steps(model, capsys):
    example = _load("char_model")
    results = example.main(["--steps", "60", "--model", model])
    assert results[model] < 2.9  # ln 27 ≈ 3.30
    assert "samples:" in capsys.readouterr().out


def test_the_name_generator_is_fixed_by_its_seed():
    import numpy as np

    example = _load("char_model")
    first = example.make_names(20, np.random.default_rng(5))
    assert first == example.make_names(20, np.random.default_rng(5))
    assert all(set(name) <= set(example.ALPHABET[1:]) and name for name in first)
