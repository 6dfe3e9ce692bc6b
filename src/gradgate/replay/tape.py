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


class Tape:
    """Lines of code over slots, and the objects the code refers to by name."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, tuple[int, ...], tuple[int, ...], bool]] = []
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
        self, code: str, uses: Sequence[int] = (), defines: Sequence[int] = (), pure: bool = False
    ) -> None:
        """One line of code, naming slot n as ``v<n>``; ``uses``/``defines``: its slots.
        A ``pure`` line only computes what it defines: it is left out when nothing uses it
        (a transpose that a fused product made unneeded, a gradient no one asked for)."""
        self.lines.append((code, tuple(uses), tuple(defines), pure))

    def constant(self, array: Any) -> int:
        slot = self.new()
        self.constants[slot] = self.name(array, "c")
        self.emit(f"v{slot} = {self.constants[slot]}", (), (slot,), pure=True)
        return slot

    def compile(self, result: str, result_uses: Sequence[int]) -> Callable[[Sequence[Any]], Any]:
        """The replay function ``f(flat_arguments) -> result``."""
        keep = set(result_uses)
        needed, lines = set(keep), []
        for code, uses, defines, pure in reversed(self.lines):
            if pure and not any(s in needed for s in defines):
                continue
            needed.update(uses)
            lines.append((code, uses, defines))
        lines.reverse()
        last: dict[int, int] = {}
        for k, (_, uses, defines) in enumerate(lines):
            for s in (*uses, *defines):
                last[s] = k
        body = []
        for k, (code, _, defines) in enumerate(lines):
            if defines and defines[0] in self.written and defines[0] in self.constants:
                code += ".copy()"  # written in place by the step: each replay starts afresh
            body.append(code)
            done = sorted(
                s for s, at in last.items() if at == k and s not in keep
            )  # fmt: skip
            if done:
                body.append("del " + ", ".join(f"v{s}" for s in done))
        source = "def replay(flat):\n" + "".join(f"    {line}\n" for line in body)
        source += f"    return {result}\n"
        namespace = dict(self.objects)
        exec(compile(source, "<gradgate capture>", "exec"), namespace)  # noqa: S102
        replay: Callable[[Sequence[Any]], Any] = namespace["replay"]
        replay.source = source  # type: ignore[attr-defined]
        return replay
