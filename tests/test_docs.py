"""Every Python block of README.md and docs/*.md runs as written, and prints what the page
shows.

A page runs as a reader would run it: its blocks in order, sharing one namespace, in a
fresh process (a page may register a gate) and an empty folder (a page may write files).
A ```text block right after a ```python block is that block's output: each of its lines,
but ``...``, must appear in what the block printed, in order.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)

RUNNER = """
import contextlib, io, json, sys, traceback

blocks, page, results_path = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
scope = {"__name__": "__main__"}
results = []
for line, code in blocks:
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile("\\n" * (line - 1) + code, page, "exec"), scope)
    except BaseException:
        results.append({"printed": printed.getvalue(), "error": traceback.format_exc()})
        break
    results.append({"printed": printed.getvalue(), "error": None})
with open(results_path, "w") as stream:
    json.dump(results, stream)
"""


@dataclass
class Block:
    line: int  # where the code starts on the page
    code: str
    shown: str | None  # the output the page shows for it


def python_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    previous_end = None
    for fence in FENCE.finditer(text):
        kind, body = fence.group(1), fence.group(2)
        between = text[previous_end : fence.start()] if previous_end is not None else "x"
        if kind == "python":
            line = text.count("\n", 0, fence.start()) + 2
            blocks.append(Block(line, body, None))
        elif kind == "text" and blocks and not between.strip() and blocks[-1].shown is None:
            blocks[-1].shown = body
        previous_end = fence.end()
    return blocks


def missing_lines(shown: str, printed: str) -> list[str]:
    """The lines of ``shown`` (but ``...``) not found in ``printed``, in order."""
    lines = printed.splitlines()
    position, missing = 0, []
    for expected in shown.splitlines():
        if expected.strip() == "...":
            continue
        found = next((k for k in range(position, len(lines))
                      if lines[k].rstrip() == expected.rstrip()), None)  # fmt: skip
        if found is None:
            missing.append(expected)
        else:
            position = found + 1
    return missing


def test_a_shown_output_is_checked_line_by_line_in_order():
    assert missing_lines("a\n...\nc\n", "a\nb\nc\n") == []
    assert missing_lines("c\na\n", "a\nb\nc\n") == ["a"]
    blocks = python_blocks("```python\nprint(1)\n```\n\n```text\n1\n```\nprose\n```text\n2\n```\n")
    assert [(b.line, b.code, b.shown) for b in blocks] == [(2, "print(1)\n", "1\n")]


RUNNABLE = [page for page in PAGES if python_blocks(page.read_text(encoding="utf-8"))]


def test_the_pages_have_code_to_run():
    assert {"README.md", "training.md", "data.md", "checkpoints.md", "visualising.md",
            "writing-a-gate.md"} <= {page.name for page in RUNNABLE}  # fmt: skip


@pytest.mark.parametrize("page", RUNNABLE, ids=[page.name for page in RUNNABLE])
def test_every_python_block_of_the_page_runs_and_prints_what_it_shows(page, tmp_path):
    blocks = python_blocks(page.read_text(encoding="utf-8"))
    work = tmp_path / "work"
    work.mkdir()
    plan, results_path = tmp_path / "blocks.json", tmp_path / "results.json"
    plan.write_text(json.dumps([(b.line, b.code) for b in blocks]), encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(plan), str(page.relative_to(ROOT)), str(results_path)],
        capture_output=True, text=True, timeout=300, env=env, cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(results_path.read_text(encoding="utf-8"))
    for block, result in zip(blocks, results, strict=False):
        where = f"{page.name}, the block at line {block.line}"
        assert result["error"] is None, f"{where} failed:\n{result['error']}"
        if block.shown is not None:
            missing = missing_lines(block.shown, result["printed"])
            assert not missing, f"{where} does not print what the page shows: {missing}"
    assert len(results) == len(blocks)
