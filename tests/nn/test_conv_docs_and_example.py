"""docs/convolution.md runs, and examples/cnn_digits.py trains (one short epoch)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_code_in_the_convolution_page_runs():
    text = (ROOT / "docs" / "convolution.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 5
    exec(compile("\n".join(blocks), "convolution.md", "exec"), {})  # noqa: S102


def test_the_cnn_example_trains_briefly_and_reports_its_accuracy(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "cnn_digits.py"), "--epochs", "1", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    found = re.findall(r"Accuracy: (\d+)/540 \(([\d.]+)%\)", done.stdout)
    assert len(found) == 1
    assert float(found[0][1]) > 60.0  # one epoch: far above chance (10 %), short of trained
