"""Every error message gradgate raises is listed in docs/errors.md.

Each ``raise SomeError("…")`` in src/gradgate is read from the source; the longest literal
part of its message (f-string fields left out) must appear in the page, at least its first
24 characters. A new error, or a reworded one, fails here until the page lists it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gradgate

SOURCE = Path(gradgate.__file__).parent
PAGE = Path(__file__).parents[2] / "docs" / "errors.md"
PREFIX = 24


def _words(text: str) -> str:
    return " ".join(text.replace("`", "").split())


def _message_parts(call: ast.Call) -> list[str]:
    """The literal pieces of the message an exception is built with."""
    message = call.args[0]
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    if name == "_error" and len(call.args) > 1:  # io.py: _error(file name, reason)
        message = call.args[1]
    return [
        node.value
        for node in ast.walk(message)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def raised_messages() -> list[tuple[str, str]]:
    """(where, the longest literal piece) for every raise with a message in the package."""
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
                pieces = [_words(p).strip(" :;,.()'\"") for p in _message_parts(node.exc)]
                pieces = [p for p in pieces if len(p) >= 8]
                if pieces:
                    where = f"{path.relative_to(SOURCE)}:{node.lineno}"
                    found.append((where, max(pieces, key=len)))
    return found


def test_the_source_is_read():
    messages = dict(raised_messages())
    assert len(messages) > 200
    assert any("changed in place after the gate saved it" in m for m in messages.values())


def test_every_raised_message_is_in_docs_errors_md():
    page = _words(PAGE.read_text(encoding="utf-8"))
    missing = [
        f"{where}: {message[:60]!r}"
        for where, message in raised_messages()
        if message[:PREFIX] not in page
    ]
    assert not missing, "add these to docs/errors.md:\n" + "\n".join(missing)
