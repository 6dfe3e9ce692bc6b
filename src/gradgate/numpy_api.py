"""NumPy's functions on Tensors: ``np.sin(t)``, ``np.sum(t, axis=0)``, ``np.float64(2) * t``.

A Tensor implements NumPy's two dispatch protocols (NEP 13 ``__array_ufunc__``, NEP 18
``__array_function__``), and both land here. A NumPy function called with a Tensor either

- runs the gradgate function that computes it with NumPy's meaning and returns a Tensor in
  the graph: the table :func:`table` maps each NumPy name to that function. It is read
  from the gates (``Gate.numpy``: the names a gate's functional form computes) and from
  the hand-written functions of ``gradgate.functional`` (``gradgate.indexing``'s among
  them) and ``gradgate.linalg`` marked with ``@implements``, each time the registry
  grows, so a gate added later is dispatched once it names its NumPy functions;
- or computes an answer that carries no gradient by nature (comparisons, ``np.isnan``,
  ``np.argmax``, ``np.shape``, ``np.allclose``) on the values, a Tensor with no graph;
- or raises TypeError naming the function and what to use instead.

It never hands back an ndarray that silently lost the graph. ``np.asarray(t)`` and
``np.array(t)`` are explicit conversions (``Tensor.__array__``): they give the values, as
``t.numpy()`` does, with no gradient, whether or not ``t`` requires one.

NumPy's arguments are read against the NumPy function's own signature, so that
``np.sum(t, 0)`` means ``axis=0`` and ``np.var(t)`` means ``ddof=0``, and passed to
gradgate by name; an argument gradgate cannot honour (``dtype=``, ``out=`` on a graph,
``where=``) raises instead of being dropped.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from . import functional as F
from .engine import is_grad_enabled
from .gates import REGISTRY
from .replay.state import replayed
from .tensor import Tensor, _constant

# NumPy functions whose answer carries no gradient by nature: computed on the values.
NO_GRADIENT = frozenset(
    {
        "shape",
        "ndim",
        "size",
        "result_type",
        "can_cast",
        "min_scalar_type",
        "iscomplexobj",
        "isrealobj",
        "iscomplex",
        "isreal",
        "allclose",
        "isclose",
        "array_equal",
        "array_equiv",
        "count_nonzero",
        "nonzero",
        "flatnonzero",
        "argwhere",
        "isnan",
        "isinf",
        "isfinite",
        "isposinf",
        "isneginf",
        "signbit",
        "equal",
        "not_equal",
        "less",
        "less_equal",
        "greater",
        "greater_equal",
        "logical_and",
        "logical_or",
        "logical_xor",
        "logical_not",
        "bitwise_and",
        "bitwise_or",
        "bitwise_xor",
        "invert",
        "left_shift",
        "right_shift",
        "gcd",
        "lcm",
    }
)

# ufunc methods other than __call__ that have a gradgate form: (ufunc, method) → function
_UFUNC_METHODS = {
    ("add", "reduce"): "sum",
    ("multiply", "reduce"): "prod",
    ("maximum", "reduce"): "amax",
    ("minimum", "reduce"): "amin",
    ("add", "accumulate"): "cumsum",
    ("multiply", "accumulate"): "cumprod",
}

_cache: dict[str, Any] = {"key": None}


def table() -> dict[str, str]:
    """NumPy name → name of the gradgate function that computes it, in
    ``gradgate.functional`` (``"sin"``; ``"linalg.solve"`` for ``gradgate.linalg.solve``)."""
    key = (len(REGISTRY), len(vars(F)))
    if _cache["key"] != key:
        names: dict[str, str] = {}
        for cls in REGISTRY.values():
            if cls.function is not None:
                for name in cls.numpy:
                    names[name] = cls.function
        for prefix, module in (("", F), ("linalg.", F.linalg)):
            for fname, value in vars(module).items():
                marked = getattr(value, "numpy", None) if inspect.isfunction(value) else None
                for name in marked if isinstance(marked, tuple) else ():
                    names[name] = prefix + fname
        _cache.update(
            key=key,
            table=names,
            gates={cls.function: cls for cls in REGISTRY.values() if cls.function is not None},
        )
    return _cache["table"]


def _function(function_name: str) -> Callable[..., Any]:
    """The gradgate function a name of :func:`table` names."""
    target: Any = F
    for part in function_name.split("."):
        target = getattr(target, part)
    return target


def _gate_of(function_name: str) -> Any:
    table()
    return _cache["gates"].get(function_name)


def _numpy_name(func: Any) -> str:
    """``"sum"`` for ``np.sum``, ``"linalg.norm"`` for ``np.linalg.norm``."""
    module = getattr(func, "__module__", None) or "numpy"
    if module == "numpy" or module.startswith("numpy._"):
        return func.__name__
    return f"{module.removeprefix('numpy.')}.{func.__name__}"


def _unsupported(name: str, why: str = "") -> TypeError:
    short = name.rsplit(".", 1)[-1]
    own = getattr(F, short, None)
    instead = (
        f"use gradgate.{short} (its arguments are documented there)"
        if callable(own)
        else "compose it of gradgate functions, or convert explicitly with "
        "t.detach().numpy() (without a gradient)"
    )
    return TypeError(
        f"numpy.{name} is not supported on gradgate Tensors{why}: its result "
        f"would be an array without the gradient; {instead}"
    )


def _values(x: Any) -> Any:
    """Tensors (inside lists and tuples too) replaced by their arrays."""
    if isinstance(x, Tensor):
        return x.numpy()
    if isinstance(x, (list, tuple)):
        return type(x)(_values(v) for v in x)
    return x


@replayed
def _no_gradient(func: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    result = func(*_values(args), **{k: _values(v) for k, v in kwargs.items()})
    if isinstance(result, np.ndarray):
        return _constant(result)
    if isinstance(result, tuple) and all(isinstance(r, np.ndarray) for r in result):
        return tuple(_constant(r) for r in result)
    return result


def _accepted(target: Callable[..., Any], function_name: str) -> set[str] | None:
    """The keywords ``target`` takes, or None when it takes any."""
    cls = _gate_of(function_name)
    inspected = cls.__init__ if cls is not None and target.__name__ == cls.function else target
    try:
        parameters = inspect.signature(inspected).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters}


def call_function(name: str, func: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """``func(*args, **kwargs)`` (a NumPy function) as the gradgate function of the table."""
    function_name = table()[name]
    target = _function(function_name)
    cls = _gate_of(function_name)
    renames = dict(getattr(target, "numpy_keywords", {}))
    defaults = dict(getattr(target, "numpy_defaults", {}))
    if cls is not None and cls.function == function_name:
        renames.update(cls.numpy_keywords)
        defaults.update(cls.numpy_defaults)
    try:
        signature = inspect.signature(func)
        bound = signature.bind(*args, **kwargs)
    except (TypeError, ValueError) as error:
        if isinstance(error, TypeError) and "signature" not in str(error):
            raise TypeError(f"numpy.{name}: {error}") from None
        return target(*args, **kwargs)  # no Python signature: pass the call as it is
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    for pname, value in bound.arguments.items():
        p = signature.parameters[pname]
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            positional.extend(value)
        elif p.kind is inspect.Parameter.VAR_KEYWORD:
            keywords.update(value)
        elif p.default is inspect.Parameter.empty:
            positional.append(value)
        elif value is not p.default and not (value is None and p.default is None):
            given = renames.get(pname, pname)
            if given in keywords:  # NumPy's two names for one argument (rcond, rtol)
                raise TypeError(f"numpy.{name}: give {given}= or {pname}=, not both")
            keywords[given] = value
    if "out" in keywords:
        raise TypeError(
            f"numpy.{name}: out= would write the result into an array outside "
            "the graph; assign the returned tensor instead"
        )
    accepted = _accepted(target, function_name)
    if accepted is not None:
        refused = sorted(k for k in keywords if k not in accepted)
        if refused:
            raise TypeError(
                f"numpy.{name}: gradgate.{function_name} does not take "
                f"{', '.join(k + '=' for k in refused)}; leave them out or "
                "convert the result afterwards"
            )
    for k, v in defaults.items():
        keywords.setdefault(k, v)
    return target(*positional, **keywords)


def array_function(func: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """``Tensor.__array_function__``: NumPy's functions (not ufuncs) on Tensors."""
    name = _numpy_name(func)
    if name in table():
        return call_function(name, func, args, kwargs)
    if func.__name__ in NO_GRADIENT:
        return _no_gradient(func, args, kwargs)
    raise _unsupported(name)


_UFUNC_DEFAULTS = {
    "where": True,
    "casting": "same_kind",
    "order": "K",
    "dtype": None,
    "subok": True,
    "signature": None,
    "axis": None,
    "keepdims": False,
}


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    """``Tensor.__array_ufunc__``: ``np.sin(t)``, ``np.float64(2) * t``, ``a + t``."""
    name = ufunc.__name__
    out = kwargs.pop("out", None)
    if name in NO_GRADIENT and method == "__call__":
        result = _no_gradient(ufunc, inputs, kwargs if out is None else {**kwargs, "out": out})
        return result
    if out is not None:
        return _into(ufunc, method, inputs, kwargs, out)
    if method != "__call__":
        function_name = _UFUNC_METHODS.get((name, method))
        if function_name is None:
            raise _unsupported(f"{name}.{method}")
        options = dict(kwargs)
        axis = options.pop("axis", 0)
        keepdims = options.pop("keepdims", False)
        if method == "accumulate":
            keep: dict[str, Any] = {}
            if keepdims:
                raise TypeError(f"numpy.{name}.{method}: does not take keepdims=")
        else:
            keep = {"keepdims": keepdims}
        _refuse_options(f"{name}.{method}", options)
        return getattr(F, function_name)(inputs[0], axis=axis, **keep)
    _refuse_options(name, kwargs)
    if name not in table():
        raise _unsupported(name)
    return _function(table()[name])(*inputs)


def _refuse_options(name: str, kwargs: dict) -> None:
    refused = sorted(
        k
        for k, v in kwargs.items()
        if k not in _UFUNC_DEFAULTS
        or _UFUNC_DEFAULTS[k] is not v
        and not (isinstance(v, str) and v == _UFUNC_DEFAULTS[k])
    )
    if refused:
        raise TypeError(
            f"numpy.{name}: gradgate does not take {', '.join(k + '=' for k in refused)} on Tensors"
        )


def _into(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict, out: tuple) -> Any:
    """A ufunc with ``out=``: allowed only where no gradient is lost, computed on the
    values; an out Tensor is changed in place (its version counter bumped)."""
    if is_grad_enabled() and any(isinstance(x, Tensor) and x.requires_grad for x in inputs):
        raise TypeError(
            f"numpy.{ufunc.__name__} with out=: the result would be written into "
            "an array outside the graph, without the gradient; assign the "
            "returned tensor instead, or update under gg.no_grad()"
        )
    for o in out:
        if isinstance(o, Tensor):
            o._mutable(f"numpy.{ufunc.__name__}(out=)")
    arrays = tuple(o._data if isinstance(o, Tensor) else o for o in out)
    getattr(ufunc, method)(*_values(inputs), out=arrays, **kwargs)
    return out[0] if len(out) == 1 else out
