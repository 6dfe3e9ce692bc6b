"""The lecture's two-layer network (20.4), ready to draw."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..tensor import Tensor


def lecture_network(
    hidden: int = 3, seed: int = 0, inputs: int = 4, outputs: int = 2
) -> tuple[Tensor, dict[str, Tensor]]:
    """E of the lecture's network, s1 = W1 x, o1 = σ(s1), s2 = W2 o1, o2 = σ(s2),
    E = SqErr(o2, t), and the tensors' names. The default sizes are exercise 20.4's
    (4 inputs, 3 hidden, 2 outputs): small enough that every value and gradient is drawn;
    64 inputs and 10 outputs give the network for an 8×8 digit."""
    if hidden < 1:
        raise ValueError(f"--hidden must be at least 1, got {hidden}")
    rng = np.random.default_rng(seed)
    x = Tensor(rng.uniform(0.0, 1.0, inputs).astype(np.float32))
    W1 = Tensor(
        (rng.standard_normal((hidden, inputs)) / np.sqrt(inputs)).astype(np.float32),
        requires_grad=True,
    )
    W2 = Tensor(
        (rng.standard_normal((outputs, hidden)) / np.sqrt(hidden)).astype(np.float32),
        requires_grad=True,
    )
    t = Tensor(np.eye(outputs, dtype=np.float32)[int(rng.integers(outputs))])
    s1 = F.matvec(W1, x)
    o1 = F.sigmoid(s1)
    s2 = F.matvec(W2, o1)
    o2 = F.sigmoid(s2)
    E = F.sqerr(o2, t)
    names = {"x": x, "W1": W1, "s1": s1, "o1": o1, "W2": W2, "s2": s2, "o2": o2, "t": t, "E": E}
    return E, names
