"""The Python blocks of docs/optimisers.md run, in order, as one script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_blocks(text: str, cwd: Path) -> subprocess.CompletedProcess:
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    script = cwd / "page.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env, cwd=cwd
    )


def test_the_optimisers_page_runs(tmp_path):
    done = run_blocks((ROOT / "docs" / "optimisers.md").read_text(encoding="utf-8"), tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
