"""Backward traces: every step of a backward pass, in the order the engine takes it.

    with gradgate.trace.trace() as tr:
        E.backward()
    print(tr)                   # a text table
    tr.to_markdown()            # LaTeX in the lecture's notation: dE/ds = Jᵀ dE/do
    tr.save_html("trace.html")  # the graph's picture and the steps, one offline page

A trace records three kinds of step (:class:`Step`):

* ``backward``: a gate turned g = dE/d(its output) into J^T g for each input (20.2);
* ``sum``: a tensor that feeds several gates got a second (or later) contribution, which
  the engine added to the ones before it: dE/ds = J1ᵀ g1 + J2ᵀ g2 (fan-out, 20.2);
* ``leaf``: the gradient of a leaf (a parameter, or a tensor that retains its grad) is
  complete.

It also keeps the graph of each pass it watched (``tr.graph``), with the gradient of every
tensor in it, so the picture can be drawn after ``backward()`` has released the graph.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .engine import Observer, observe, sum_to
from .gates.base import Gate, forward_input_names
from .tensor import Tensor
from .viz.graph import MAX_VALUES, Graph, build
from .viz.text import array_text, shape_text, to_numpy


@dataclass
class Sent:
    """What a backward step sent to one input: J^T g, or None (no gradient wanted)."""

    slot: int
    slot_name: str
    input: str  # the input tensor's name
    gradient: np.ndarray | None


@dataclass
class Part:
    """One contribution to a fan-out sum: which gate sent it, through which slot."""

    step: int
    gate: str
    output: str  # that gate's output tensor's name
    slot_name: str
    gradient: np.ndarray


@dataclass
class Step:
    """One event of a backward pass (see the module's docstring for the three kinds).

    ``g`` is dE/d(tensor): the upstream gradient a gate received (``backward``), the new
    total (``sum``) or the leaf's complete gradient (``leaf``).
    """

    index: int  # 1-based
    kind: str  # "backward", "sum" or "leaf"
    tensor: str  # the name of the tensor the step is about
    node: str  # its node's id in the pass's graph
    graph: int  # which of the trace's graphs (passes)
    g: np.ndarray
    gate: str | None = None  # backward: the gate that ran its vjp
    inputs: list[str] = field(default_factory=list)  # backward: the gate's inputs' names
    sent: list[Sent] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)  # sum: every contribution so far
    root: bool = False  # backward: the tensor is the pass's root (its g is the seed)
    rule: type[Gate] | None = None  # backward: the gate's class, whose formulas it shows


def trace(names: dict[str, Tensor] | None = None, max_values: int = MAX_VALUES) -> Trace:
    """Record the backward passes run inside a ``with`` block (this thread only).

    ``names`` labels tensors (``{"W1": W1, "s1": s1, ...}``), as in
    :func:`gradgate.viz.graph`; numbers are printed for tensors of at most ``max_values``
    elements (12, the lecture's 3 × 4 W1), and summarised by shape and norm otherwise.
    """
    return Trace(names, max_values)


class Trace(Observer):
    """The steps of the backward passes run while it was installed; see :func:`trace`.

    It keeps a copy of every gradient it saw and a reference to every tensor computed while
    it recorded (so it can draw them later): trace a step or two, not a whole training run.
    """

    def __init__(self, names: dict[str, Tensor] | None = None, max_values: int = MAX_VALUES):
        self.names = dict(names or {})
        self.max_values = max_values
        self.steps: list[Step] = []
        self.graphs: list[Graph] = []
        self._grads: dict[int, Any] = {}  # id(tensor) → dE/d(tensor), for the pictures
        self._made: dict[int, tuple[Gate, tuple[Tensor, ...], Tensor]] = {}
        self._node: dict[int, tuple[int, str, str]] = {}  # id → (graph, node id, name)
        self._arrivals: dict[int, list[Part]] = {}
        self._context: Any = None

    # --- installing -----------------------------------------------------------------------

    def __enter__(self) -> Trace:
        if self._context is not None:
            raise RuntimeError("trace: this trace is already recording")
        self._context = observe(self)
        self._context.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        context, self._context = self._context, None
        context.__exit__(*exc)

    # --- the engine's events ----------------------------------------------------------------

    def forward(self, gate: Gate, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        if output.node is not None and output.node.gate is gate:  # recorded: keep the
            # structure for pictures drawn later
            self._made[id(output)] = (gate, inputs, output)

    def backward(self, node: Tensor, g: Any, contributions: tuple) -> None:
        assert node.node is not None and node.node.inputs is not None
        gate, inputs = node.node.gate, node.node.inputs
        graph_index, node_id, name = self._locate(node)
        index = len(self.steps) + 1
        g = _copy(g)
        self._grads[id(node)] = g
        step = Step(
            index,
            "backward",
            name,
            node_id,
            graph_index,
            g,
            gate=gate.name,
            root=self.graphs[graph_index].root == node_id,
            rule=type(gate),
        )
        slot_names = _slot_names(self.graphs[graph_index], node_id, len(inputs))
        for slot, (parent, c) in enumerate(zip(inputs, contributions, strict=False)):
            parent_name = self._locate(parent)[2]
            step.inputs.append(parent_name)
            if c is None or not parent.requires_grad:
                step.sent.append(Sent(slot, slot_names[slot], parent_name, None))
                continue
            c = _copy(c)
            try:
                c = sum_to(c, parent)  # what the engine adds: summed to the input's shape
            except (RuntimeError, ValueError):
                pass  # shown as the rule returned it
            step.sent.append(Sent(slot, slot_names[slot], parent_name, c))
            self._arrivals.setdefault(id(parent), []).append(
                Part(index, gate.name, name, slot_names[slot], c)
            )
        self.steps.append(step)

    def summed(self, tensor: Tensor, before: Any, contribution: Any, total: Any) -> None:
        graph_index, node_id, name = self._locate(tensor)
        total = _copy(total)
        self._grads[id(tensor)] = total
        parts = list(self._arrivals.get(id(tensor), []))
        self.steps.append(
            Step(len(self.steps) + 1, "sum", name, node_id, graph_index, total, parts=parts)
        )

    def leaf(self, tensor: Tensor, g: Any) -> None:
        graph_index, node_id, name = self._locate(tensor)
        g = _copy(g)
        self._grads[id(tensor)] = g
        self.steps.append(Step(len(self.steps) + 1, "leaf", name, node_id, graph_index, g))

    def _locate(self, t: Tensor) -> tuple[int, str, str]:
        """(graph index, node id, name) of a tensor; a new root starts a new graph."""
        found = self._node.get(id(t))
        if found is None:
            g = build(t, self.names, self.max_values, inputs_of=self._inputs_of, grads=self._grads)
            self.graphs.append(g)
            for n in g.nodes:
                if n.tensor is not None:
                    self._node.setdefault(id(n.tensor), (len(self.graphs) - 1, n.id, n.name))
            found = self._node[id(t)]
        return found

    def _inputs_of(self, t: Tensor) -> tuple[Gate, tuple[Tensor, ...]] | None:
        made = self._made.get(id(t))
        return None if made is None or made[2] is not t else (made[0], made[1])

    # --- what it found ----------------------------------------------------------------------

    @property
    def graph(self) -> Graph:
        """The graph of the (first) backward pass, with every gradient that flowed."""
        if not self.graphs:
            raise RuntimeError("trace: no backward pass was recorded")
        return self.graphs[0]

    def graph_of(self, tensor: Tensor) -> Graph:
        """The graph behind ``tensor``, drawn from what the trace saw run forward or
        backward (so it works after ``backward()`` released the graph)."""
        return build(
            tensor, self.names, self.max_values, inputs_of=self._inputs_of, grads=self._grads
        )

    @property
    def gates(self) -> list[str]:
        """The gates' names, in the order their backward ran."""
        return [s.gate for s in self.steps if s.kind == "backward" and s.gate is not None]

    def of_kind(self, kind: str) -> list[Step]:
        return [s for s in self.steps if s.kind == kind]

    # --- text ---------------------------------------------------------------------------

    def to_text(self) -> str:
        """A table: one row per step, with its formulas and their numbers side by side."""
        if not self.steps:
            return "(no backward steps recorded)"
        rows = [("#", "event", "formula", "numbers")]
        for s in self.steps:
            for k, (formula, numbers) in enumerate(self._lines(s)):
                rows.append(
                    (str(s.index) if k == 0 else "", _event(s) if k == 0 else "", formula, numbers)
                )
        widths = [max(len(r[c]) for r in rows) for c in range(3)]
        lines = []
        for k, r in enumerate(rows):
            lines.append("  ".join(r[c].ljust(widths[c]) for c in range(3)) + "  " + r[3])
            if k == 0:
                lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 7)
        return "\n".join(line.rstrip() for line in lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        counts = {k: len(self.of_kind(k)) for k in ("backward", "sum", "leaf")}
        return (
            f"<Trace: {counts['backward']} gate steps, {counts['sum']} fan-out sums, "
            f"{counts['leaf']} leaves>"
        )

    def _brief(self, a: np.ndarray | None) -> str:
        if a is None:
            return "none"
        if a.size <= self.max_values:
            return array_text(a)
        return f"{shape_text(a.shape)} array, ‖·‖ = {float(np.linalg.norm(a)):.4g}"

    def _lines(self, s: Step) -> list[tuple[str, str]]:
        """(formula, numbers) pairs in text: the upstream g, then one per input."""
        if s.kind == "backward":
            out = [(f"upstream dE/d{s.tensor}", f"g = {self._brief(s.g)}")]
            for formula, sent in zip(_text_formulas(self, s), s.sent, strict=True):
                to = _via(s, sent)
                out.append((formula, f"→ {to}: {self._brief(sent.gradient)}"))
            return out
        if s.kind == "sum":  # each addend, then the total
            formulas = _text_formulas(self, s)
            numbers = [
                ("+ " if k else "  ") + self._brief(p.gradient) for k, p in enumerate(s.parts)
            ]
            return list(zip(formulas, numbers + [f"= {self._brief(s.g)}"], strict=True))
        return [(_text_formulas(self, s)[0], f"= {self._brief(s.g)}")]

    def rows(self, s: Step) -> list[tuple[str, str]]:
        """The (formula, numbers) lines the text table shows for one step."""
        return self._lines(s)

    def to_markdown(self) -> str:
        """Markdown with LaTeX (``$$ … $$``) in the lecture's notation, one section per step."""
        out = [
            "# Backward trace",
            "",
            "Each gate turns the gradient at its output into one for each input, "
            "$\\frac{\\partial E}{\\partial s} = J^\\top \\frac{\\partial E}{\\partial o}$; "
            "where a value feeds several gates their contributions are summed "
            "(lecture 20.2).",
            "",
        ]
        for s in self.steps:
            out.append(
                f"**{s.index}. {_event(s)}**"
                + (f" — ${_forward_tex(self, s)}$" if s.kind == "backward" else "")
            )
            out.append("")
            if s.kind == "backward":
                out.append(
                    f"upstream $\\frac{{\\partial E}}{{\\partial {tex_name(s.tensor)}}}$ "
                    f"= `{self._brief(s.g)}`"
                )
                out.append("")
            for formula, numbers in zip(
                _tex_formulas(self, s), _result_numbers(self, s), strict=True
            ):
                out.append(f"$$ {formula} $$")
                out.append("")
                out.append(f"= `{numbers}`")
                out.append("")
        return "\n".join(out)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    # --- HTML ---------------------------------------------------------------------------

    def to_html(self, title: str = "gradgate backward trace") -> str:
        """A standalone page (no external files or scripts): the graph and the steps."""
        pictures = []
        for k, g in enumerate(self.graphs):
            svg = g.to_svg(graphviz=False, id_prefix=f"g{k}-")
            svg = re.sub(r"^<\?xml[^>]*\?>\s*", "", svg)
            pictures.append(f'<figure class="graph">{svg}</figure>')
        rows = []
        for s in self.steps:
            lines = self._lines(s)
            formulas = "<br>".join(html.escape(f) for f, _ in lines)
            numbers = "<br>".join(html.escape(n) for _, n in lines)
            rows.append(
                f'<tr class="{s.kind}" data-node="g{s.graph}-{s.node}"><td>{s.index}</td>'
                f'<td>{html.escape(_event(s))}</td><td class="formula">{formulas}</td>'
                f'<td class="numbers">{numbers}</td></tr>'
            )
        return _PAGE.format(
            title=html.escape(title),
            pictures="\n".join(pictures) or "<p>No backward pass was recorded.</p>",
            rows="\n".join(rows),
        )

    def save_html(
        self, path: str | os.PathLike[str], title: str = "gradgate backward trace"
    ) -> None:
        """Write :meth:`to_html` to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_html(title))

    def save_markdown(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_markdown())


# --- formulas -------------------------------------------------------------------------------


def tex_name(name: str) -> str:
    """A tensor's name in LaTeX: ``s1`` → ``s_{1}``, ``W2`` → ``W_{2}``, ``t_a`` →
    ``t_{a}``, ``sigmoid1`` → ``\\mathrm{sigmoid}_{1}``, anything else upright."""
    m = re.fullmatch(r"([A-Za-z]+)(?:_([A-Za-z0-9]+)|(\d+))?", name)
    if m is None:
        return "\\mathrm{" + re.sub(r"([_#$%&{}])", r"\\\1", name) + "}"
    stem, subscript, digits = m.groups()
    stem = stem if len(stem) == 1 else f"\\mathrm{{{stem}}}"
    subscript = subscript or digits
    return stem + (f"_{{{subscript}}}" if subscript else "")


def _d(name: str) -> str:
    """∂E/∂name in LaTeX."""
    return f"\\frac{{\\partial E}}{{\\partial {tex_name(name)}}}"


def _jt(out: str, x: str) -> str:
    """(∂out/∂x)ᵀ in LaTeX: the transposed Jacobian of a gate."""
    return (
        f"\\left(\\frac{{\\partial {tex_name(out)}}}{{\\partial {tex_name(x)}}}"
        "\\right)^{\\!\\top}"
    )


def _seeded(trace: Trace, s: Step) -> bool:
    """True at the root of a pass seeded with 1, where ``· dE/dE`` is left out."""
    return s.root and s.g.size == 1 and float(s.g.reshape(-1)[0]) == 1.0


_SEEDED_JOINS = (" ⊙ ", " · ", " \\odot ", " \\cdot ", "\\, ")


def _rule(s: Step, slot: int, g: str, tex: bool) -> str | None:
    """The gate's own J^T g for input ``slot`` (``Gate.gradients``, or ``tex_gradients``),
    with the tensors' names filled in; None where the gate states no rule for it.

    ``g`` is dE/d(out); at the root of a pass seeded with 1 it is empty, and the rule drops
    the factor (``(o − t) · g`` reads ``o − t``)."""
    cls = s.rule
    templates = (cls.tex_gradients if tex else cls.gradients) if cls is not None else ()
    if cls is None or slot >= len(templates) or not templates[slot]:
        return None
    return _filled(cls, templates[slot], s, g, tex)


class _Name(str):
    """A tensor's name in a formula; ``{t:j}`` writes it with the index j (``t_j``, or
    ``(W_{2})_j`` where the name has a subscript already)."""

    def __format__(self, spec: str) -> str:
        return _sub(str(self), spec) if spec else str(self)


def _filled(cls: type[Gate], template: str, s: Step, g: str, tex: bool) -> str | None:
    """``template`` with ``{out}``, ``{g}`` and the forward's input names replaced."""
    name = tex_name if tex else (lambda n: n)
    names = forward_input_names(cls)
    if names is None or len(names) != len(s.inputs):
        return None
    values: dict[str, str] = {k: _Name(name(v)) for k, v in zip(names, s.inputs, strict=True)}
    values.update(out=_Name(name(s.tensor)), g=g or "\u0001")
    try:
        text = template.format(**values)
    except (KeyError, IndexError):
        return None
    if "\u0001" in text:  # seeded with 1: drop the factor g and what joins it
        for join in _SEEDED_JOINS:
            text = text.replace(join + "\u0001", "").replace("\u0001" + join, "")
        text = text.replace("\u0001", "1")
        if text.startswith("(") and text.endswith(")") and text.count("(") == 1:
            text = text[1:-1]
    return text


def forward_formula(s: Step) -> str:
    """The forward of a backward step's gate, in text with the tensors' names:
    ``s2 = W2 o1``; ``s2 = MatVec(W2, o1)`` where the gate states no formula."""
    if s.rule is not None and s.rule.formula:
        text = _filled(s.rule, s.rule.formula, s, "", tex=False)
        if text is not None:
            return text
    return f"{s.tensor} = {s.gate}({', '.join(s.inputs)})"


def _forward_tex(trace: Trace, s: Step) -> str:
    o, x = tex_name(s.tensor), [tex_name(i) for i in s.inputs]
    if s.rule is not None and s.rule.tex:
        text = _filled(s.rule, s.rule.tex, s, "", tex=True)
        if text is not None:
            return text
    return f"{o} = \\mathrm{{{s.gate}}}({', '.join(x)})"


def _sub(tex: str, index: str = "j") -> str:
    """``t_j``, or ``(W_{2})_j`` where the name has a subscript already."""
    return f"({tex})_{index}" if "_" in tex else f"{tex}_{index}"


def _tex_formulas(trace: Trace, s: Step) -> list[str]:
    if s.kind == "backward":
        out = []
        g = "" if _seeded(trace, s) else _d(s.tensor)
        for sent in s.sent:
            if sent.gradient is None:
                continue
            rule = _rule(s, sent.slot, g, tex=True)
            if not g:  # the root, seeded with dE/dE = 1: the gate's own derivative
                local = (
                    f"\\left(\\frac{{\\partial {tex_name(s.tensor)}}}"
                    f"{{\\partial {tex_name(sent.input)}}}\\right)^{{\\!\\top}}"
                )
                out.append(f"{_d(sent.input)} = {rule or local}")
                continue
            general = f"{_jt(s.tensor, sent.input)} {_d(s.tensor)}"
            formula = f"{_d(sent.input)} = {general}"
            if rule is not None:
                formula += f" = {rule if rule else '1'}"
            out.append(formula)
        return out
    if s.kind == "sum":
        terms = [f"{_jt(p.output, s.tensor)} {_d(p.output)}" for p in s.parts]
        labelled = [
            f"\\underbrace{{{term}}}_{{\\text{{from {p.gate}, "
            f"{_slot_if_twice(s, p)}step {p.step}}}}}"
            for term, p in zip(terms, s.parts, strict=True)
        ]
        return labelled + [f"{_d(s.tensor)} = " + " + ".join(terms)]
    return [f"{_d(s.tensor)}"]


def _result_numbers(trace: Trace, s: Step) -> list[str]:
    if s.kind == "backward":
        return [trace._brief(sent.gradient) for sent in s.sent if sent.gradient is not None]
    if s.kind == "sum":
        return [trace._brief(p.gradient) for p in s.parts] + [trace._brief(s.g)]
    return [trace._brief(s.g)]


def _text_formulas(trace: Trace, s: Step) -> list[str]:
    d = "dE/d"
    if s.kind == "backward":
        out = []
        g = "" if _seeded(trace, s) else f"{d}{s.tensor}"
        for sent in s.sent:
            if sent.gradient is None:
                out.append(f"{d}{sent.input}: not needed")
                continue
            rule = _rule(s, sent.slot, g, tex=False)
            if not g:  # the root, seeded with dE/dE = 1: the gate's own derivative
                local = f"(∂{s.tensor}/∂{sent.input})ᵀ"
                out.append(f"{d}{_via(s, sent)} = {rule or local}")
                continue
            general = f"(d{s.tensor}/d{sent.input})ᵀ {d}{s.tensor}"
            formula = f"{d}{_via(s, sent)} = {general}"
            if rule is not None:
                formula += f" = {rule if rule else '1'}"
            out.append(formula)
        return out
    if s.kind == "sum":  # one line per addend J_kᵀ g_k, then their total
        terms = [
            f"{'+ ' if k else '  '}(d{p.output}/d{s.tensor})ᵀ {d}{p.output}  "
            f"from {p.gate} → {_part_via(s, p)} (step {p.step})"
            for k, p in enumerate(s.parts)
        ]
        return terms + [f"= {d}{s.tensor}, summed over {len(s.parts)} consumers"]
    return [f"{d}{s.tensor} complete"]


def _via(s: Step, sent: Sent) -> str:
    """The input's name, with the slot where one tensor fills two slots (``a via x``)."""
    if s.inputs.count(sent.input) > 1:
        return f"{sent.input} via {sent.slot_name}"
    return sent.input


def _part_via(s: Step, p: Part) -> str:
    """The consumer's output, with the slot where it read the tensor twice (``mul1 via y``)."""
    if sum(q.step == p.step for q in s.parts) > 1:
        return f"{p.output} via {p.slot_name}"
    return p.output


def _slot_if_twice(s: Step, p: Part) -> str:
    return f"slot {p.slot_name}, " if sum(q.step == p.step for q in s.parts) > 1 else ""


def _event(s: Step) -> str:
    if s.kind == "backward":
        return f"{s.gate} → {s.tensor}"
    if s.kind == "sum":
        return f"Σ fan-out at {s.tensor}"
    return f"leaf {s.tensor}"


def _slot_names(g: Graph, node_id: str, count: int) -> list[str]:
    names = {e.slot: e.slot_name for e in g.edges_into(node_id)}
    return [names.get(k, f"x{k}") for k in range(count)]


def _copy(x: Any) -> np.ndarray:
    return np.array(to_numpy(x), copy=True)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
h1 {{ font-size: 1.3em; }}
figure.graph {{ margin: 0 0 1.5em 0; border: 1px solid #ddd; }}
figure.graph svg {{ display: block; max-width: 100%; height: auto; }}
div.steps {{ overflow-x: auto; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border-bottom: 1px solid #e4e4e4; padding: 0.35em 0.7em; text-align: left;
         vertical-align: top; }}
td:nth-child(2) {{ white-space: nowrap; }}
td.formula, td.numbers {{ font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace;
                        white-space: pre; }}
tr.sum td {{ background: #fff0e6; }}
tr.leaf td {{ background: #fffbe6; }}
tr:hover td {{ background: #e8f1fb; }}
.gradgate-graph g.node.highlight rect {{ stroke: #d6336c; stroke-width: 4; }}
p.note {{ color: #555; max-width: 60em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="note">Each step is one gate's backward: the gradient at its output, g = dE/d(output),
becomes Jᵀ g for each input (lecture 20.2). Orange rows are fan-out sums: a value that feeds
several gates gets the sum of their contributions. Point at a row to find its node.</p>
{pictures}
<div class="steps"><table>
<thead><tr><th>#</th><th>event</th><th>formula</th><th>numbers</th></tr></thead>
<tbody>
{rows}
</tbody>
</table></div>
<script>
for (const row of document.querySelectorAll("tr[data-node]")) {{
  const node = document.getElementById(row.dataset.node);
  if (!node) continue;
  row.addEventListener("mouseenter", () => node.classList.add("highlight"));
  row.addEventListener("mouseleave", () => node.classList.remove("highlight"));
}}
</script>
</body>
</html>
"""
