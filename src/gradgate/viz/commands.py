"""The ``gradgate graph`` and ``gradgate check-gate`` subcommands.

As the other subcommands of ``gradgate.cli``, each is two functions:
:func:`add_graph_command` declares the options and sets ``run=``:func:`run_graph`, which
returns the exit status (the same for ``check-gate``). Status 0 is success; 1 a gate that
fails its check, or a picture that needs a missing library; 2 bad input, reported in one
line on stderr (``gradgate graph: error: ...``).

    gradgate graph                          the lecture's two-layer network → graph.svg
    gradgate graph model.ckpt -o net.png    the layers of a checkpoint
    gradgate graph my_script.py --tensor E  a tensor left by a script (E or loss by default)
    gradgate check-gate mygates:Cube        a gate of your own, against finite differences
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import runpy
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import functional as F
from ..gates.base import REGISTRY, Gate
from ..tensor import Tensor

LECTURE = "lecture"
FORMATS = (".svg", ".png", ".dot", ".gv", ".html")
EXIT_FAILED, EXIT_USAGE = 1, 2


# --- gradgate graph ----------------------------------------------------------------------------


def add_graph_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``graph`` to the subparsers of the ``gradgate`` command."""
    p = subparsers.add_parser(
        "graph",
        help="draw the computation graph of a model (SVG, PNG, DOT or an HTML trace page)",
        description=(
            "Draw a computation graph: the lecture's two-layer network (the default), the "
            "layers of a checkpoint (a matvec, bias and activation per weight matrix), or "
            "a tensor left by a Python script. The format follows the output's extension: "
            ".svg, .png (Graphviz or matplotlib), .dot, or .html (the graph with the steps "
            "of one backward pass). Graphviz's dot is used when it is on PATH."
        ),
    )
    p.add_argument("target", nargs="?", default=LECTURE,
                   help="'lecture' (default), a checkpoint file, or a script ending in .py")
    p.add_argument("-o", "--output", default="graph.svg",
                   help="the file to write (default: graph.svg)")
    p.add_argument("--hidden", type=int, default=3,
                   help="hidden neurons of the lecture's 4-input, 2-output network "
                        "(default: 3, as in exercise 20.4)")
    p.add_argument("--tensor", default=None,
                   help="for a script: the variable holding the tensor to draw "
                        "(default: E, then loss)")
    p.add_argument("--seed", type=int, default=0, help="random seed for weights and inputs")
    p.add_argument("--no-graphviz", action="store_true",
                   help="use the built-in layout even when Graphviz's dot is installed")
    p.set_defaults(run=run_graph)
    return p


def run_graph(args: argparse.Namespace) -> int:
    """Draw the graph ``args`` asks for; the exit status."""
    from ..trace import trace

    output = args.output
    extension = os.path.splitext(output)[1].lower()
    if extension not in FORMATS:
        return _fail("graph", f"cannot tell the format of {output!r}; use a name ending in "
                     + ", ".join(FORMATS), EXIT_USAGE)
    try:
        with trace() as tr:  # records the structure, so the graph outlives backward()
            if args.target.endswith(".py"):
                E, names = _run_script(args.target, args.tensor)  # it may run backward
            else:
                if args.target == LECTURE:
                    E, names = lecture_network(args.hidden, args.seed)
                else:
                    E, names = checkpoint_network(args.target, args.seed)
                tr.names.update(names)
                E.backward()  # so the picture and the page show the gradients
            tr.names.update(names)
        g = tr.graph_of(E)
    except (OSError, ValueError, RuntimeError, TypeError, KeyError) as error:
        return _fail("graph", str(error), EXIT_USAGE)
    graphviz = False if args.no_graphviz else None
    try:
        if extension == ".html":
            if not tr.steps:
                return _fail("graph", "an .html page shows a backward pass, and none ran",
                             EXIT_USAGE)
            tr.save_html(output, title=f"gradgate graph: {args.target}")
        else:
            g.save(output, graphviz=graphviz)
    except ImportError as error:  # PNG without Graphviz or matplotlib
        return _fail("graph", str(error), EXIT_FAILED)
    print(f"wrote {output}: {len(g.nodes)} nodes, {len(g.edges)} edges, "
          f"{len(g.fanouts)} fan-out points")
    return 0


def lecture_network(hidden: int = 3, seed: int = 0, inputs: int = 4, outputs: int = 2
                    ) -> tuple[Tensor, dict[str, Tensor]]:
    """E of the lecture's network, s1 = W1 x, o1 = σ(s1), s2 = W2 o1, o2 = σ(s2),
    E = SqErr(o2, t), and the tensors' names. The default sizes are exercise 20.4's
    (4 inputs, 3 hidden, 2 outputs): small enough that every value and gradient is drawn;
    64 inputs and 10 outputs give the network for an 8×8 digit."""
    if hidden < 1:
        raise ValueError(f"--hidden must be at least 1, got {hidden}")
    rng = np.random.default_rng(seed)
    x = Tensor(rng.uniform(0.0, 1.0, inputs).astype(np.float32))
    W1 = Tensor((rng.standard_normal((hidden, inputs)) / np.sqrt(inputs)).astype(np.float32),
                requires_grad=True)
    W2 = Tensor((rng.standard_normal((outputs, hidden)) / np.sqrt(hidden)).astype(np.float32),
                requires_grad=True)
    t = Tensor(np.eye(outputs, dtype=np.float32)[int(rng.integers(outputs))])
    s1 = F.matvec(W1, x)
    o1 = F.sigmoid(s1)
    s2 = F.matvec(W2, o1)
    o2 = F.sigmoid(s2)
    E = F.sqerr(o2, t)
    return E, {"x": x, "W1": W1, "s1": s1, "o1": o1, "W2": W2, "s2": s2, "o2": o2, "t": t,
               "E": E}


# a training checkpoint's config names its activation and loss; these draw them
ACTIVATIONS: dict[str, Callable[[Tensor], Tensor] | None] = {
    "sigmoid": F.sigmoid, "tanh": F.tanh, "relu": F.relu, "leaky_relu": F.leaky_relu,
    "identity": None,
}
OUTPUT_ACTIVATION = {"sqerr": F.sigmoid, "mse": F.sigmoid, "cross_entropy": None, "bce": None}


def checkpoint_network(path: str, seed: int = 0) -> tuple[Tensor, dict[str, Tensor]]:
    """A network built from a checkpoint's weight matrices, ending in its loss.

    The first chain of 2-D arrays (each W_k of shape (out, in) with in = the previous out)
    becomes s_k = W_k o_{k−1} (+ b_k, the 1-D array of length out that follows W_k, if
    any), o_k = f(s_k). A checkpoint holds values, not the model's code: f and the loss
    come from the checkpoint's ``config`` (``activation``, ``loss``) when it has one, as
    ``gradgate train`` writes, and are otherwise the lecture's, σ and E = SqErr(o, t).
    """
    from .. import io

    loaded = io.load(path)
    config = loaded.get("config") if isinstance(loaded, dict) else None
    config = config if isinstance(config, dict) else {}
    activation = config.get("activation", "sigmoid")
    loss = config.get("loss", "sqerr")
    if activation not in ACTIVATIONS or loss not in OUTPUT_ACTIVATION:
        raise ValueError(f"{path}: cannot draw activation {activation!r} with loss {loss!r}")
    layers = _weight_chain(_arrays(_model_part(loaded), ""))
    if not layers:
        raise ValueError(f"{path}: no weight matrices (2-D float arrays) in this checkpoint")
    rng = np.random.default_rng(seed)
    first = layers[0][1]
    x = Tensor(np.asarray(rng.uniform(0.0, 1.0, first.shape[1]), dtype=first.dtype))
    names: dict[str, Tensor] = {"x": x}
    o = x
    for k, (key, W_data, bias_key, bias_data) in enumerate(layers, start=1):
        W = Tensor(W_data, requires_grad=True)
        names[key] = W
        s = F.matvec(W, o)
        if bias_data is not None and bias_key is not None:
            bias = Tensor(bias_data, requires_grad=True)
            names[bias_key] = bias
            s = F.add(s, bias)
        names[f"s{k}"] = s
        f = ACTIVATIONS[activation] if k < len(layers) else OUTPUT_ACTIVATION[loss]
        o = f(s) if f is not None else s
        if f is not None:
            names[f"o{k}"] = o
    classes = layers[-1][1].shape[0]
    label = int(rng.integers(classes))
    if loss == "cross_entropy":
        t = Tensor(np.array([label]))
        E = F.cross_entropy(F.reshape(o, (1, classes)), t)
    else:
        t = Tensor(np.eye(classes, dtype=first.dtype)[label])
        if loss == "sqerr":
            E = F.sqerr(o, t)
        elif loss == "mse":
            E = F.mse(o, t)
        else:
            E = F.binary_cross_entropy_with_logits(o, t)
    names.update({"t": t, "E": E})
    return E, names


def _weight_chain(entries: list[tuple[str, np.ndarray]]
                  ) -> list[tuple[str, np.ndarray, str | None, np.ndarray | None]]:
    """(key, W, bias key, bias) for the first chain of weight matrices that fit together."""
    layers: list[tuple[str, np.ndarray, str | None, np.ndarray | None]] = []
    for k, (key, a) in enumerate(entries):
        if a.ndim != 2 or a.dtype.kind != "f":
            continue
        if layers and a.shape[1] != layers[-1][1].shape[0]:
            break  # the chain ends (what follows is an optimiser's state, say)
        found: tuple[str | None, np.ndarray | None] = (None, None)
        for key_b, b in entries[k + 1:]:
            if b.ndim == 2:
                break
            if b.ndim == 1 and b.dtype.kind == "f" and b.shape[0] == a.shape[0]:
                found = (key_b, b)
                break
        layers.append((key, a, *found))
    return layers


def _model_part(loaded: Any) -> Any:
    """The model's state in a checkpoint that also holds an optimiser's, when it says so."""
    if isinstance(loaded, dict):
        for key in ("model", "state_dict", "model_state", "model_state_dict", "parameters"):
            if isinstance(loaded.get(key), dict):
                return loaded[key]
    return loaded


def _arrays(obj: Any, where: str) -> list[tuple[str, np.ndarray]]:
    """Every array in a nested structure, with its key path, in order."""
    if isinstance(obj, Tensor):
        return [(where, obj.numpy())]
    if isinstance(obj, np.ndarray):
        return [(where, obj)]
    if isinstance(obj, dict):
        items: Sequence[tuple[Any, Any]] = list(obj.items())
    elif isinstance(obj, (list, tuple)):
        items = list(enumerate(obj))
    else:
        return []
    out = []
    for key, value in items:
        out += _arrays(value, f"{where}.{key}" if where else str(key))
    return out


def _run_script(path: str, wanted: str | None) -> tuple[Tensor, dict[str, Tensor]]:
    """Run a script as ``__main__`` and pick the tensor to draw from its globals."""
    if not os.path.isfile(path):
        raise ValueError(f"no such script: {path}")
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [path]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        scope = runpy.run_path(path, run_name="__main__")
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    tensors = {k: v for k, v in scope.items() if isinstance(v, Tensor) and not k.startswith("_")}
    candidates = [wanted] if wanted else ["E", "loss"]
    for name in candidates:
        if name in tensors:
            return tensors[name], tensors
    found = ", ".join(sorted(tensors)) or "none"
    raise ValueError(f"{path}: no tensor named {' or '.join(candidates)} after the script ran "
                     f"(tensors found: {found}); choose one with --tensor")


# --- gradgate check-gate -------------------------------------------------------------------------


def add_check_gate_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``check-gate`` to the subparsers of the ``gradgate`` command."""
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
    p.add_argument("gate", help="module:GateClass or path/to/file.py:GateClass")
    p.add_argument("--shapes", default=None,
                   help="input shapes separated by ';', e.g. '3,4;4' ('' or '()' for a scalar)")
    p.add_argument("--range", default=None, metavar="LOW,HIGH",
                   help="draw inputs uniformly from [LOW, HIGH] (default: standard normal)")
    p.add_argument("--params", default="{}",
                   help="the gate's constructor arguments as JSON, e.g. '{\"axis\": 0}'")
    p.add_argument("--seed", type=int, default=0, help="random seed for inputs and g")
    p.add_argument("--quiet", action="store_true", help="one line per case, no tables")
    p.set_defaults(run=run_check_gate)
    return p


def run_check_gate(args: argparse.Namespace) -> int:
    """Check the gate ``args`` names; the exit status."""
    from ..check import explain_gate
    from ..gates import samples

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
            shapes = parse_shapes(args.shapes) if args.shapes is not None else \
                [(3,)] * _arity(gate)
            low_high = _parse_range(args.range)
            cases = [(gate, tuple(_draw(rng, shape, low_high) for shape in shapes))]
    except (ImportError, AttributeError, ValueError, TypeError) as error:
        return _fail("check-gate", str(error), EXIT_USAGE)
    failed = 0
    for k, (gate, inputs) in enumerate(cases, start=1):
        described = ", ".join(str(np.shape(a)) for a in inputs)
        try:
            report = explain_gate(gate, *inputs, seed=args.seed)
        except Exception as error:  # forward failed on these inputs: the gate's own bug
            failed += 1
            print(f"case {k}: inputs {described}: forward failed: {type(error).__name__}: "
                  f"{error}")
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


def _draw(rng: np.random.Generator, shape: tuple[int, ...],
          low_high: tuple[float, float] | None) -> np.ndarray:
    if low_high is None:
        return rng.standard_normal(shape)
    return rng.uniform(*low_high, size=shape)


def _arity(gate: Gate) -> int:
    """How many inputs ``forward`` takes (after ``xp``)."""
    import inspect

    parameters = list(inspect.signature(gate.forward).parameters.values())[1:]
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        raise ValueError(f"{gate.name}.forward takes any number of inputs; give --shapes")
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)


def _fail(command: str, message: str, status: int) -> int:
    print(f"gradgate {command}: error: {message}", file=sys.stderr)
    return status


__all__ = [
    "add_check_gate_command",
    "add_graph_command",
    "checkpoint_network",
    "lecture_network",
    "load_gate_class",
    "parse_shapes",
    "run_check_gate",
    "run_graph",
]
