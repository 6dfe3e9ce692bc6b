"""Rules take the same path on traced arrays as on arrays.

A capture lowers a rule by running it once more on ``gradgate.replay.lower.Traced`` arrays.
A rule that asks ``isinstance(x, np.ndarray)`` takes another path for those, and the
lowered calls, though equal at capture, may differ from eager's on other values. Rules ask
``gates.base.is_array`` (arrays against Tensors) or ``is_host_array`` (the CPU's layout)
instead; this test reads the gates' source and fails on the direct test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gradgate.gates

GATES = Path(gradgate.gates.__file__).parent
ALLOWED = {"reference", "samples", "_torch_index", "is_array", "is_host_array"}


def _direct_tests(tree: ast.AST) -> list[int]:
    found = []

    def visit(node: ast.AST, inside: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside = node.name
        if inside not in ALLOWED:
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") == "isinstance"
                and "ndarray" in ast.unparse(node.args[1])
            ):
                found.append(node.lineno)
            if isinstance(node, ast.Compare) and "ndarray" in ast.unparse(node):
                found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, "")
    return found


def test_no_rule_tests_for_ndarray_directly():
    offending = {
        path.name: lines
        for path in sorted(GATES.glob("*.py"))
        if (lines := _direct_tests(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert not offending, f"use gates.base.is_array / is_host_array instead: {offending}"


def test_the_check_finds_a_direct_test():
    source = "def forward(self, xp, x):\n    return x if isinstance(x, np.ndarray) else 0\n"
    tree = ast.parse(source)
    assert _direct_tests(tree) == [2]
