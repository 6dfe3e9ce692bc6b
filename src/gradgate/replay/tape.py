"""The tape: one straight-line Python function over arrays, written while a step runs.

Each line of the tape is a call the eager step made on arrays — a gate's forward or vjp,
the engine's un-broadcast sum or fan-in addition, a leaf's accumulation, an in-place write,
a library call made whole (an optimiser's step) — with its inputs and outputs named
``v0, v1, ...`` (slots). :meth:`Tape.compile` turns the lines into the source of one Python
function, deleting each slot after its last use (so arrays are freed as early as eager
frees them), and compiles it once; a replay is one call of that function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


class Tape:
    """Lines of code over slots, and the objects the code refers to by name."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, tuple[int, ...], tuple[int, ...], bool, bool, Any]] = []
        self.objects: dict[str, Any] = {}
        self._names: dict[int, str] = {}
        self.slots = 0
        self.constants: dict[int, str] = {}  # slot → name of the array it starts as
        self.written: set[int] = set()  # constant slots that the step writes into
        # what some lines are, for the passes of compile: line index → ("acc", tensor name,
        # slot, name of _array), ("read", tensor name, slot), ("none", tensor name) or
        # ("ones", slot)
        self.tags: dict[int, tuple[Any, ...]] = {}

    def new(self) -> int:
        self.slots += 1
        return self.slots - 1

    def name(self, value: Any, hint: str = "k") -> str:
        """The name under which the code refers to the object ``value``."""
        key = id(value)
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = f"{hint}{len(self.objects)}"
            self.objects[name] = value
        return name

    def emit(
        self,
        code: str,
        uses: Sequence[int] = (),
        defines: Sequence[int] = (),
        pure: bool = False,
        lowered: bool = False,
        fresh: Any = None,
        tag: tuple[Any, ...] | None = None,
    ) -> None:
        """One line of code, naming slot n as ``v<n>``; ``uses``/``defines``: its slots.
        A ``pure`` line only computes what it defines: it is left out when nothing uses it
        (a transpose that a fused product made unneeded, a gradient no one asked for). A
        ``lowered`` line is a NumPy call; ``fresh`` (the array it made at capture) marks one
        that makes a new array and may write it into a buffer of its own (``@OUT@`` in the
        code is where ``, out=`` goes)."""
        if tag is not None:
            self.tags[len(self.lines)] = tag
        self.lines.append((code, tuple(uses), tuple(defines), pure, lowered, fresh))

    def _escaping(self, lines: list[Any], keep: set[int]) -> set[int]:
        """The slots whose arrays leave the NumPy calls of one replay: used by a line that
        is not a NumPy call (a rule, an accumulation into ``.grad``, a library call), or
        returned, or viewed by an array that does. Only the others get a buffer."""
        escaping = set(keep)
        for _, uses, _, _, lowered, _ in lines:
            if not lowered:
                escaping.update(uses)
        for _, uses, defines, _, lowered, fresh in reversed(lines):
            if lowered and fresh is None and any(s in escaping for s in defines):
                escaping.update(uses)  # a view, or a call that may return its input
        return escaping

    def _buffers(self, lines: list[Any], escaping: set[int]) -> list[str | None]:
        """For each line, the buffer its new array is written into (``out=``), or None.
        Buffers are shared as registers are: a buffer is free again once the last line
        that reads its array, or any view of it, has run, and a later result of the same
        shape, dtype and layout takes it; so a replay touches about as much memory as an
        eager step, whose allocator hands freed blocks out again, instead of one buffer per
        result (the cache keeps them warm)."""
        groups = _Groups()
        for _, uses, defines, _, lowered, fresh in lines:
            if lowered and fresh is None:  # a view, or a result that may be its input
                groups.join(defines, uses)
        root = groups.root
        end: dict[int, int] = {}
        for k, (_, uses, defines, *_) in enumerate(lines):
            for slot in (*uses, *defines):
                end[root(slot)] = k
        free: dict[tuple[Any, ...], list[str]] = {}
        releases: dict[int, list[tuple[tuple[Any, ...], str]]] = {}
        chosen: list[str | None] = []
        for k, (_, _, defines, _, _, fresh) in enumerate(lines):
            name = None
            if fresh is not None and defines[0] not in escaping:
                key = (fresh.shape, fresh.dtype.str, fresh.strides)
                pool = free.get(key)
                name = pool.pop() if pool else self.name(np.empty_like(fresh), "b")
                releases.setdefault(end[root(defines[0])], []).append((key, name))
            chosen.append(name)
            for key, done in releases.pop(k, ()):
                free.setdefault(key, []).append(done)
        return chosen

    def constant(self, array: Any) -> int:
        slot = self.new()
        self.constants[slot] = self.name(array, "c")
        self.emit(f"v{slot} = {self.constants[slot]}", (), (slot,), pure=True)
        return slot

    def compile(self, result: str, result_uses: Sequence[int]) -> Callable[[Sequence[Any]], Any]:
        """The replay function ``f(flat_arguments) -> result``."""
        keep = set(result_uses)
        lines = _unit_seeds(_own_gradients(self.lines, self.tags, keep), self.tags, self._names)
        needed, kept = set(keep), []
        for line in reversed(lines):
            _, uses, defines, pure, _, _ = line
            if pure and not any(s in needed for s in defines):
                continue
            needed.update(uses)
            kept.append(line)
        kept.reverse()
        kept = _shared(kept)
        escaping = self._escaping(kept, keep)
        last: dict[int, int] = {}
        for k, (_, uses, defines, *_) in enumerate(kept):
            for s in (*uses, *defines):
                last[s] = k
        ends: dict[int, list[int]] = {}
        for s, k in last.items():
            if s not in keep:
                ends.setdefault(k, []).append(s)
        body = []
        buffers = self._buffers(kept, escaping)
        for k, line in enumerate(kept):
            out = "" if buffers[k] is None else f", out={buffers[k]}"
            code, defines = line[0].replace("@OUT@", out), line[2]
            if defines and defines[0] in self.written and defines[0] in self.constants:
                code += ".copy()"  # written in place by the step: each replay starts afresh
            body.append(code)
            if k in ends:
                body.append("del " + ", ".join(f"v{s}" for s in sorted(ends[k])))
        source = "def replay(flat):\n" + "".join(f"    {line}\n" for line in body)
        source += f"    return {result}\n"
        namespace = dict(self.objects)
        exec(compiled(source), namespace)  # noqa: S102
        replay: Callable[[Sequence[Any]], Any] = namespace["replay"]
        replay.source = source  # type: ignore[attr-defined]
        return replay


_CODE: dict[str, Any] = {}  # source → its code object: a step captured again (a new shape,
# a new model of the same layout) writes the same source, with other objects under its names
# (the last, short batch of every epoch is captured again; so are guards)


def compiled(source: str) -> Any:
    """The code object of ``source`` (a tape's or a guard's function), compiled once."""
    code = _CODE.get(source)
    if code is None:
        if len(_CODE) >= 64:
            del _CODE[next(iter(_CODE))]
        code = _CODE[source] = compile(source, "<gradgate capture>", "exec")
    return code


def _own_gradients(lines: list[Any], tags: dict[int, Any], keep: set[int]) -> list[Any]:
    """A leaf's gradient that the step reads and then drops (``W -= lr * W.grad`` then
    ``W.grad = None``) never becomes a Tensor: the accumulation adds to a ``.grad`` left
    from before the call, if any, and the reads become the summed array. Only where no one
    else can see ``.grad`` in between (every line a NumPy call, a read, a rule, or
    another leaf's accumulation or reset) and every read only feeds
    NumPy calls that make new arrays (no view of it, no write into it, not returned)."""
    out = list(lines)
    for i, tag in tags.items():
        if tag[0] != "acc":
            continue
        _, name, s, arr = tag
        reads: list[int] = []
        end = None
        for j in range(i + 1, len(lines)):
            code, _, _, pure, lowered, _ = lines[j]
            other = tags.get(j)
            if other is not None and other[1:2] == (name,) and other[0] in ("read", "none"):
                if other[0] == "none":
                    end = j
                    break
                reads.append(j)
            elif other is not None and other[0] in ("acc", "none"):
                continue  # another leaf's .grad: its accumulation touches nothing else
            elif not (lowered or pure) or f"{name}._grad" in code:
                break  # a call that may read .grad (pure lines only compute their slots)
        if end is None or not reads:
            continue
        read_slots = {tags[j][2] for j in reads}
        if read_slots & keep:
            continue
        alone = all(
            s not in uses and (fresh is not None or not read_slots.intersection(uses))
            for j, (_, uses, _, _, _, fresh) in enumerate(lines[i + 1 :], i + 1)
            if j not in reads
        )
        if not alone:
            continue
        code = f"if {name}._grad is not None: v{s} = {arr}({name}._grad._data + v{s})"
        out[i] = (code, (s,), (s,), False, True, None)
        for j in reads:
            r = tags[j][2]
            out[j] = (f"v{r} = v{s}", (s,), (r,), True, True, None)
    return out


def _unit_seeds(lines: list[Any], tags: dict[int, Any], names: dict[int, str]) -> list[Any]:
    """``ones * g`` where ``ones`` is the implied seed of a backward (dE/dE = 1) and the
    product has ``g``'s shape and dtype is ``g`` itself (x · 1 = x exactly): the alias is
    taken only where ``g`` is a fresh array that nothing uses afterwards."""
    multiply = names.get(id(np.multiply))
    ones = {tag[1] for tag in tags.values() if tag[0] == "ones"}
    if multiply is None or not ones:
        return lines
    made = {line[2][0]: line[5] for line in lines if line[4] and line[5] is not None}
    last: dict[int, int] = {}
    for k, (_, uses, *_) in enumerate(lines):
        for u in uses:
            last[u] = k
    out = list(lines)
    for k, (code, uses, defines, pure, lowered, fresh) in enumerate(lines):
        if not lowered or fresh is None or len(uses) != 2 or len(defines) != 1:
            continue
        a, b = uses
        g = b if a in ones else a if b in ones else None
        if g is None or code != f"v{defines[0]} = {multiply}(v{uses[0]}, v{uses[1]}@OUT@)":
            continue
        array = made.get(g)
        if array is None or last[g] != k:
            continue
        if array.shape != fresh.shape or array.dtype != fresh.dtype:
            continue
        out[k] = (f"v{defines[0]} = v{g}", (g,), defines, pure, True, None)
    return out


class _Groups:
    """Slots that may share memory (a view and its base, a result that may be its input),
    as disjoint sets: ``root(slot)`` names a slot's group."""

    def __init__(self) -> None:
        self._parent: dict[int, int] = {}

    def root(self, slot: int) -> int:
        parent = self._parent
        while parent.get(slot, slot) != slot:
            slot = parent[slot]
        return slot

    def join(self, slots: Sequence[int], others: Sequence[int]) -> None:
        for a in slots:
            for b in others:
                ra, rb = self.root(a), self.root(b)
                if ra != rb:
                    self._parent[ra] = rb


def _shared(lines: list[Any]) -> list[Any]:
    """A ufunc call made a second time on the same slots, with nothing written into them
    in between, becomes the first call's result (a rule's vjp recomputing its forward's
    ``o - t``). A write in place into a slot — or into any slot that may share its memory
    (a view, a result that may be its input, an earlier call's result reused) — forgets
    every call that read it or made it. Any line that is not a NumPy call may write
    anywhere: it forgets them all."""
    seen: dict[str, int] = {}
    groups = _Groups()
    root = groups.root
    out = []
    for line in lines:
        code, uses, defines, pure, lowered, fresh = line
        if not lowered:
            seen.clear()
        elif not defines:  # an in-place write: what read or made its slots is stale now
            written = {root(u) for u in uses}
            stale = [
                k
                for k, s in seen.items()
                if root(s) in written or any(root(int(n[1:])) in written for n in _names(k))
            ]
            for key in stale:
                del seen[key]
        elif fresh is not None and code.startswith(f"v{defines[0]} = "):
            expression = code[len(f"v{defines[0]} = ") :]
            first = seen.get(expression)
            if first is not None:
                groups.join(defines, (first,))
                out.append((f"v{defines[0]} = v{first}", (first,), defines, pure, True, None))
                continue
            seen[expression] = defines[0]
        else:  # a view, or a call that may return its input: its result may be its input
            groups.join(defines, uses)
        out.append(line)
    return out


def _names(expression: str) -> set[str]:
    import re

    return set(re.findall(r"\bv\d+\b", expression))
