"""The Python blocks of docs/optimisers.md run, in order, as one script."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_optimisers_page_runs(tmp_path, run_blocks):
    done = run_blocks((ROOT / "docs" / "optimisers.md").read_text(encoding="utf-8"), tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
