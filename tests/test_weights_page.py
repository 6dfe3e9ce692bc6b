"""The Python blocks of docs/weights.md run, in order, as one script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("safetensors")
ROOT = Path(__file__).resolve().parents[1]


def test_the_weights_page_runs(tmp_path):
    text = (ROOT / "docs" / "weights.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 2
    script = tmp_path / "page.py"
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
    assert "['0.bias', '0.weight', '2.bias', '2.weight']" in done.stdout
    assert (tmp_path / "from_torch.safetensors").exists()  # the PyTorch half ran too
