"""``gradgate.capture``: run a step once eagerly, then replay its tape."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import backend
from ..engine import _mode, is_grad_enabled, observe
from ..tensor import Tensor
from . import state
from .recorder import Recorder
from .state import CaptureError
from .tape import compiled


def _flatten(x: Any, flat: list[Any]) -> Any:
    """The structure of ``x`` with its tensors and arrays moved into ``flat``."""
    if isinstance(x, Tensor) or isinstance(x, np.ndarray):
        flat.append(x)
        return ("@",)
    if backend.device_of_or_none(x) is not None:
        flat.append(x)
        return ("@",)
    if isinstance(x, (tuple, list)):
        return (type(x).__name__, tuple(_flatten(v, flat) for v in x))
    if isinstance(x, dict):
        return ("dict", tuple((k, _flatten(v, flat)) for k, v in x.items()))
    if x is None or isinstance(x, (bool, int, float, str, np.generic)):
        return ("=", type(x).__name__, x)
    return ("id", id(x))  # any other object: this very object


def _signature(x: Any) -> tuple:
    if isinstance(x, Tensor):
        a = x._data
        return ("T", type(a), a.shape, a.strides, a.dtype, x.requires_grad)
    return ("A", type(x), x.shape, x.strides, x.dtype.str)


def _key(args: tuple, kwargs: dict) -> tuple[list[Any], Any]:
    """The call's tensors and arrays, flattened, and the key of its tape: the structure of
    the arguments, each tensor's kind of array, shape, layout (strides), dtype and
    requires_grad, the Python values among them, and whether grad mode is on."""
    if not kwargs:  # the common case first: tensors as positional arguments, or nothing
        signature = []
        for x in args:
            if type(x) is not Tensor:
                break
            a = x._data
            signature.append((type(a), a.shape, a.strides, a.dtype, x.requires_grad))
        else:
            flat = list(args)
            aliases = _aliases(flat) if len(flat) > 1 else None
            return flat, (len(args), tuple(signature), aliases, _mode.enabled)
    flat = []
    structure = _flatten((args, kwargs), flat)
    described = tuple(_signature(x) for x in flat)
    return flat, (structure, described, _aliases(flat), is_grad_enabled())


def _aliases(flat: list[Any]) -> tuple[int, ...] | None:
    """Which arguments are one object, or hold one array (``step(x, x)``): a tape reads
    each argument where the first call found it, so that must stay as it was."""
    if len(flat) < 2:
        return None
    ids = [id(x._data) if isinstance(x, Tensor) else id(x) for x in flat]
    if len(set(ids)) == len(ids):
        return None
    return tuple(ids.index(i) for i in ids)


class _Guard:
    """What a replay assumes beyond the arguments' shapes: the tensors it reads from outside
    keep their array's kind, shape, layout and dtype and whether they require grad;
    modules keep their training flag; optimisers keep their parameters, in their groups, and
    a group whose update the tape writes out keeps that update.
    Checked before every replay by one straight-line function written for this tape."""

    def __init__(self, recorder: Recorder):
        objects: dict[str, Any] = {}
        lines = ["def holds():"]

        def name(value: Any, hint: str) -> str:
            key = f"{hint}{len(objects)}"
            objects[key] = value
            return key

        for t in recorder.externals.values():
            a = t._data
            tensor, kind, shape = name(t, "t"), name(type(a), "kind"), name(a.shape, "shape")
            strides, dtype = name(a.strides, "strides"), name(a.dtype, "dtype")
            lines += [
                f"    a = {tensor}._data",
                f"    if type(a) is not {kind} or a.shape != {shape} or a.strides != {strides}:",
                "        return False",
                f"    if a.dtype is not {dtype} and a.dtype != {dtype}:",
                "        return False",
                f"    if {tensor}.requires_grad is not {name(t.requires_grad, 'flag')}:",
                "        return False",
            ]
        for m in recorder.modules.values():
            module = name(m, "m")
            training = name(m.training, "flag")
            lines += [f"    if {module}.training is not {training}:", "        return False"]
        for o in recorder.optimizers.values():
            groups = f"{name(o, 'o')}.param_groups"
            lines += [f"    if len({groups}) != {len(o.param_groups)}:", "        return False"]
            for k, group in enumerate(o.param_groups):
                params = group["params"]
                same = " and ".join(f"ps[{j}] is {name(p, 'p')}" for j, p in enumerate(params))
                lines += [
                    f"    ps = {groups}[{k}]['params']",
                    f"    if len(ps) != {len(params)} or not ({same or 'True'}):",
                    "        return False",
                ]
        for o, plain in recorder.plain.values():
            optimizer = name(o, "o")
            for index in sorted(plain):
                group = f"{optimizer}.param_groups[{index}]"
                lines += [f"    if not {optimizer}.plain({group}):", "        return False"]
        lines.append("    return True")
        self.source = "\n".join(lines) + "\n"
        exec(compiled(self.source), objects)  # noqa: S102
        self.holds: Callable[[], bool] = objects["holds"]


class Captured:
    """A step function, captured: see :func:`capture`."""

    def __init__(self, fn: Callable[..., Any], max_captures: int = 8):
        if not callable(fn):
            raise TypeError(f"capture: expected a function, got {type(fn).__name__}")
        if not (isinstance(max_captures, int) and max_captures >= 1):
            raise ValueError(f"capture: max_captures must be a positive int, got {max_captures!r}")
        self.fn = fn
        self.max_captures = max_captures
        self.captures = 0  # how many times the function was captured (run eagerly, recorded)
        self.replays = 0
        self._tapes: OrderedDict[Any, tuple[Any, Callable[[], bool]]] = OrderedDict()
        self._lock = threading.Lock()
        functools.update_wrapper(self, fn)

    @property
    def cached(self) -> int:
        """How many tapes are kept now (one per signature of the arguments)."""
        return len(self._tapes)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        flat, key = _key(args, kwargs)
        entry = self._tapes.get(key)
        if entry is not None:
            replay, holds = entry
            if holds():
                if len(self._tapes) > 1:
                    self._tapes.move_to_end(key)
                self.replays += 1
                with self._lock:  # a tape's buffers serve one replay at a time
                    return replay(flat)
        return self._capture(key, args, kwargs, flat)

    def _capture(self, key: Any, args: tuple, kwargs: dict, flat: list[Any]) -> Any:
        if state.recorder() is not None:
            raise CaptureError(
                "capture: a captured function was called while another one is being "
                "captured; capture the outer function only"
            )
        recorder = Recorder(flat)
        previous = state.install(recorder)
        try:
            with observe(recorder):
                result = self.fn(*args, **kwargs)
            code, uses = _result(recorder, result)
        finally:
            state.uninstall(previous)
        replay = recorder.tape.compile(code, uses)
        self.captures += 1
        self._tapes[key] = (replay, _Guard(recorder).holds)
        self._tapes.move_to_end(key)
        while len(self._tapes) > self.max_captures:
            self._tapes.popitem(last=False)
        return result

    def source(self, *args: Any, **kwargs: Any) -> str:
        """The Python source of the tape these arguments would replay (to read it)."""
        _, key = _key(args, kwargs)
        entry = self._tapes.get(key)
        if entry is None:
            raise KeyError("capture: no tape for these arguments yet; call the function first")
        return entry[0].source


def _result(recorder: Recorder, result: Any) -> tuple[str, tuple[int, ...]]:
    """How the replay builds the function's return value."""
    if isinstance(result, Tensor):
        node = result.node
        if node is not None and node.inputs is not None:
            raise CaptureError(
                "capture: the captured function returns a tensor whose graph has not run "
                "backward; a replay keeps no graph. Call backward inside the function, or "
                "return a value computed under gg.no_grad() (or .detach())"
            )
        if id(result) in recorder.made or id(result._data) in recorder.slot_of:
            s = recorder.slot(result)
            return f"{recorder._tensor}(v{s})", (s,)
        return recorder.name(result), ()
    if isinstance(result, (tuple, list)):
        parts = [_result(recorder, r) for r in result]
        code = ", ".join(p[0] for p in parts) + ("," if len(parts) == 1 else "")
        code = f"[{code}]" if isinstance(result, list) else f"({code})"
        return code, tuple(s for p in parts for s in p[1])
    if isinstance(result, dict):
        items = [(k, _result(recorder, v)) for k, v in result.items()]
        code = ", ".join(f"{recorder.tape.name(k)}: {p[0]}" for k, p in items)
        return "{" + code + "}", tuple(s for _, p in items for s in p[1])
    if isinstance(result, np.ndarray) or backend.device_of_or_none(result) is not None:
        raise CaptureError(
            "capture: the captured function returns a raw array; return tensors (a replay "
            "cannot follow arrays computed outside gradgate)"
        )
    return recorder.tape.name(result), ()


def capture(fn: Callable[..., Any] | None = None, *, max_captures: int = 8) -> Any:
    """Capture a training step: the first call runs ``fn`` eagerly and records every array
    operation it makes (forward, backward, the optimiser's update, the schedule); later
    calls with arguments of the same shapes and dtypes replay that record as one
    straight-line function over arrays, with no graph and no tensors. Usable as
    ``step = gg.capture(fn)`` or as the decorator ``@gg.capture``. See docs/capture.md."""
    if fn is None:
        return functools.partial(capture, max_captures=max_captures)
    return Captured(fn, max_captures=max_captures)
