"""Lowering a gate's rule to the NumPy calls it makes.

At capture the recorder runs each rule once more with :class:`Traced` arrays: each wraps
the real array and its slot, computes every operation on the real values as NumPy would,
and writes the call as one line of the tape. The tape then calls NumPy directly, with no
Python frame per gate, and can give a fresh result a buffer of its own (``out=``) that
every replay reuses.

Only what is sure to come out the same at every replay is written down: NumPy's ufuncs,
functions and array methods on traced arrays, with the other arguments kept as they were
(arrays copied). A rule that reads a value into Python (``float(x)``, ``if x.any():``, a
NumPy call hidden from the protocols) raises :class:`Unsupported`, and the recorder keeps
that gate as one call of its rule instead. The recorder also checks, bit for bit, that the
lowered calls gave what the eager rule gave.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable
from typing import Any

import numpy as np


class Unsupported(Exception):
    """The rule does something the lowering cannot write down."""


class _Current(threading.local):
    session: Session | None = None


_current = _Current()

# Functions whose result depends on shapes and dtypes only: their result is kept as it is.
_STATIC = {np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj}
# Functions whose result's shape follows the data: a rule calling one stays one call, and
# the recorder checks that shape at each replay.
_DATA_SHAPED = {np.nonzero, np.flatnonzero, np.argwhere, np.unique, np.compress, np.extract,
                np.trim_zeros}  # fmt: skip
# What an attribute may be without being recorded: facts fixed by the shapes and dtypes.
_FACTS = (int, tuple, np.dtype, bool, str, type(None), type(np.empty(0).flags))


def _session() -> Session:
    session = _current.session
    if session is None:
        raise Unsupported("a traced array outlived its tracing")
    return session


class Traced:
    """An array being traced: its real value, and the slot that holds it in the tape."""

    __slots__ = ("value", "slot")
    __array_priority__ = 10_000
    traced_array = True  # gates.base.is_array: a rule takes its path for arrays
    __hash__ = object.__hash__

    def __init__(self, value: Any, slot: int):
        self.value, self.slot = value, slot

    # --- facts and methods ---------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name == "nonzero":
            raise Unsupported("nonzero: a shape that follows the data")
        attribute = getattr(self.value, name)
        if callable(attribute):
            return _Method(self, name)
        if isinstance(attribute, (np.ndarray, np.generic)):  # .T, .real, .base
            return _session().call(getattr, (self, name), {}, attribute=name)
        if isinstance(attribute, _FACTS):
            return attribute
        raise Unsupported(f"attribute {name}")

    @property
    def T(self) -> Any:  # noqa: N802  (NumPy's name)
        return self.__getattr__("T")

    def __len__(self) -> int:
        return len(self.value)

    # --- reading values into Python: not lowered --------------------------------------------

    def _read(self, *_: Any) -> Any:
        raise Unsupported("a value read into Python")

    __bool__ = __float__ = __int__ = __index__ = __complex__ = __iter__ = _read
    __array__ = __repr__ = __str__ = __format__ = __reduce__ = _read

    # --- NumPy's protocols -----------------------------------------------------------------

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _session().ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        return _session().function(func, args, kwargs)

    # --- operators, as the ufuncs that NumPy's arrays call --------------------------------

    def __getitem__(self, index: Any) -> Any:
        parts = index if isinstance(index, tuple) else (index,)
        if any(isinstance(p, Traced) and p.value.dtype == bool for p in parts):
            raise Unsupported("a boolean mask: a shape that follows the data")
        return _session().call(operator.getitem, (self, index), {})

    def __setitem__(self, index: Any, value: Any) -> None:
        _session().call(operator.setitem, (self, index, value), {}, writes=self)


def _binary(ufunc: Any) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    def forward(self: Traced, other: Any) -> Any:
        return _session().ufunc(ufunc, "__call__", (self, other), {})

    def reflected(self: Traced, other: Any) -> Any:
        return _session().ufunc(ufunc, "__call__", (other, self), {})

    def in_place(self: Traced, other: Any) -> Any:
        return _session().ufunc(ufunc, "__call__", (self, other), {"out": (self,)})

    return forward, reflected, in_place


for _name, _ufunc in {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide,
    "floordiv": np.floor_divide, "mod": np.remainder, "pow": np.power,
    "matmul": np.matmul, "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor,
}.items():  # fmt: skip
    _f, _r, _i = _binary(_ufunc)
    setattr(Traced, f"__{_name}__", _f)
    setattr(Traced, f"__r{_name}__", _r)
    setattr(Traced, f"__i{_name}__", _i)
for _name, _ufunc in {
    "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
    "eq": np.equal, "ne": np.not_equal,
}.items():  # fmt: skip
    setattr(Traced, f"__{_name}__", _binary(_ufunc)[0])
for _name, _ufunc in {
    "neg": np.negative, "pos": np.positive, "abs": np.absolute, "invert": np.invert
}.items():  # fmt: skip
    setattr(
        Traced, f"__{_name}__", lambda self, u=_ufunc: _session().ufunc(u, "__call__", (self,), {})
    )


class _Method:
    """``traced.name`` as a method: calling it records ``v.name(...)``."""

    __slots__ = ("owner", "name")

    def __init__(self, owner: Traced, name: str):
        self.owner, self.name = owner, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = self.name

        def method(owner: Any, *a: Any, **k: Any) -> Any:
            return getattr(owner, name)(*a, **k)

        return _session().call(method, (self.owner, *args), kwargs, method=name)


class Session:
    """One rule's tracing: the lines it writes, kept only if the whole rule lowers."""

    def __init__(self, tape: Any):
        self.tape = tape
        self.lines: list[tuple[str, tuple[int, ...], tuple[int, ...], dict[str, Any]]] = []

    def __enter__(self) -> Session:
        if _current.session is not None:
            raise Unsupported("a rule traced inside another")
        _current.session = self
        self.errors = np.geterr()  # a rule may silence NumPy's warnings for a call or two
        return self

    def __exit__(self, *exc: Any) -> None:
        _current.session = None

    # --- arguments -------------------------------------------------------------------------

    def code(self, x: Any, uses: list[int]) -> str:
        """How the tape spells an argument; a traced array is its slot."""
        if isinstance(x, Traced):
            uses.append(x.slot)
            return f"v{x.slot}"
        if isinstance(x, np.generic):  # a NumPy number: immutable
            return self.tape.name(x)
        if isinstance(x, np.ndarray):  # made inside the rule: keep this value as it is now
            return self.tape.name(np.array(x, copy=True, order="K"), "c")
        if isinstance(x, tuple):
            return "(" + "".join(self.code(v, uses) + ", " for v in x) + ")"
        if isinstance(x, list):
            return "[" + ", ".join(self.code(v, uses) for v in x) + "]"
        if isinstance(x, dict):
            items = ", ".join(f"{self.tape.name(k)}: {self.code(v, uses)}" for k, v in x.items())
            return "{" + items + "}"
        if isinstance(
            x, (int, float, bool, str, slice, type(None), type(Ellipsis), np.dtype, type)
        ):
            return self.tape.name(x)
        if callable(x) and getattr(x, "__module__", "").startswith("numpy"):
            return self.tape.name(x)
        raise Unsupported(f"an argument of type {type(x).__name__}")

    @staticmethod
    def real(x: Any) -> Any:
        if isinstance(x, Traced):
            return x.value
        if isinstance(x, tuple):
            return tuple(Session.real(v) for v in x)
        if isinstance(x, list):
            return [Session.real(v) for v in x]
        if isinstance(x, dict):
            return {k: Session.real(v) for k, v in x.items()}
        return x

    # --- recording ---------------------------------------------------------------------------

    def ufunc(self, ufunc: Any, method: str, inputs: tuple, kwargs: dict) -> Any:
        out = kwargs.get("out")
        if out is not None:
            outs = out if isinstance(out, tuple) else (out,)
            if not all(isinstance(o, Traced) for o in outs):
                raise Unsupported("out= into an array the rule did not compute")
            kwargs = {**kwargs, "out": outs}
            function = ufunc if method == "__call__" else getattr(ufunc, method)
            self.call(function, inputs, kwargs, writes=outs[0])
            return outs[0] if len(outs) == 1 else outs
        if method == "at":
            if not isinstance(inputs[0], Traced):
                raise Unsupported("ufunc.at into an array the rule did not compute")
            return self.call(ufunc.at, inputs, kwargs, writes=inputs[0])
        function = ufunc if method == "__call__" else getattr(ufunc, method)
        fresh = method == "__call__" and ufunc.nout == 1
        return self.call(function, inputs, kwargs, fresh=fresh)

    def function(self, func: Any, args: tuple, kwargs: dict) -> Any:
        if func in _DATA_SHAPED or (func is np.where and len(args) + len(kwargs) == 1):
            raise Unsupported(f"{func.__name__}: a shape that follows the data")
        if func in _STATIC:
            return func(*self.real(args), **self.real(kwargs))
        if kwargs.get("out") is not None:
            raise Unsupported(f"{func.__name__}(out=)")
        return self.call(func, args, kwargs)

    def call(
        self,
        function: Any,
        args: tuple,
        kwargs: dict,
        *,
        method: str | None = None,
        attribute: str | None = None,
        fresh: bool = False,
        writes: Traced | None = None,
    ) -> Any:
        """Run ``function`` on the real values and write the call as a line: a function
        call, ``owner.method(...)`` or ``owner.attribute`` (``args[0]`` is the owner)."""
        result = function(*self.real(args), **self.real(kwargs))
        uses: list[int] = []
        if attribute is not None:
            code = f"{self.code(args[0], uses)}.{attribute}"
        else:
            first = 1 if method is not None else 0
            parts = [self.code(a, uses) for a in args[first:]]
            parts += [f"{k}={self.code(v, uses)}" for k, v in kwargs.items()]
            if method is not None:
                code = f"{self.code(args[0], uses)}.{method}({', '.join(parts)})"
            else:
                code = f"{self.tape.name(function, 'np')}({', '.join(parts)}@OUT@)"
        errors = np.geterr()
        if errors != self.errors:  # under the rule's np.errstate: so at each replay too
            state = ", ".join(f"{k}={self.tape.name(v)}" for k, v in errors.items())
            code = f"with {self.tape.name(np.errstate, 'errstate')}({state}): @SET@{code}"
        if writes is not None:
            code = code.replace("@OUT@", "").replace("@SET@", "")
            self.lines.append((code, tuple(uses), (), {}))
            return None
        return self._result(result, code, tuple(uses), fresh)

    def _result(self, result: Any, code: str, uses: tuple[int, ...], fresh: bool) -> Any:
        if isinstance(result, (np.ndarray, np.generic)):
            slot = self.tape.new()
            fresh = fresh and isinstance(result, np.ndarray) and result.ndim > 0
            extra = {"fresh": result} if fresh else {}
            line = code.replace("@SET@", f"v{slot} = ") if "@SET@" in code else f"v{slot} = {code}"
            self.lines.append((line, uses, (slot,), extra))
            return Traced(result, slot)
        if (
            isinstance(result, tuple)
            and result
            and all(isinstance(r, (np.ndarray, np.generic)) for r in result)
        ):
            slots = [self.tape.new() for _ in result]
            targets = "".join(f"v{s}, " for s in slots)
            code = code.replace("@OUT@", "")
            line = (
                code.replace("@SET@", f"{targets}= ") if "@SET@" in code else f"{targets}= {code}"
            )
            self.lines.append((line, uses, tuple(slots), {}))
            return tuple(Traced(r, s) for r, s in zip(result, slots, strict=True))
        raise Unsupported(f"a result of type {type(result).__name__}")


_CONVERSIONS = ("asarray", "asanyarray", "ascontiguousarray", "array")


def namespace(xp: Any) -> Any:
    """``xp`` for a rule being traced: NumPy's conversions of a traced array (which NumPy
    does not dispatch) are written down too."""
    traced = _namespaces.get(id(xp))
    if traced is None:
        import types

        fields = dict(vars(xp))
        for name in _CONVERSIONS:
            fields[name] = _conversion(getattr(xp, name))
        traced = _namespaces[id(xp)] = types.SimpleNamespace(**fields)
    return traced


_namespaces: dict[int, Any] = {}


def _conversion(function: Any) -> Any:
    def convert(a: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(a, Traced):
            return _session().call(function, (a, *args), kwargs)
        return function(a, *args, **kwargs)

    return convert
