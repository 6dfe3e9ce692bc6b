"""What a gate is, and the one table that lists them all.

A gate is a rule: it computes its output forward and, backward, returns J^T g for each
input, the vector-Jacobian product of its Jacobian J with g = dE/d(output) (lecture 20.2).
It holds its non-tensor parameters (an axis, a shape) and nothing else, so one gate object
can be applied any number of times, in any graphs, from any thread. What one application
saved (its inputs, which of them need a gradient) lives in the engine's
:class:`~gradgate.engine.Node`, not here.

Everything about one gate sits in its class: the rule (``forward``, ``vjp``), its formulas
for traces and pictures, its sample inputs for the checkers, its PyTorch reference for the
tests, and the names under which ``gradgate.functional`` and ``Tensor`` offer it. To add a
gate, write one such class and decorate it with :func:`register` (docs/writing-a-gate.md).
"""

from __future__ import annotations

import inspect
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

REGISTRY: dict[str, type[Gate]] = {}

G = TypeVar("G", bound="type[Gate]")

VJP_KEYWORDS = ("needs", "saved")  # what the engine hands a vjp that names them
NEEDS = frozenset({"needs"})  # the common case, shared so the engine can test it by identity


class Gate:
    """A rule of the computation graph.

    ``forward(xp, *inputs)`` gets the input arrays and returns the output array.
    ``vjp(xp, g, o, *inputs)`` gets the upstream gradient ``g`` = dE/do, the output ``o`` and
    the inputs, and returns a tuple with one entry per input: J^T g, or None for an input
    that takes no gradient. A vjp may also name keyword-only parameters:

    - ``needs``: a tuple of booleans, one per input, True where a gradient is wanted, so
      that work for the others can be skipped;
    - ``saved``: what ``forward`` saved for it. A gate whose vjp names ``saved`` returns
      ``(output, saved)`` from ``forward``. Keep there only what is not differentiable in
      the inputs (indices, masks): with ``create_graph=True`` the rule runs again on
      Tensors and must recompute anything it differentiates, or second derivatives would
      treat it as a constant.

    On the fast path the arguments are arrays and ``xp`` is their array namespace; with
    ``create_graph=True`` they are Tensors and ``xp`` is ``gradgate.functional``, so the
    same rule builds a differentiable graph of the gradient. A rule never writes onto
    ``self``, never mutates its arguments, and never sums or un-broadcasts: the engine does.

    Class attributes that describe the gate where it is defined:

    ``function``  the name of its functional form, ``gradgate.<function>(...)``: the inputs
                  first, then the constructor's parameters; None when a hand-written
                  function in ``gradgate.functional`` composes it instead.
    ``methods``   names under which ``Tensor`` offers it (``x.sigmoid()``).
    ``formula``   the forward in text, with the inputs' names in braces and ``{out}`` for
                  the output: ``"{out} = σ({s})"``; ``tex`` the same in LaTeX.
    ``gradients`` per input, J^T g in text with ``{g}`` for dE/d(out):
                  ``("{g} ⊙ {out} ⊙ (1 − {out})",)``; ``tex_gradients`` in LaTeX. Empty
                  where only the general (∂out/∂x)ᵀ g form is shown.
    ``numpy``     the NumPy functions (and ufuncs) that ``gradgate.<function>`` computes
                  with NumPy's meaning, so that ``np.sin(t)`` on a Tensor runs this gate
                  (``gradgate.numpy_api``); ``numpy_keywords`` renames NumPy's keywords
                  to the constructor's (``{"ddof": "correction"}``) and
                  ``numpy_defaults`` gives the constructor values that make NumPy's
                  defaults (``{"correction": 0}``).
    ``promoted``  which inputs are brought to one dtype, PyTorch's result type
                  (``gradgate.dtypes.result_dtype``), before the rule runs: a slice of
                  the inputs, or None where the dtypes mean different things (labels,
                  indices).
    """

    function: ClassVar[str | None] = None
    methods: ClassVar[tuple[str, ...]] = ()
    formula: ClassVar[str] = ""
    tex: ClassVar[str] = ""
    gradients: ClassVar[tuple[str, ...]] = ()
    tex_gradients: ClassVar[tuple[str, ...]] = ()
    numpy: ClassVar[tuple[str, ...]] = ()
    numpy_keywords: ClassVar[dict[str, str]] = {}
    numpy_defaults: ClassVar[dict[str, Any]] = {}
    promoted: ClassVar[slice | None] = None
    vjp_keywords: ClassVar[frozenset[str]] = frozenset()  # set for each subclass, below
    saves: ClassVar[bool] = False  # "saved" in vjp_keywords: forward returns (output, saved)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Note which of ``needs`` and ``saved`` the class's ``vjp`` asks for, so that the
        engine passes exactly those."""
        super().__init_subclass__(**kwargs)
        parameters = inspect.signature(cls.vjp).parameters.values()
        keywords = {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
        unknown = keywords - set(VJP_KEYWORDS)
        if unknown:
            raise TypeError(
                f"{cls.__name__}.vjp: unknown keyword-only parameters "
                f"{sorted(unknown)}; the engine passes only "
                f"{', '.join(VJP_KEYWORDS)}"
            )
        cls.vjp_keywords = NEEDS if keywords == NEEDS else frozenset(keywords)
        cls.saves = "saved" in keywords

    def forward(self, xp: Any, *inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    def vjp(self, xp: Any, g: Any, o: Any, *inputs: Any, **keywords: Any) -> tuple:
        raise NotImplementedError(f"{type(self).__name__} has no vjp")

    @classmethod
    def samples(cls, draw: Draw) -> list[Sample]:
        """Float64 sample cases (several shapes, broadcasting where the gate broadcasts)
        that every checker runs the gate on. Every registered gate defines it."""
        raise NotImplementedError(f"{cls.__name__} has no sample inputs")

    def reference(self, torch: Any, *inputs: Any) -> Any:
        """The same forward written with PyTorch's operations on torch tensors, for the
        tests (PyTorch is never imported by gradgate itself)."""
        raise NotImplementedError(f"{type(self).__name__} has no PyTorch reference")

    @property
    def name(self) -> str:
        return type(self).__name__

    def input_names(self, count: int) -> list[str]:
        """The names ``forward`` gives its inputs (``W``, ``o``), or ``x0, x1, ...`` when it
        takes a variable number of them."""
        return _input_names(type(self), count)

    def params(self) -> dict[str, Any]:
        """The non-tensor parameters, as given to the constructor."""
        return dict(vars(self))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{self.name}({args})"


def is_array(x: Any) -> bool:
    """True for a NumPy or CuPy array, False for a Tensor: a rule that runs on Tensors is
    running under ``create_graph``, and must compute what it differentiates from them."""
    return (
        isinstance(x, np.ndarray)
        or hasattr(x, "__cuda_array_interface__")
        or getattr(type(x), "traced_array", False)  # gradgate.replay.lower.Traced
    )


def is_host_array(x: Any) -> bool:
    """True for a NumPy array (or one being traced by a capture), False for a CuPy array
    or a Tensor: what a rule asks before a layout chosen for the CPU's caches."""
    return is_array(x) and not hasattr(x, "__cuda_array_interface__")


_names_cache: dict[tuple[type, int], list[str]] = {}


def _input_names(cls: type[Gate], count: int) -> list[str]:
    key = (cls, count)
    if key not in _names_cache:
        names = forward_input_names(cls)
        _names_cache[key] = (
            names if names is not None and len(names) == count else [f"x{k}" for k in range(count)]
        )
    return _names_cache[key]


def forward_input_names(cls: type[Gate]) -> list[str] | None:
    """The input names of ``forward`` (after ``self, xp``), or None when it takes ``*inputs``."""
    try:
        parameters = list(inspect.signature(cls.forward).parameters.values())[2:]
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return None
    return [p.name for p in parameters]


def register(cls: G) -> G:
    """Add a gate class to the registry under its class name: the checkers, the fuzzers,
    ``gradgate.functional`` and ``Tensor`` methods then cover it."""
    name = cls.__name__
    if name in REGISTRY and REGISTRY[name] is not cls:
        raise ValueError(f"a gate named {name!r} is already registered")
    REGISTRY[name] = cls
    return cls


# --- sample inputs ---------------------------------------------------------------------


@dataclass
class Sample:
    """One way to call a gate: its input arrays and its constructor parameters.

    Floating-point inputs are the ones differentiated; integer and boolean inputs (labels,
    conditions) are constants.
    """

    inputs: tuple[np.ndarray, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def gate(self, cls: type[Gate] | str) -> Gate:
        return (REGISTRY[cls] if isinstance(cls, str) else cls)(**self.params)

    def describe(self) -> str:
        shapes = ", ".join(str(a.shape) for a in self.inputs)
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items() if k != "index")
        return f"inputs {shapes}" + (f"; {params}" if params else "")


class Draw:
    """Random float64 arrays for sample inputs, each kind kept where a rule is smooth."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def normal(self, *shape: int) -> np.ndarray:
        return self.rng.standard_normal(shape)

    def positive(self, *shape: int, low: float = 0.5, high: float = 2.0) -> np.ndarray:
        return self.rng.uniform(low, high, shape)

    def uniform(self, *shape: int, low: float = -1.0, high: float = 1.0) -> np.ndarray:
        return self.rng.uniform(low, high, shape)

    def apart(self, *shape: int) -> np.ndarray:
        """Values at least 0.1 apart and away from 0, where a kink or a tie would spoil
        finite differences."""
        size = int(np.prod(shape))
        values = self.rng.permutation(np.arange(1, size + 1)) * 0.2 - 0.1
        return (values - values.mean()).reshape(shape) + 0.05

    def probabilities(self, *shape: int) -> np.ndarray:
        return self.rng.uniform(0.05, 0.95, shape)

    def integers(self, low: int, high: int, *shape: int) -> np.ndarray:
        return self.rng.integers(low, high, shape)


def samples(rng: np.random.Generator | None = None) -> dict[str, list[Sample]]:
    """Every registered gate's sample cases, by gate name. One seed is drawn from ``rng``;
    each gate draws from its own generator, seeded by that and its name, so that a gate's
    samples do not change when other gates are added."""
    seed = int((rng or np.random.default_rng(0)).integers(2**32))
    return {
        name: cls.samples(Draw(np.random.default_rng([seed, zlib.crc32(name.encode())])))
        for name, cls in sorted(REGISTRY.items())
    }


def functional_form(cls: type[Gate]) -> Callable[..., Any]:
    """``gradgate.<cls.function>``: apply a gate of ``cls`` to the inputs, the remaining
    arguments going to its constructor. Parameterless gates share one instance."""
    from ..conventions import torch_keywords
    from ..engine import apply  # the engine imports the gates; this runs after both

    names = forward_input_names(cls)
    takes_params = cls.__init__ is not object.__init__
    fn: Callable[..., Any]
    if names is None:  # a variable number of inputs, given as one sequence

        def many(inputs: Any, *args: Any, **kwargs: Any) -> Any:
            return apply(cls(*args, **kwargs), *inputs)

        fn = many
    elif takes_params:
        count = len(names)

        def with_params(*args: Any, **kwargs: Any) -> Any:
            if "dim" in kwargs or "keepdim" in kwargs:  # PyTorch's names for axis, keepdims
                kwargs = torch_keywords(cls.function or cls.__name__, kwargs)
            if len(args) < count:
                raise TypeError(f"{cls.function}() takes {count} input(s): {', '.join(names)}")
            return apply(cls(*args[count:], **kwargs), *args[:count])

        fn = with_params
    else:
        gate = cls()
        if len(names) == 1:

            def unary(x: Any) -> Any:
                return apply(gate, x)

            fn = unary
        elif len(names) == 2:

            def binary(x: Any, y: Any) -> Any:
                return apply(gate, x, y)

            fn = binary
        else:

            def nary(*inputs: Any) -> Any:
                return apply(gate, *inputs)

            fn = nary
    fn.__name__ = fn.__qualname__ = cls.function or cls.__name__.lower()
    fn.__doc__ = cls.__doc__
    fn.__module__ = "gradgate.functional"
    return fn


def implements(
    *names: str, keywords: dict[str, str] | None = None, defaults: dict[str, Any] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a hand-written function (of ``gradgate.functional``, ``gradgate.indexing`` or
    ``gradgate.linalg``) as computing the NumPy functions ``names`` with NumPy's meaning,
    as ``Gate.numpy`` marks a gate's form. ``keywords`` renames NumPy's keywords to the
    function's and ``defaults`` gives the function's values that make NumPy's defaults,
    as ``Gate.numpy_keywords`` and ``Gate.numpy_defaults`` do for a gate."""

    def mark(function: Callable[..., Any]) -> Callable[..., Any]:
        function.numpy = names  # type: ignore[attr-defined]
        function.numpy_keywords = dict(keywords or {})  # type: ignore[attr-defined]
        function.numpy_defaults = dict(defaults or {})  # type: ignore[attr-defined]
        return function

    return mark
