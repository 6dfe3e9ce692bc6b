"""The Python blocks of docs/data.md's section on samplers run, in order, as one script
(the page's earlier blocks are sketches that need the reader's own arrays)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Samplers, batch samplers and collate functions"


def test_the_samplers_section_runs_and_prints_what_it_says(tmp_path, run_blocks):
    text = (ROOT / "docs" / "data.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION) :].split("\n## ")[0]
    done = run_blocks(section, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "2 [64, 64]" in done.stdout and "(3, 1) [0 0 0]" in done.stdout
    share = int(re.search(r"class 1 in the balanced epoch: (\d+)%", done.stdout).group(1))
    assert 40 <= share <= 60
