"""The README's set-up: two commands, the first giving everything it promises.

Its Python examples run in tests/test_docs.py, with every other page's.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def set_up_commands() -> list[str]:
    section = README.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    pip install")]


def extras(command: str) -> set[str]:
    found = re.search(r'-e "\.\[([\w,]+)\]"', command)
    return set(found.group(1).split(",")) if found else set()


def test_the_readme_has_two_set_up_commands():
    first, tests = set_up_commands()
    assert first.endswith("&& gradgate train")
    assert tests.endswith("python -m pytest -q")


def test_the_first_command_installs_what_the_pictures_it_promises_need():
    # the curves are SVG, drawn by gradgate; PNG graphs (gradgate graph -o net.png) need
    # matplotlib where Graphviz is missing, so the main job's install brings it
    first = set_up_commands()[0]
    assert "plot" in extras(first)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^plot = \["matplotlib>=[\d.]+"\]$', pyproject, re.M)
    assert "metrics.svg" in README
