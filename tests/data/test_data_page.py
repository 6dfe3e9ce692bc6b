"""The Python blocks of docs/data.md's section on samplers run, in order, as one script
(the page's earlier blocks are sketches that need the reader's own arrays)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Samplers, batch samplers and collate functions"


def test_the_samplers_section_runs_and_prints_what_it_says(tmp_path):
    text = (ROOT / "docs" / "data.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION) :].split("\n## ")[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks
    script = tmp_path / "section.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "2 [64, 64]" in done.stdout and "(3, 1) [0 0 0]" in done.stdout
    share = int(re.search(r"class 1 in the balanced epoch: (\d+)%", done.stdout).group(1))
    assert 40 <= share <= 60
