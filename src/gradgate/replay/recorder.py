"""Watching one eager call of a step and writing its tape.

The recorder is an engine :class:`~gradgate.engine.Observer`: it hears every gate run
forward, every vjp, un-broadcast sum, fan-in addition and leaf accumulation of a backward,
and writes each as one line of the :class:`~gradgate.replay.tape.Tape` that calls the same
rule on the same slots. The tensor tells it about the rest: in-place writes, ``.grad`` read
or set, tensors made during the call; functions marked :func:`~gradgate.replay.state.
replayed` (optimiser and scheduler steps, random draws) become one line each.

Arrays are told apart by identity: each array the step computes gets a slot when it is
made. An array that no slot holds is one of three things: the array of a tensor that
existed before the call (a parameter, a buffer: read from that tensor at each replay), a
constant the call made from Python numbers (kept), or something the recorder cannot follow
(an array made from data behind gradgate's back): that raises, since a replay would use
the first call's values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..engine import Observer, _accumulate, _array, sum_to
from ..tensor import Tensor, bump
from . import lower
from .lower import Session, Traced, Unsupported
from .state import CaptureError
from .tape import Tape


class _Like:
    """The shape and dtype that :func:`gradgate.engine.sum_to` reads from its target."""

    __slots__ = ("shape", "dtype")

    def __init__(self, array: Any):
        self.shape, self.dtype = array.shape, array.dtype


def _describe(t: Tensor) -> str:
    return f"a tensor of shape {tuple(t._data.shape)} and dtype {t._data.dtype}"


class Recorder(Observer):
    """Writes the tape of one call; ``flat`` holds the call's arguments, flattened."""

    def __init__(self, flat: list[Any]):
        self.tape = Tape()
        self.paused = False
        self.slot_of: dict[int, int] = {}  # id(array) → slot
        self._alive: list[Any] = []  # what the ids above belong to, kept alive meanwhile
        self.made: dict[int, Tensor] = {}  # tensors made during the call
        self.constants: set[int] = set()  # ... of which constants made from numbers
        self.saved_slot: dict[int, int] = {}  # id(node) → slot of what its forward saved
        self.tensor_names: dict[int, str] = {}  # id(tensor) → how the code names it
        self.externals: dict[int, Tensor] = {}  # tensors from before the call it reads
        self.modules: dict[int, Any] = {}
        self.optimizers: dict[int, Any] = {}
        self.plain: dict[int, tuple[Any, set[int]]] = {}  # optimiser → groups written lowered
        self.internal_grads: dict[int, int] = {}  # id(tensor of the step) → its .grad's slot
        self.saved_traced: dict[int, Any] = {}  # id(node) → what its lowered forward saved
        self.rebuilt: dict[int, str] = {}  # id(node) → the slot of its gate, made per replay
        self.constant_arrays: set[int] = set()  # arrays made from Python values (an index)
        self.handed: str | None = None  # the running backward's set of handed-out arrays
        self.accumulate = True
        self.create_graph = False
        t = self.tape
        self._sum_to, self._acc = t.name(sum_to, "sum_to"), t.name(_accumulate, "acc")
        self._arr, self._bump = t.name(_array, "arr"), t.name(bump, "bump")
        self._tensor = t.name(Tensor, "Tensor")
        self._changed = t.name(_shape_changed, "changed")
        self._rebuild = t.name(_rebuilt, "rebuilt")
        self._other_way = t.name(_other_way, "other_way")
        for k, x in enumerate(flat):
            if isinstance(x, Tensor):
                self.tensor_names[id(x)] = f"flat[{k}]"
                self._define(x._data, f"flat[{k}]._data")
            elif isinstance(x, np.ndarray) or backend.device_of_or_none(x) is not None:
                self._define(x, f"flat[{k}]")

    # --- slots ------------------------------------------------------------------------------

    def _register(self, array: Any, slot: int) -> int:
        self.slot_of[id(array)] = slot
        self._alive.append(array)
        return slot

    def _define(
        self, array: Any, expression: str, uses: tuple[int, ...] = (), tag: Any = None
    ) -> int:
        """A new slot holding ``expression`` (a read or a computation with no effect)."""
        slot = self.tape.new()
        if tag is not None:
            tag = (*tag, slot)
        self.tape.emit(f"v{slot} = {expression}", uses, (slot,), pure=True, tag=tag)
        return self._register(array, slot)

    def slot(self, t: Tensor) -> int:
        """The slot holding ``t``'s array at this point of the step."""
        array = t._data
        found = self.slot_of.get(id(array))
        if found is not None:
            return found
        key = id(t)
        if key in self.made:
            if key not in self.constants:
                raise CaptureError(
                    f"capture: {_describe(t)} was made inside the captured function from an "
                    "array the capture cannot follow (a batch drawn inside the function, a "
                    "NumPy array made from data, a tensor's raw array); a replay would reuse "
                    "this call's values. Pass such arrays in as arguments of the function, or "
                    "make constants once outside it"
                )
            slot = self.tape.constant(array)
            return self._register(array, slot)
        return self._define(array, f"{self.name(t)}._data")

    def value(self, x: Any, t: Any = None) -> tuple[str, tuple[int, ...]]:
        """How the code spells ``x`` (an argument of a write or of a library call); ``t``:
        the tensor whose array ``x`` is, if any."""
        if t is not None and isinstance(t, Tensor):
            s = self.slot(t)
            return f"v{s}", (s,)
        if isinstance(x, Tensor):
            if id(x) in self.made:
                s = self.slot(x)
                return f"{self._tensor}(v{s})", (s,)
            return self.name(x), ()
        if isinstance(x, np.ndarray) or backend.device_of_or_none(x) is not None:
            found = self.slot_of.get(id(x))
            if found is None and id(x) in self.constant_arrays:
                return self.tape.name(x, "c"), ()
            if found is None:
                raise CaptureError(
                    f"capture: an array of shape {x.shape} that the step did not compute "
                    "reaches a tensor operation; a replay would reuse this call's values. "
                    "Pass it in as an argument of the captured function, or make it a "
                    "tensor once outside it"
                )
            return f"v{found}", (found,)
        if isinstance(x, (list, tuple)):
            parts = [self.value(v) for v in x]
            code = ", ".join(p[0] for p in parts) + ("," if len(parts) == 1 else "")
            code = f"[{code}]" if isinstance(x, list) else f"({code})"
            return code, tuple(s for p in parts for s in p[1])
        if isinstance(x, dict):
            items = [(k, self.value(v)) for k, v in x.items()]
            code = ", ".join(f"{self.tape.name(k)}: {p[0]}" for k, p in items)
            return "{" + code + "}", tuple(s for _, p in items for s in p[1])
        return self.tape.name(x), ()

    def name(self, t: Tensor) -> str:
        """How the code names a tensor that outlives the call (an argument, or a tensor
        from before it: a parameter, a buffer)."""
        key = id(t)
        name = self.tensor_names.get(key)
        if name is not None:
            return name
        if key in self.made:
            raise CaptureError(
                f"capture: {_describe(t)} made inside the captured function is changed in "
                "place or takes a gradient into .grad; a replay makes no tensors, so it "
                "cannot repeat that. Make the tensor outside the function"
            )
        self.externals[key] = t
        name = self.tensor_names[key] = self.tape.name(t, "t")
        return name

    # --- what the tensor reports -------------------------------------------------------------

    def created(self, t: Tensor) -> None:
        self.made[id(t)] = t

    def constant(self, t: Tensor) -> None:
        self.constants.add(id(t))

    def constant_array(self, a: Any) -> None:
        """``a`` was made from Python values (a list given as an index): a constant."""
        self.constant_arrays.add(id(a))
        self._alive.append(a)

    def read_grad(self, t: Tensor, grad: Tensor) -> None:
        """``t.grad`` was read: from here on its array is what ``t._grad`` holds now (a
        backward may have added into it since it was last read)."""
        internal = self.internal_grads.get(id(t))
        if internal is not None:  # a tensor of the step: its gradient is a slot
            self._register(grad._data, internal)
        elif id(t) not in self.made or id(t) in self.tensor_names:
            name = self.name(t)
            self._define(grad._data, f"{name}._grad._data", tag=("read", name))

    def set_grad(self, t: Tensor, value: Tensor | None) -> None:
        target = self.name(t)
        if value is None:
            self.tape.emit(f"{target}._grad = None", tag=("none", target))
        else:
            s = self.slot(value)
            self.tape.emit(f"{target}._grad = {self._tensor}(v{s})", (s,))

    def write(self, t: Tensor, how: Any, value: Any) -> None:
        index = getattr(how, "index", None)
        if index is not None and _holds_array(index):
            raise CaptureError(
                "capture: t[index] = v with a tensor or array index is not captured; "
                "index with ints and slices, or use gg.index_put / scatter"
            )
        code, uses = self.value(value._data if isinstance(value, Tensor) else value, t=value)
        target = self.slot_of.get(id(t._data))
        if id(t) in self.made and target is not None:  # a tensor of the step itself
            self.tape.written.add(target)
            self.tape.emit(
                _written(self.tape, how, f"v{target}", code), (target, *uses), lowered=True
            )
        else:
            name = self.name(t)
            write = _written(self.tape, how, f"{name}._data", code)
            self.tape.emit(f"{self._bump}({name}._version); {write}", uses, lowered=True)

    def rebind(self, t: Tensor, value: Any) -> None:
        code, uses = self.value(value)
        self.tape.emit(f"{self.name(t)}.data = {code}", uses)

    def check(self, function: Any, args: tuple, value: Any) -> None:
        """At each replay, ``function(*args)`` must give ``value`` again."""
        code, uses = self.value(list(args))
        f, v = self.tape.name(function, "f"), self.tape.name(value)
        where = self.tape.name(getattr(function, "__qualname__", "a check"))
        self.tape.emit(f"if {f}(*{code}) != {v}: {self._other_way}({where})", uses)

    def module_called(self, module: Any) -> None:
        self.modules.setdefault(id(module), module)

    # --- library calls made whole -----------------------------------------------------------

    def call(self, function: Any, args: tuple, kwargs: dict, lowering: Any = None) -> Any:
        owner = args[0] if args else None
        if hasattr(owner, "param_groups"):
            if kwargs.get("closure") is not None or (len(args) > 1 and args[1] is not None):
                raise CaptureError(
                    f"capture: {type(owner).__name__}.step(closure) runs the closure "
                    "itself; capture the closure's work instead"
                )
            self.optimizers.setdefault(id(owner), owner)
        plan = None if lowering is None else lowering(*args, **kwargs)
        if plan is not None:
            self.lowered_call(owner, plan)
        else:
            code_args, uses = self.value(list(args))
            code_kwargs, kw_uses = self.value(dict(kwargs))
        self.paused = True
        try:
            result = function(*args, **kwargs)
        finally:
            self.paused = False
        if plan is not None:
            return result
        if isinstance(result, (bool, int, float, np.generic)):
            raise CaptureError(
                f"capture: {function.__qualname__} gives a number computed from tensors' "
                "values, which a replay could not give again; keep it a tensor (the "
                "gradgate function instead of the NumPy one)"
            )
        f = self.tape.name(function, "f")
        slot = self.tape.new()
        self.tape.emit(
            f"v{slot} = {f}(*{code_args}, **{code_kwargs})",
            uses + kw_uses,
            (slot,),
        )
        self._outputs(result, f"v{slot}", slot)
        return result

    def lowered_call(self, owner: Any, plan: list[tuple[Any, ...]]) -> None:
        """Write a library call as the array operations it makes, given as steps:
        ``("none", p)``: ``p.grad = None``; ``("descend", p, k)``: p ← p − lr · p.grad with
        the lr of ``owner.param_groups[k]`` read at each replay (as eager reads it), and
        ``("plain", k)``: that group's update must stay that one (``owner.plain(group)``,
        checked before each replay by the guard); ``("absent", p)``: p has no gradient now,
        and a replay that finds one raises instead of skipping it."""
        name = self.tape.name(owner, "o")
        multiply, subtract = self.tape.name(np.multiply, "np"), self.tape.name(np.subtract, "np")
        for step in plan:
            kind, what = step[0], step[1]
            if kind == "none":
                self.set_grad(what, None)
            elif kind == "plain":
                self.plain.setdefault(id(owner), (owner, set()))[1].add(what)
            elif kind == "absent":
                p = self.name(what)
                at = f"{type(owner).__name__}.step"
                where = self.tape.name(f"which parameters have a gradient at {at}")
                self.tape.emit(f"if {p}._grad is not None: {self._other_way}({where})")
            elif kind == "descend":
                p, group = self.name(what), step[2]
                grad = what._grad._data
                g = self._define(grad, f"{p}._grad._data", tag=("read", p))
                lr = f"{name}.param_groups[{group}]['lr']"
                change = np.multiply(owner.param_groups[group]["lr"], grad)
                s = self.tape.new()
                self.tape.emit(
                    f"v{s} = {multiply}({lr}, v{g}@OUT@)", (g,), (s,), True, True, change
                )
                write = f"{subtract}({p}._data, v{s}, out={p}._data)"
                self.tape.emit(f"{self._bump}({p}._version); {write}", (s,), lowered=True)
            else:
                raise KeyError(kind)  # a lowering named a step this recorder does not know

    def _outputs(self, result: Any, expression: str, uses: int) -> None:
        if isinstance(result, Tensor):
            s = self._define(result._data, f"{expression}._data", (uses,))
            self._same_shape(s, result._data, "a library call")
        elif isinstance(result, np.ndarray) or backend.device_of_or_none(result) is not None:
            s = self._define(result, expression, (uses,))
            self._same_shape(s, result, "a library call")
        elif isinstance(result, (tuple, list)):
            for k, r in enumerate(result):
                self._outputs(r, f"{expression}[{k}]", uses)

    # --- what the engine reports ------------------------------------------------------------

    # --- lowering: a rule as the NumPy calls it makes ------------------------------------------

    def _lowered(self, rule: Any, xp: Any, args: list[Any], kwargs: dict, expected: Any) -> Any:
        """Trace ``rule(xp, *args, **kwargs)`` (``args`` hold Traced arrays) and, if every
        call lowers and the results equal ``expected`` bit for bit, keep its lines and map
        each expected array to its slot; the traced results, or None."""
        session = Session(self.tape)
        try:
            with session:
                result = rule(lower.namespace(xp), *args, **kwargs)
                result = _arrays_made(session, result)
        except Unsupported:
            return None
        except Exception:  # noqa: BLE001  (the eager rule ran; keep it as one call)
            return None
        pairs: list[tuple[Any, Traced]] = []
        if not _same(expected, result, pairs):
            return None
        for code, uses, defines, extra in session.lines:
            pure = bool(defines)  # a write into a temporary of the rule stays
            self.tape.emit(code, uses, defines, pure=pure, lowered=True, fresh=extra.get("fresh"))
        for array, traced in pairs:
            self._register(array, traced.slot)
        return result

    def _rule(self, gate: Any, node: Any) -> str | None:
        """How the tape names the gate: None when its parameters are fixed (the gate itself
        serves every replay), else the slot of a copy made at each replay with the arrays
        of that replay (an index computed in the step: ``x[x.argmax(1)]``)."""
        key = id(node) if node is not None else None
        if key is not None and key in self.rebuilt:
            return self.rebuilt[key]
        params = vars(gate) if hasattr(gate, "__dict__") else {}
        arrays = [a for a in _arrays_in(params.values())]
        if not arrays:
            return None
        for a in arrays:
            if id(a) not in self.slot_of and id(a) not in self.constant_arrays:
                raise CaptureError(
                    f"capture: gate {gate.name} holds an array of shape {a.shape} computed "
                    "outside the gates (from a tensor's raw values); a replay would reuse this "
                    "call's values. Compute it with gradgate functions, or outside the step"
                )
        if not any(id(a) in self.slot_of for a in arrays):
            return None  # constants only
        code, uses = self.value(dict(params))
        slot = self.tape.new()
        self.tape.emit(f"v{slot} = {self._rebuild}({self.tape.name(gate)}, {code})",
                       uses, (slot,), pure=True)  # fmt: skip
        name = f"v{slot}"
        if key is not None:
            self.rebuilt[key] = name
            self._alive.append(node)
        return name

    def forward(self, gate: Any, inputs: tuple, output: Tensor) -> None:
        if self.paused:
            return
        ins = [self.slot(t) for t in inputs]
        out = output._data
        xp = backend.numpy_namespace if type(out) is np.ndarray else backend.namespace_of(out)
        rebuilt = self._rule(gate, output.node)
        if type(out) is np.ndarray and rebuilt is None:
            node = output.node
            args = [Traced(t._data, s) for t, s in zip(inputs, ins, strict=True)]
            if gate.saves and node is None:  # nothing saved to compare: the output alone

                def rule(xp: Any, *a: Any) -> Any:
                    return gate.forward(xp, *a)[0]

                done = self._lowered(rule, xp, args, {}, out)
            else:
                expected = (out, node.saved) if gate.saves else out
                done = self._lowered(gate.forward, xp, args, {}, expected)
            if done is not None:
                if gate.saves and node is not None:
                    self.saved_traced[id(node)] = done[1]
                    self._alive.append(node)
                return
        f = self.tape.name(gate.forward, "forward") if rebuilt is None else f"{rebuilt}.forward"
        made_by: tuple[int, ...] = () if rebuilt is None else (int(rebuilt[1:]),)
        call = f"{f}({self.tape.name(xp, 'xp')}, {', '.join(f'v{s}' for s in ins)})"
        slot = self.tape.new()
        defines: tuple[int, ...] = (slot,)
        if gate.saves:
            saved = self.tape.new()
            defines = (slot, saved)
            node = output.node
            if node is not None:
                self.saved_slot[id(node)] = saved
                self._alive.append(node)
            self.tape.emit(f"v{slot}, v{saved} = {call}", (*ins, *made_by), defines, pure=True)
        else:
            self.tape.emit(f"v{slot} = {call}", (*ins, *made_by), defines, pure=True)
        if out.ndim == 0 and type(out) is np.ndarray:
            self.tape.emit(f"v{slot} = {self._arr}(v{slot})", (slot,), (slot,), pure=True)
        self._register(out, slot)
        self._same_shape(slot, out, f"gate {gate.name}")

    def _same_shape(self, slot: int, array: Any, what: str) -> None:
        """At each replay, check that a rule run whole (or a library call) made an array of
        the shape it made at capture: a shape that follows the data (``x[x > 0]``) would
        not fit the replay's buffers and sums."""
        shape, where = self.tape.name(array.shape), self.tape.name(what)
        check = f"{self._changed}(v{slot}.shape, {shape}, {where})"
        self.tape.emit(f"if v{slot}.shape != {shape}: {check}", (slot,))

    def begin(self, roots: Any, seeds: Any, accumulate: bool, create_graph: bool) -> None:
        if self.paused:
            return
        self.accumulate, self.create_graph = accumulate, create_graph
        slots = []
        for root, seed in zip(roots, seeds, strict=True):
            array = seed._data if isinstance(seed, Tensor) else seed
            s = self.slot_of.get(id(array))
            if s is None:
                if not (array.shape == root.shape and bool((array == 1).all())):
                    raise CaptureError(
                        "capture: backward(grad) with a gradient the step did not compute; "
                        "pass it in as an argument of the captured function"
                    )
                xp = backend.namespace_of(array)
                ones = f"{self.tape.name(xp.ones, 'ones')}({self.tape.name(array.shape)}, "
                dtype = self.tape.name(array.dtype)
                s = self._define(array, ones + f"dtype={dtype})", tag=("ones",))
            slots.append(s)
        if not create_graph:
            self.handed = f"h{self.tape.new()}"
            ids = ", ".join(f"id(v{s})" for s in slots)
            seeds = "".join(f"v{s}, " for s in slots)  # alive while ids name them
            self.tape.emit(f"{self.handed} = {{{ids}}}; {self.handed}k = ({seeds})", tuple(slots))

    def backward(self, tensor: Tensor, g: Any, contributions: tuple) -> None:
        if self.paused or self.create_graph:  # create_graph: its gates ran forward, recorded
            return
        node = tensor.node
        gate = node.gate
        sg = self.slot_of[id(g)]
        so = self.slot(tensor)
        ins = [self.slot(t) for t in node.inputs]
        keywords = gate.vjp_keywords
        if (
            type(g) is np.ndarray
            and ("saved" not in keywords or id(node) in self.saved_traced)
            and id(node) not in self.rebuilt
        ):
            kwargs: dict[str, Any] = {}
            if "needs" in keywords:
                kwargs["needs"] = node.needs
            if "saved" in keywords:
                kwargs["saved"] = self.saved_traced[id(node)]
            args = [Traced(g, sg), Traced(tensor._data, so)]
            args += [Traced(t._data, s) for t, s in zip(node.inputs, ins, strict=True)]
            expected = tuple(
                None if c is None or not p.requires_grad else c
                for p, c in zip(node.inputs, contributions, strict=True)
            )

            def rule(xp: Any, *a: Any, **k: Any) -> Any:
                wanted = gate.vjp(xp, *a, **k)
                return tuple(
                    None if p is None else c for p, c in zip(expected, wanted, strict=True)
                )

            if self._lowered(rule, backend.numpy_namespace, args, kwargs, expected) is not None:
                return
        if "saved" in keywords and id(node) in self.saved_traced:  # saved by a lowered forward
            uses_saved: list[int] = []
            code = Session(self.tape).code(self.saved_traced.pop(id(node)), uses_saved)
            self.saved_slot[id(node)] = self.tape.new()
            self.tape.emit(
                f"v{self.saved_slot[id(node)]} = {code}",
                tuple(uses_saved),
                (self.saved_slot[id(node)],),
                pure=True,
            )
        outs: list[int | None] = []
        for parent, c in zip(node.inputs, contributions, strict=True):
            outs.append(None if c is None or not parent.requires_grad else self.tape.new())
        extra = ""
        uses = [sg, so, *ins]
        if "needs" in keywords:
            extra += f", needs={self.tape.name(node.needs)}"
        if "saved" in keywords:
            saved = self.saved_slot[id(node)]
            extra += f", saved=v{saved}"
            uses.append(saved)
        rebuilt = self._rule(gate, node)
        f = self.tape.name(gate.vjp, "vjp") if rebuilt is None else f"{rebuilt}.vjp"
        if rebuilt is not None:
            uses.append(int(rebuilt[1:]))
        xp = backend.numpy_namespace if type(g) is np.ndarray else backend.namespace_of(g)
        arguments = ", ".join(f"v{s}" for s in [sg, so, *ins])
        targets = ", ".join("_" if s is None else f"v{s}" for s in outs)
        defined = tuple(s for s in outs if s is not None)
        self.tape.emit(
            f"{targets}, = {f}({self.tape.name(xp, 'xp')}, {arguments}{extra})",
            tuple(uses),
            defined,
            pure=True,
        )
        for s, c in zip(outs, contributions, strict=True):
            if s is not None:
                if c.ndim == 0 and type(c) is np.ndarray:
                    self.tape.emit(f"v{s} = {self._arr}(v{s})", (s,), (s,), pure=True)
                self._register(c, s)
                self._same_shape(s, c, f"the vjp of gate {gate.name}")

    def unbroadcast(self, tensor: Tensor, source: Tensor, before: Any, after: Any) -> None:
        if self.paused or self.create_graph:
            return
        s = self.slot_of[id(before)]
        like = _Like(tensor._data)
        if type(before) is np.ndarray and self._lowered(
            lambda xp, b: sum_to(b, like), backend.numpy_namespace, [Traced(before, s)], {}, after
        ) is not None:  # fmt: skip
            return
        self._define(after, f"{self._sum_to}(v{s}, {self.tape.name(like, 'like')})", (s,))

    def summed(self, tensor: Tensor, before: Any, contribution: Any, total: Any) -> None:
        if self.paused or self.create_graph:
            return
        a, b = self.slot_of[id(before)], self.slot_of[id(contribution)]
        if type(before) is np.ndarray and type(contribution) is np.ndarray:
            args = [Traced(before, a), Traced(contribution, b)]
            if (
                self._lowered(lambda xp, x, y: x + y, backend.numpy_namespace, args, {}, total)
                is not None
            ):
                return
        self._define(total, f"v{a} + v{b}", (a, b))

    def leaf(self, tensor: Tensor, g: Any) -> None:
        if self.paused or not self.accumulate:
            return
        key = id(tensor)
        if key in self.made and key not in self.tensor_names:  # a tensor of the step itself
            s = self.slot(g) if self.create_graph else self.slot_of[id(g)]
            before = self.internal_grads.get(key)
            if before is None and tensor._grad is not None:  # set before, outside any slot
                before = self.slot(tensor._grad)
            if before is not None:
                s = self._define(object(), f"v{before} + v{s}", (before, s))
            self.internal_grads[key] = s
            self._alive.append(tensor)
            return
        if self.create_graph:
            s = self.slot(g)  # a Tensor here
            self.tape.emit(f"{self._acc}({self.name(tensor)}, v{s}, False, set())", (s,))
        else:
            s, name = self.slot_of[id(g)], self.name(tensor)
            code = f"{self._acc}({name}, v{s}, False, {self.handed})"
            self.tape.emit(code, (s,), tag=("acc", name, s, self._arr))


def _holds_array(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(hasattr(p, "shape") or isinstance(p, list) for p in parts)


def _arrays_made(session: Session, result: Any) -> Any:
    """NumPy's 0-d scalars in a traced result made 0-d arrays, as the engine makes them."""
    if isinstance(result, Traced):
        if isinstance(result.value, np.generic):
            return session.call(np.asarray, (result,), {})
        return result
    if isinstance(result, tuple):
        return tuple(_arrays_made(session, r) for r in result)
    return result


def _same(expected: Any, got: Any, pairs: list[tuple[Any, Traced]]) -> bool:
    """``got`` (traced) has ``expected``'s structure, and each array bit for bit."""
    if isinstance(got, Traced):
        e, v = expected, got.value
        if not isinstance(e, (np.ndarray, np.generic)) or type(e) is not type(v):
            return False
        if e.shape != v.shape or e.dtype != v.dtype or e.tobytes() != v.tobytes():
            return False
        pairs.append((e, got))
        return True
    if isinstance(got, (tuple, list)):
        if not isinstance(expected, (tuple, list)) or len(expected) != len(got):
            return False
        return all(_same(e, g, pairs) for e, g in zip(expected, got, strict=True))
    if isinstance(expected, (np.ndarray, np.generic)):
        return False
    try:
        return bool(expected == got) if expected is not None or got is not None else True
    except Exception:  # noqa: BLE001
        return False


def _written(tape: Tape, how: Any, target: str, value: str) -> str:
    """The code of an in-place write ``how(target, value)``; a ufunc's is the ufunc itself
    (``t -= v`` is ``np.subtract(t, v, out=t)``). The value is read, never kept."""
    ufunc = getattr(how, "ufunc", None)
    if ufunc is not None:
        return f"{tape.name(ufunc, 'np')}({target}, {value}, out={target})"
    return f"{tape.name(how, 'w')}({target}, {value})"


def _shape_changed(now: tuple, then: tuple, what: str) -> None:
    raise CaptureError(
        f"capture: {what} made an array of shape {now} in this replay where it made {then} "
        "when the step was captured: the step's shapes follow its data (a boolean mask, "
        "nonzero), which a replay cannot follow. Call this step without capture"
    )


def _arrays_in(values: Any) -> Any:
    for v in values:
        if isinstance(v, np.ndarray) or backend.device_of_or_none(v) is not None:
            if not isinstance(v, np.generic):
                yield v
        elif isinstance(v, (tuple, list)):
            yield from _arrays_in(v)
        elif isinstance(v, dict):
            yield from _arrays_in(v.values())


def _rebuilt(gate: Any, params: dict) -> Any:
    """A copy of ``gate`` with these parameters (a rule keeps nothing else)."""
    copy = object.__new__(type(gate))
    copy.__dict__.update(params)
    return copy


def _other_way(what: str) -> None:
    raise CaptureError(
        f"capture: {what} came out otherwise in this replay than when the step was captured, "
        "so the step would take another way through the library (labels equal to "
        "ignore_index in one batch and not in another). Call this step without capture"
    )
