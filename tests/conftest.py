"""Graphs and helpers several test modules share."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradgate as gg


def lecture_two_layer(seed: int = 4):
    """E of s1 = W1 x, o1 = σ(s1), s2 = W2 o1, o2 = σ(s2), E = SqErr(o2, t) (4 → 3 → 2, float64),
    and the tensors by the lecture's names."""
    rng = np.random.default_rng(seed)
    x = gg.tensor(rng.uniform(0, 1, 4))
    W1 = gg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    W2 = gg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    t = gg.tensor(np.array([1.0, 0.0]))
    s1 = gg.matvec(W1, x)
    o1 = gg.sigmoid(s1)
    s2 = gg.matvec(W2, o1)
    o2 = gg.sigmoid(s2)
    E = gg.sqerr(o2, t)
    return E, {"x": x, "W1": W1, "s1": s1, "o1": o1, "W2": W2, "s2": s2, "o2": o2, "t": t, "E": E}


@pytest.fixture
def make_two_layer():
    """The builder itself, for tests that want several graphs or another seed."""
    return lecture_two_layer


@pytest.fixture
def two_layer():
    return lecture_two_layer()


ROOT = Path(__file__).resolve().parents[1]


def run_python_blocks(text: str, cwd: Path) -> subprocess.CompletedProcess:
    """The ```python blocks of ``text`` run in order as one script, in a fresh process in
    ``cwd``, with this checkout's ``src`` first on the path."""
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "no Python block to run"
    script = cwd / "page.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )


@pytest.fixture
def run_blocks():
    """:func:`run_python_blocks`, for tests that check what a docs page prints."""
    return run_python_blocks
