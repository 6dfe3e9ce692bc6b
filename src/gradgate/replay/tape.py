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
    ) -> None:
        """One line of code, naming slot n as ``v<n>``; ``uses``/``defines``: its slots.
        A ``pure`` line only computes what it defines: it is left out when nothing uses it
        (a transpose that a fused product made unneeded, a gradient no one asked for). A
        ``lowered`` line is a NumPy call; ``fresh`` (the array it made at capture) marks one
        that makes a new array and may write it into a buffer of its own (``@OUT@`` in the
        code is where ``, out=`` goes)."""
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

    def _with_buffer(self, line: Any, escaping: set[int]) -> str:
        code, _, defines, _, _, fresh = line
        if fresh is None or defines[0] in escaping:
            return code.replace("@OUT@", "")
        buffer = self.name(np.empty_like(fresh), "b")
        return code.replace("@OUT@", f", out={buffer}")

    def constant(self, array: Any) -> int:
        slot = self.new()
        self.constants[slot] = self.name(array, "c")
        self.emit(f"v{slot} = {self.constants[slot]}", (), (slot,), pure=True)
        return slot

    def compile(self, result: str, result_uses: Sequence[int]) -> Callable[[Sequence[Any]], Any]:
        """The replay function ``f(flat_arguments) -> result``."""
        keep = set(result_uses)
        needed, kept = set(keep), []
        for line in reversed(self.lines):
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
        for k, line in enumerate(kept):
            code, defines = self._with_buffer(line, escaping), line[2]
            if defines and defines[0] in self.written and defines[0] in self.constants:
                code += ".copy()"  # written in place by the step: each replay starts afresh
            body.append(code)
            if k in ends:
                body.append("del " + ", ".join(f"v{s}" for s in sorted(ends[k])))
        source = "def replay(flat):\n" + "".join(f"    {line}\n" for line in body)
        source += f"    return {result}\n"
        namespace = dict(self.objects)
        exec(compile(source, "<gradgate capture>", "exec"), namespace)  # noqa: S102
        replay: Callable[[Sequence[Any]], Any] = namespace["replay"]
        replay.source = source  # type: ignore[attr-defined]
        return replay


def _shared(lines: list[Any]) -> list[Any]:
    """A ufunc call made a second time on the same slots, with nothing written into them
    in between, becomes the first call's result (a rule's vjp recomputing its forward's
    ``o - t``). Any line that is not a NumPy call may write anywhere: it forgets them all."""
    seen: dict[str, int] = {}
    out = []
    for line in lines:
        code, uses, defines, pure, lowered, fresh = line
        if not lowered:
            seen.clear()
        elif not defines:  # an in-place write: what read its slots is stale now
            for key in [k for k, s in seen.items() if any(f"v{u}" in _names(k) for u in uses)]:
                del seen[key]
        elif fresh is not None and code.startswith(f"v{defines[0]} = "):
            expression = code[len(f"v{defines[0]} = ") :]
            first = seen.get(expression)
            if first is not None:
                out.append((f"v{defines[0]} = v{first}", (first,), defines, pure, True, None))
                continue
            seen[expression] = defines[0]
        out.append(line)
    return out


def _names(expression: str) -> set[str]:
    import re

    return set(re.findall(r"\bv\d+\b", expression))
