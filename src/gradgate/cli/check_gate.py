"""``gradgate check-gate``: a gate's backward against its Jacobian and finite differences.

    gradgate check-gate mygates:Cube        a gate of your own, on random inputs
    gradgate check-gate gradgate.gates.linalg:MatVec   a built-in one, on its samples

Exit status 0 when every case passes, 1 when one fails, 2 for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import json
import os
import sys
from typing import Any

import numpy as np

from ..check import explain_gate
from ..gates import samples
from ..gates.base import REGISTRY, Gate
from ..training import InputError
from .common import EXIT_FAILED


def add_command(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check-gate",
        help="check a gate's backward against its Jacobian and finite differences",
        description=(
            "Load a Gate class, run it on sample inputs and show, side by side, its Jacobian "
            "J, a random upstream gradient g, Jᵀ g, what its backward returned and the "
            "finite-difference estimate. Exit status 0 when every check passes, 1 otherwise. "
            "Built-in gates use their registered samples; other gates get random inputs of "
            "the shapes given with --shapes (default: (3,) for each input of forward)."
        ),
    )
    # fmt: off
    p.add_argument("gate", help="module:GateClass or path/to/file.py:GateClass")
    p.add_argument("--shapes", default=None,
                   help="input shapes separated by ';', e.g. '3,4;4' ('' or '()' for a scalar)")
    p.add_argument("--range", default=None, metavar="LOW,HIGH",
                   help="draw inputs uniformly from [LOW, HIGH] (default: standard normal)")
    p.add_argument("--params", default="{}",
                   help="the gate's constructor arguments as JSON, e.g. '{\"axis\": 0}'")
    p.add_argument("--seed", type=int, default=0, help="random seed for inputs and g")
    p.add_argument("--quiet", action="store_true", help="one line per case, no tables")
    # fmt: on
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Check the gate ``args`` names; the exit status."""
    try:
        cls = load_gate_class(args.gate)
        params = json.loads(args.params)
        if not isinstance(params, dict):
            raise ValueError("--params must be a JSON object")
        rng = np.random.default_rng(args.seed)
        builtin = REGISTRY.get(cls.__name__) is cls and args.shapes is None
        table = samples(rng) if builtin else {}
        if cls.__name__ in table and not args.params.strip("{} "):
            cases = [(s.gate(cls.__name__), s.inputs) for s in table[cls.__name__]]
        else:
            gate = cls(**params)
            shapes = [(3,)] * _arity(gate) if args.shapes is None else parse_shapes(args.shapes)
            low_high = _parse_range(args.range)
            cases = [(gate, tuple(_draw(rng, shape, low_high) for shape in shapes))]
    except (ImportError, AttributeError, ValueError, TypeError) as error:
        raise InputError(str(error)) from error
    failed = 0
    for k, (gate, inputs) in enumerate(cases, start=1):
        described = ", ".join(str(np.shape(a)) for a in inputs)
        try:
            report = explain_gate(gate, *inputs, seed=args.seed)
        except Exception as error:  # forward failed on these inputs: the gate's own bug
            failed += 1
            print(f"case {k}: inputs {described}: forward failed: {type(error).__name__}: "
                  f"{error}")  # fmt: skip
            continue
        failed += not report.passed
        if args.quiet:
            verdict = "ok" if report.passed else "FAIL: " + "; ".join(report.failures())
            print(f"case {k}: {report.gate} on {described}: {verdict}")
        else:
            print(f"=== case {k} of {len(cases)}: inputs {described} ===")
            print(report)
            print()
    total = len(cases)
    print(f"{cls.__name__}: {total - failed} of {total} cases passed")
    return EXIT_FAILED if failed else 0


def load_gate_class(spec: str) -> type[Gate]:
    """The Gate subclass named by ``module:Class`` or ``path/to/file.py:Class``."""
    module_name, _, attribute = spec.rpartition(":")
    if not module_name or not attribute:
        raise ValueError(f"expected module:GateClass or file.py:GateClass, got {spec!r}")
    if module_name.endswith(".py") or os.sep in module_name:
        if not os.path.isfile(module_name):
            raise ValueError(f"no such file: {module_name}")
        name = "_gradgate_user_" + os.path.splitext(os.path.basename(module_name))[0]
        spec_ = importlib.util.spec_from_file_location(name, module_name)
        assert spec_ is not None and spec_.loader is not None
        module = importlib.util.module_from_spec(spec_)
        sys.modules[name] = module
        spec_.loader.exec_module(module)
    else:
        if os.getcwd() not in sys.path:  # as `python -m` would, find the user's modules
            sys.path.insert(0, os.getcwd())
        module = importlib.import_module(module_name)
    cls = getattr(module, attribute)
    if not (isinstance(cls, type) and issubclass(cls, Gate)):
        raise TypeError(f"{spec} is not a Gate subclass")
    return cls


def parse_shapes(text: str) -> list[tuple[int, ...]]:
    """``'3,4;4'`` → [(3, 4), (4,)]; an empty part or ``()`` is a scalar."""
    shapes = []
    for part in text.split(";"):
        part = part.strip().strip("()").strip()
        try:
            shapes.append(tuple(int(n) for n in part.split(",") if n.strip()))
        except ValueError:
            raise ValueError(f"--shapes: cannot read {part!r}; write e.g. '3,4;4'") from None
    return shapes


def _parse_range(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--range: expected LOW,HIGH, got {text!r}") from None
    return low, high


def _draw(
    rng: np.random.Generator, shape: tuple[int, ...], low_high: tuple[float, float] | None
) -> np.ndarray:
    if low_high is None:
        return rng.standard_normal(shape)
    return rng.uniform(*low_high, size=shape)


def _arity(gate: Gate) -> int:
    """How many inputs ``forward`` takes (after ``xp``)."""
    parameters = list(inspect.signature(gate.forward).parameters.values())[1:]
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        raise ValueError(f"{gate.name}.forward takes any number of inputs; give --shapes")
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)
