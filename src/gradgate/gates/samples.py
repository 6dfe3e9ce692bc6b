"""Sample inputs for every built-in gate, used to check each one the same way.

``samples(rng)`` maps each gate's name to a few :class:`Sample` cases (several shapes,
broadcasting included). Floating-point inputs are the ones differentiated; integer and
boolean inputs (labels, conditions) are constants. The test suite fails when a registered
gate has no entry here, so a new gate comes with its samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .base import REGISTRY, Gate


@dataclass
class Sample:
    """One way to call a gate: its input arrays and its constructor parameters."""

    inputs: tuple[np.ndarray, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def gate(self, name: str) -> Gate:
        return REGISTRY[name](**self.params)

    def describe(self) -> str:
        shapes = ", ".join(str(a.shape) for a in self.inputs)
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items() if k != "index")
        return f"inputs {shapes}" + (f"; {params}" if params else "")


def samples(rng: np.random.Generator | None = None) -> dict[str, list[Sample]]:
    """Float64 sample cases for every built-in gate, drawn from ``rng``."""
    rng = rng or np.random.default_rng(0)

    def r(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape)

    def pos(*shape: int) -> np.ndarray:
        return rng.uniform(0.5, 2.0, shape)

    def apart(*shape: int) -> np.ndarray:
        """Values at least 0.1 apart and away from 0, where a kink would spoil differences."""
        values = rng.permutation(np.arange(1, int(np.prod(shape)) + 1)) * 0.2 - 0.1
        return (values - values.mean()).reshape(shape) + 0.05

    def probs(*shape: int) -> np.ndarray:
        return rng.uniform(0.05, 0.95, shape)

    binary = [Sample((r(3, 4), r(3, 4))), Sample((r(2, 3, 4), r(4))), Sample((r(3, 1), r(1, 5)))]
    unary = [Sample((r(3, 4),)), Sample((r(5),)), Sample((r(),))]
    positive = [Sample((pos(3, 4),)), Sample((pos(5),))]
    reductions = [
        Sample((r(3, 4),)),
        Sample((r(3, 4),), {"axis": 0}),
        Sample((r(2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
        Sample((r(2, 3, 4),), {"axis": -1}),
    ]
    extremum = [
        Sample((apart(3, 4),)),
        Sample((apart(3, 4),), {"axis": 1}),
        Sample((apart(2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
    ]
    return {
        "Add": binary,
        "Sub": binary,
        "Mul": binary,
        "Div": [Sample((r(3, 4), pos(3, 4))), Sample((r(2, 3), pos(3)))],
        "Pow": [Sample((pos(3, 4), r(3, 4))), Sample((pos(2, 3), np.array(3.0)))],
        "Maximum": [Sample((apart(3, 4), apart(3, 4) * 0.7)), Sample((apart(2, 3), apart(3)))],
        "Minimum": [Sample((apart(3, 4), apart(3, 4) * 0.7)), Sample((apart(2, 3), apart(3)))],
        "Where": [
            Sample((r(3, 4) > 0, r(3, 4), r(3, 4))),
            Sample((r(3, 1) > 0, r(4), r(3, 4))),
        ],
        "Neg": unary,
        "Exp": unary,
        "Log": positive,
        "Sqrt": positive,
        "Abs": [Sample((apart(3, 4),)), Sample((apart(5),))],
        "Tanh": unary,
        "Sigmoid": unary,
        "Relu": [Sample((apart(3, 4),)), Sample((apart(5),))],
        "LeakyRelu": [Sample((apart(3, 4),)), Sample((apart(5),), {"slope": 0.2})],
        "Softplus": unary,
        "Clip": [
            Sample((apart(3, 4),), {"low": -0.3, "high": 0.4}),
            Sample((apart(5),), {"low": 0.0}),
            Sample((apart(5),), {"high": 0.0}),
        ],
        "Cast": [Sample((r(3, 4),), {"dtype": np.float64})],  # float32 has no room to check
        "Sum": reductions,
        "Mean": reductions,
        "Max": extremum,
        "Min": extremum,
        "LogSumExp": reductions,
        "Var": reductions + [Sample((r(3, 4),), {"axis": 1, "correction": 0})],
        "Reshape": [
            Sample((r(3, 4),), {"shape": (2, 6)}),
            Sample((r(2, 3, 4),), {"shape": (-1,)}),
        ],
        "Transpose": [Sample((r(3, 4),)), Sample((r(2, 3, 4),), {"axes": (1, 2, 0)})],
        "BroadcastTo": [
            Sample((r(4),), {"shape": (3, 4)}),
            Sample((r(3, 1),), {"shape": (2, 3, 5)}),
        ],
        "GetItem": [
            Sample((r(4, 5),), {"index": (slice(1, 3), slice(None, None, 2))}),
            Sample((r(4, 5),), {"index": (np.array([0, 2, 2, 3]),)}),
            Sample((r(4, 5),), {"index": (np.array([1, 1]), np.array([0, 4]))}),
            Sample((r(4, 5),), {"index": (Ellipsis, None, 2)}),
        ],
        "ScatterAdd": [
            Sample((r(4, 5),), {"index": (np.array([0, 2, 2, 1]),), "shape": (3, 5)}),
            Sample((r(2, 3),), {"index": (slice(1, 3), slice(0, 3)), "shape": (4, 4)}),
        ],
        "ToDevice": [Sample((r(3, 4),), {"device": "cpu"})],  # the GPU tests cover cuda
        "Concatenate": [
            Sample((r(2, 3), r(4, 3))),
            Sample((r(2, 3), r(2, 1), r(2, 2)), {"axis": 1}),
        ],
        "MatVec": [
            Sample((r(3, 4), r(4))),
            Sample((r(3, 4), r(5, 4))),
            Sample((r(3, 4), r(2, 5, 4))),
        ],
        "MatMul": [
            Sample((r(3, 4), r(4, 2))),
            Sample((r(2, 3, 4), r(4, 5))),
            Sample((r(2, 1, 3, 4), r(3, 4, 2))),
        ],
        "SqErr": [Sample((r(4), r(4))), Sample((r(3, 4), r(3, 4)))],
        "Softmax": [Sample((r(3, 4),)), Sample((r(3, 4),), {"axis": 0})],
        "LogSoftmax": [Sample((r(3, 4),)), Sample((r(3, 4),), {"axis": 0})],
        "BCEWithLogits": [Sample((r(3, 4), probs(3, 4))), Sample((r(5), probs(5)))],
        "CrossEntropy": [
            Sample((r(4, 3), np.array([0, 2, 1, 2]))),
            Sample((r(1, 5), np.array([4]))),
        ],
    }
