"""The Python blocks of docs/weights.md run, in order, as one script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("safetensors")
ROOT = Path(__file__).resolve().parents[1]


def test_the_weights_page_runs(tmp_path, run_blocks):
    text = (ROOT / "docs" / "weights.md").read_text(encoding="utf-8")
    assert len(re.findall(r"```python\n(.*?)```", text, re.S)) == 2
    done = run_blocks(text, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "['0.bias', '0.weight', '2.bias', '2.weight']" in done.stdout
    assert (tmp_path / "from_torch.safetensors").exists()  # the PyTorch half ran too
