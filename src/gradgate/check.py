"""Checking gradients: explicit Jacobians and comparisons with finite differences.

``gradcheck(f, inputs)`` compares what backward returns with central differences in
float64; ``gradgradcheck`` does the same for the gradient of the gradient; ``jacobian``
builds the whole matrix d f / d x, one backward pass per output element.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import backend
from . import functional as F
from .engine import call_forward, call_vjp, enable_grad, grad, no_grad, sum_to
from .gates.base import REGISTRY, Gate
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with its finite-difference estimate."""


def _as_list(inputs: Any) -> list[Tensor]:
    return [inputs] if isinstance(inputs, Tensor) else list(inputs)


def _outputs(y: Any) -> list[Tensor]:
    return [y] if isinstance(y, Tensor) else [t for t in y if isinstance(t, Tensor)]


def _float64_copies(inputs: Sequence[Tensor]) -> list[Tensor]:
    out = []
    for x in inputs:
        data = x.data.astype(np.float64) if x.dtype.kind == "f" else x.data
        out.append(Tensor(data, requires_grad=x.requires_grad))
    return out


def _projected(f: Callable, xs: Sequence[Tensor], vs: Sequence[np.ndarray]) -> Tensor:
    """L = Σ_k Σ v_k ⊙ f(xs)_k, a scalar whose gradient is J^T v."""
    total = None
    for y, v in zip(_outputs(f(*xs)), vs, strict=True):
        term = F.sum(F.mul(y, v))
        total = term if total is None else total + term
    assert total is not None, "f returned no tensor"
    return total


def gradcheck(
    f: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    max_elements: int = 512,
    directions: int = 8,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """Compare the gradients backward computes for ``f(*inputs)`` with central differences.

    Every input that requires grad is checked, in float64 (inputs are copied). The outputs
    are projected on a random v, so the check covers J^T v with a non-trivial v. Inputs of
    at most ``max_elements`` elements are checked element by element; larger ones along
    ``directions`` random directions. On a mismatch a :class:`GradcheckError` counts the
    places that failed and names the worst: its input, element and both values (or False
    is returned with ``raise_exception=False``).
    """
    rng = np.random.default_rng(seed)
    xs = _float64_copies(_as_list(inputs))
    checked = [k for k, x in enumerate(xs) if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    ys = _outputs(f(*xs))
    for y in ys:
        if y.dtype != np.float64:
            raise ValueError(
                f"gradcheck: f returned {y.dtype}; it must keep float64 inputs "
                "float64 for the check to be meaningful"
            )
    vs = [rng.standard_normal(y.shape) for y in ys]
    L = _projected(f, xs, vs)
    targets = [xs[k] for k in checked]
    if L.requires_grad:
        analytic = grad(L, targets, allow_unused=True)
    else:
        analytic = (None,) * len(targets)

    def value() -> float:
        with no_grad():
            return float(_projected(f, xs, vs).item())

    worst: tuple[float, str] | None = None  # (error / tolerance, report) of the worst miss
    failures = 0
    for k, a in zip(checked, analytic, strict=True):
        x = xs[k]
        a_data = np.zeros(x.shape) if a is None else a.numpy()
        data = x.writable_array()  # x's own array (any layout): changing it changes x
        if x.size <= max_elements:
            probes: list[tuple[Any, Any]] = [(i, None) for i in range(x.size)]
        else:
            draws = rng.standard_normal((directions, x.size))
            probes = [(None, d / np.linalg.norm(d)) for d in draws]
        for i, d in probes:
            saved = data.copy()
            step = np.zeros(x.shape)  # C order, as the probes' indices
            if i is not None:
                step.reshape(-1)[i] = eps
            else:
                step = (d * eps).reshape(x.shape)
            data += step
            up = value()
            data[...] = saved - step
            down = value()
            data[...] = saved
            numeric = (up - down) / (2 * eps)
            exact = a_data.reshape(-1)[i] if i is not None else float(a_data.reshape(-1) @ d)
            error = abs(exact - numeric)
            tolerance = atol + rtol * abs(numeric)
            if not error <= tolerance:  # NaN fails too
                failures += 1
                index = tuple(int(j) for j in np.unravel_index(i, x.shape)) if x.ndim else ()
                where = f"element {index}" if i is not None else "a random direction"
                report = (
                    f"input {k} (shape {x.shape}) at {where}: analytic {exact:.6g}, numeric "
                    f"{numeric:.6g}, |difference| {error:.3g} > tolerance {atol:g} + "
                    f"{rtol:g}·|numeric| = {tolerance:.3g}"
                )
                ratio = error / tolerance if error == error else float("inf")
                if worst is None or ratio > worst[0]:
                    worst = (ratio, report)
    if worst is None:
        return True
    if raise_exception:
        raise GradcheckError(f"gradcheck failed at {failures} place(s); the worst: {worst[1]}")
    return False


def gradgradcheck(
    f: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """Check second derivatives: the gradient of (v · ∂f/∂x) against finite differences.

    ``f`` is differentiated once with ``create_graph=True`` and the resulting gradients are
    checked with :func:`gradcheck`.
    """
    rng = np.random.default_rng(seed + 1)
    xs = _float64_copies(_as_list(inputs))
    vs = [rng.standard_normal(y.shape) for y in _outputs(f(*xs))]

    def first_derivatives(*args: Tensor) -> Tensor:
        with enable_grad():  # gradcheck evaluates f under no_grad; this f needs a graph
            L = _projected(f, args, vs)
            wanted = [a for a in args if a.requires_grad]
            grads = grad(L, wanted, create_graph=True, allow_unused=True)
            parts = [
                F.reshape(g, (-1,)) if g is not None else Tensor(np.zeros(a.size))
                for a, g in zip(wanted, grads, strict=True)
            ]
            return F.concatenate(parts)

    return gradcheck(
        first_derivatives,
        xs,
        eps=eps,
        atol=atol,
        rtol=rtol,
        seed=seed,
        raise_exception=raise_exception,
    )


def jacobian(f: Callable[..., Any], x: Tensor | Sequence[Tensor]) -> Any:
    """The full Jacobian of ``f`` at ``x``: an array of shape f(x).shape + x.shape.

    With several inputs (a tuple), a tuple of Jacobians, one per input.
    """
    single = isinstance(x, Tensor)
    xs = [Tensor(t.data, requires_grad=True) for t in _as_list(x)]
    y = f(*xs)
    if not isinstance(y, Tensor):
        raise TypeError("jacobian: f must return one tensor")
    jacobians = [np.zeros(y.shape + t.shape, dtype=np.result_type(y.dtype, t.dtype)) for t in xs]
    if y.requires_grad:
        for j in np.ndindex(*y.shape):
            seed = np.zeros(y.shape, dtype=y.dtype)
            seed[j] = 1
            rows = grad(y, xs, grad_outputs=seed, retain_graph=True, allow_unused=True)
            for J, row in zip(jacobians, rows, strict=True):
                if row is not None:
                    J[j] = row.numpy()
    return jacobians[0] if single else tuple(jacobians)


# --- one gate, explained ---------------------------------------------------------------------


def local_jacobian(
    gate: Any, *inputs: Any, wrt: Sequence[int] | None = None
) -> tuple[np.ndarray | None, ...]:
    """The gate's Jacobian for each input, J_k = ∂o/∂x_k, as an explicit matrix.

    Row j of J_k is (J_kᵀ e_j)ᵀ: the gate's own backward (``vjp``) applied to the unit
    vector e_j of the output, summed back to the input's shape as the engine would. J_k has
    shape (o.size, x_k.size), output and input flattened in C order. Floating-point inputs
    are differentiated, in float64; the others (labels, conditions), and inputs left out of
    ``wrt``, get None. For the lecture's gates:

    * Add, z = x + y: J_x = J_y = I                                            (20.0)
    * SqErr, E = ½ Σ (t − o)²: J_o = (o − t)ᵀ, one row                          (20.1)
    * Sigmoid, o = σ(s): J_s = diag(σ(s)(1 − σ(s)))                             (20.2)
    * MatVec, s = W o: J_o = W, and J_W = I ⊗ oᵀ, so that J_Wᵀ g = g oᵀ         (20.3)
    """
    case = _GateCase(gate, inputs, wrt)
    return tuple(case.jacobian(k) if case.needs[k] else None for k in range(len(case.arrays)))


def explain_gate(
    gate: Any,
    *inputs: Any,
    g: Any = None,
    wrt: Sequence[int] | None = None,
    seed: int = 0,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> GateReport:
    """Check one gate's backward against its Jacobian and finite differences, and show it.

    For every differentiated input x_k the report holds, side by side: the Jacobian J_k
    (from :func:`local_jacobian`), the upstream gradient g = dE/do (random unless given),
    J_kᵀ g, what the gate's ``vjp`` returned for g, and the finite-difference estimate
    (central differences of ``forward`` with step ``eps``, also as a whole matrix). The gate
    passes when all three agree within ``atol + rtol·|finite difference|`` and its ``vjp``
    returns a gradient of the input's shape (after broadcast summing) for every input that
    needs one. ``print(report)`` shows it; ``report.passed`` is the verdict.
    """
    case = _GateCase(gate, inputs, wrt)
    o = case.output
    if g is None:
        g = np.random.default_rng(seed).standard_normal(o.shape)
    g = np.asarray(g.data if isinstance(g, Tensor) else g, dtype=np.float64)
    if g.shape != o.shape:
        raise ValueError(f"explain_gate: g has shape {g.shape} but the output has {o.shape}")
    report = GateReport(
        case.gate.name, _first_line(case.gate), case.arrays, o, g, atol=atol, rtol=rtol
    )
    try:
        returned = case.vjp(g)
    except Exception as error:  # a broken rule is what this function exists to report
        returned = None
        report.problems.append(f"vjp raised {type(error).__name__}: {error}")
    names = case.gate.input_names(len(case.arrays))
    for k, x in enumerate(case.arrays):
        part = InputReport(k, names[k], x.shape, case.needs[k])
        report.inputs.append(part)
        if not case.needs[k]:
            continue
        part.numeric_jacobian = case.numeric_jacobian(k, eps)
        part.numeric = (part.numeric_jacobian.T @ g.reshape(-1)).reshape(x.shape)
        try:
            part.jacobian = case.jacobian(k)
        except Exception as error:
            part.problems.append(
                f"backward on unit vectors failed: {type(error).__name__}: {error}"
            )
        if part.jacobian is not None:
            part.jtg = (part.jacobian.T @ g.reshape(-1)).reshape(x.shape)
        if returned is not None:
            part.returned = returned[k]
            if part.returned is None:
                part.problems.append("vjp returned None, but this input needs a gradient")
        part.compare(atol, rtol)
    return report


def _as_gate(gate: Any) -> Gate:
    """A gate object from a gate, a gate class, or a gate's functional form or Tensor
    method (``gg.sigmoid``, ``gg.Tensor.sigmoid``)."""
    if isinstance(gate, type) and issubclass(gate, Gate):
        return gate()
    if isinstance(gate, Gate):
        return gate
    name = getattr(gate, "__name__", None)
    own = (getattr(gate, "__module__", None) or "").startswith("gradgate")  # not np.sin
    if callable(gate) and name and own:
        for cls in REGISTRY.values():
            if cls.function == name or name in cls.methods:
                return cls()
    raise TypeError(
        f"expected a Gate, a gate class or a gate's function, got "
        f"{type(gate).__name__} {name or ''}".rstrip()
    )


class _GateCase:
    """A gate and float64 copies of its inputs, ready to run forward and backward."""

    def __init__(self, gate: Any, inputs: Sequence[Any], wrt: Sequence[int] | None):
        gate = _as_gate(gate)
        if not inputs:
            raise ValueError(f"{gate.name}: give the gate's input arrays")
        arrays = []
        for x in inputs:
            a = np.array(x.data if isinstance(x, Tensor) else x)  # a copy
            arrays.append(a.astype(np.float64) if a.dtype.kind == "f" else a)
        self.arrays = arrays
        self.needs = tuple(
            a.dtype.kind == "f" and (wrt is None or k in wrt) for k, a in enumerate(arrays)
        )
        if True not in self.needs:
            raise ValueError(f"{gate.name}: no floating-point input to differentiate")
        self.gate = gate  # a rule: running it here changes nothing in it
        self.xp = backend.namespace_of(arrays[0])
        self.output, self.saved = self._forward(arrays)

    def _forward(self, arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, Any]:
        out, saved = call_forward(self.gate, self.xp, arrays)
        return np.asarray(out, dtype=np.float64), saved

    def forward(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        return self._forward(arrays)[0]

    def vjp(self, g: np.ndarray) -> list[np.ndarray | None]:
        """The rule's J^T g for every input that needs it, summed to the input's shape."""
        result = call_vjp(self.gate, self.xp, g, self.output, self.arrays, self.needs, self.saved)
        if not isinstance(result, (tuple, list)) or len(result) != len(self.arrays):
            raise TypeError(
                f"vjp must return a tuple of {len(self.arrays)} entries (one per "
                f"input), got {type(result).__name__} {result!r:.60}"
            )
        out: list[np.ndarray | None] = []
        for k, (c, x) in enumerate(zip(result, self.arrays, strict=True)):
            if c is None or not self.needs[k]:
                out.append(None)
                continue
            c = np.asarray(c, dtype=np.float64)
            try:
                out.append(sum_to(c, x))
            except (RuntimeError, ValueError):
                raise ValueError(
                    f"vjp returned a gradient of shape {c.shape} for input {k} of shape {x.shape}"
                ) from None
        return out

    def jacobian(self, k: int) -> np.ndarray:
        """J_k, row by row: J_kᵀ e_j is the rule's answer to the upstream gradient e_j."""
        o, x = self.output, self.arrays[k]
        J = np.zeros((o.size, x.size))
        for j in range(o.size):
            e = np.zeros(o.size)
            e[j] = 1.0
            row = self.vjp(e.reshape(o.shape))[k]
            if row is not None:
                J[j] = row.reshape(-1)
        return J

    def numeric_jacobian(self, k: int, eps: float) -> np.ndarray:
        """J_k by central differences of forward: column i is (f(x + ε e_i) − f(x − ε e_i))
        / 2ε."""
        x = self.arrays[k]
        J = np.zeros((self.output.size, x.size))
        for i in range(x.size):
            shifted = list(self.arrays)
            step = np.zeros(x.size)
            step[i] = eps
            shifted[k] = x + step.reshape(x.shape)
            up = self.forward(shifted)
            shifted[k] = x - step.reshape(x.shape)
            down = self.forward(shifted)
            J[:, i] = ((up - down) / (2 * eps)).reshape(-1)
        self.forward(self.arrays)
        return J


class InputReport:
    """One input's part of an :func:`explain_gate` report."""

    def __init__(self, index: int, name: str, shape: tuple[int, ...], needed: bool):
        self.index = index
        self.name = name
        self.shape = shape
        self.needed = needed
        self.jacobian: np.ndarray | None = None  # from the rule, on unit vectors
        self.numeric_jacobian: np.ndarray | None = None  # from finite differences
        self.jtg: np.ndarray | None = None  # J^T g
        self.returned: np.ndarray | None = None  # what vjp returned for g
        self.numeric: np.ndarray | None = None  # finite-difference J^T g
        self.problems: list[str] = []

    @property
    def passed(self) -> bool:
        return not self.problems

    def compare(self, atol: float, rtol: float) -> None:
        """Record a problem wherever two of the three answers disagree."""
        checks = [
            ("the backward's J", self.jacobian, "finite differences' J", self.numeric_jacobian),
            ("vjp(g)", self.returned, "finite differences", self.numeric),
            ("vjp(g)", self.returned, "Jᵀ g", self.jtg),
        ]
        for name_a, a, name_b, b in checks:
            if a is None or b is None:
                continue
            if a.shape != b.shape:
                self.problems.append(f"{name_a} has shape {a.shape}, {name_b} {b.shape}")
                continue
            error = np.abs(a - b)
            allowed = atol + rtol * np.abs(b)
            if not np.all(error <= allowed):  # NaN fails too
                worst = (
                    np.unravel_index(int(np.nanargmax(error - allowed)), error.shape)
                    if np.isfinite(error).any()
                    else (0,) * error.ndim
                )
                self.problems.append(
                    f"{name_a} and {name_b} differ: at {tuple(int(i) for i in worst)} "
                    f"{a[worst]:.6g} vs {b[worst]:.6g}"
                )

    @property
    def error(self) -> float:
        """max |vjp(g) − finite differences|."""
        if (
            self.returned is None
            or self.numeric is None
            or self.returned.shape != self.numeric.shape
        ):
            return float("nan")
        return float(np.max(np.abs(self.returned - self.numeric), initial=0.0))


class GateReport:
    """What :func:`explain_gate` found; ``str(report)`` lays it out side by side."""

    def __init__(
        self,
        gate: str,
        formula: str,
        inputs: list[np.ndarray],
        output: np.ndarray,
        g: np.ndarray,
        atol: float,
        rtol: float,
    ):
        self.gate = gate
        self.formula = formula
        self.arrays = inputs
        self.output = output
        self.g = g
        self.atol = atol
        self.rtol = rtol
        self.inputs: list[InputReport] = []
        self.problems: list[str] = []

    @property
    def passed(self) -> bool:
        return not self.problems and all(part.passed for part in self.inputs)

    def failures(self) -> list[str]:
        """Every problem found, naming the input it concerns."""
        out = list(self.problems)
        for part in self.inputs:
            out += [f"input {part.index} ({part.name}): {p}" for p in part.problems]
        return out

    def __repr__(self) -> str:
        return f"<GateReport {self.gate}: {'passed' if self.passed else 'FAILED'}>"

    def __str__(self) -> str:
        lines = [f"explain_gate: {self.gate}" + (f" — {self.formula}" if self.formula else "")]
        lines.append(f"  output out, shape {self.output.shape}: {_brief(self.output)}")
        lines.append(f"  upstream g = dE/d(out): {_brief(self.g)}")
        for part in self.inputs:
            x = self.arrays[part.index]
            lines.append("")
            lines.append(f"input {part.index} ({part.name}), shape {part.shape}: {_brief(x)}")
            if not part.needed:
                lines.append("  not differentiated (not floating-point, or left out of wrt)")
                continue
            if part.jacobian is not None:
                rows, cols = part.jacobian.shape
                lines.append(
                    f"  J = ∂out/∂{part.name}, {rows} × {cols}, from the gate's "
                    "backward applied to unit vectors:"
                )
                lines += ["    " + line for line in _matrix(part.jacobian)]
            if part.jacobian is not None and part.numeric_jacobian is not None:
                gap = float(np.max(np.abs(part.jacobian - part.numeric_jacobian), initial=0))
                lines.append(f"  J by finite differences: max |difference| = {gap:.2g}")
            lines += ["  " + line for line in _columns(part)]
            lines.append(
                f"  max |backward − finite differences| = {part.error:.2g}"
                f"  (tolerance {self.atol:g} + {self.rtol:g}·|finite difference|)"
            )
            lines += [f"  problem: {p}" for p in part.problems]
        lines.append("")
        lines += [f"problem: {p}" for p in self.problems]
        if self.passed:
            lines.append(
                f"PASS: the backward of {self.gate} agrees with its Jacobian and with "
                "finite differences"
            )
        else:
            lines.append(f"FAIL: the backward of {self.gate} is wrong (see the problems above)")
        return "\n".join(lines)


def _columns(part: InputReport) -> list[str]:
    """Jᵀ g, what vjp returned and the finite differences, one element per line."""
    heads = ["element", "Jᵀ g", "backward returned", "finite differences"]
    columns = [part.jtg, part.returned, part.numeric]
    size = int(np.prod(part.shape))
    shown = min(size, 24)
    rows = [heads]
    for i in range(shown):
        where = np.unravel_index(i, part.shape) if part.shape else ()
        row = [str(tuple(int(w) for w in where)) if part.shape else "()"]
        for c in columns:
            row.append("—" if c is None or c.size != size else f"{c.reshape(-1)[i]:.8g}")
        rows.append(row)
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    out = ["  ".join(r[k].rjust(widths[k]) for k in range(4)) for r in rows]
    if shown < size:
        out.append(f"... {size - shown} more elements")
    return out


def _matrix(J: np.ndarray) -> list[str]:
    if J.shape[0] > 16 or J.shape[1] > 16:
        return [f"(a {J.shape[0]} × {J.shape[1]} matrix: too large to print)"]
    text = np.array2string(J, precision=4, suppress_small=True, max_line_width=96)
    return text.splitlines()


def _brief(a: np.ndarray) -> str:
    if a.size > 8:
        return f"array of shape {a.shape}"
    text = np.array2string(np.asarray(a), precision=4, separator=", ", suppress_small=True)
    return " ".join(text.split())  # one line


def _first_line(gate: Gate) -> str:
    doc = inspect.getdoc(type(gate)) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""
