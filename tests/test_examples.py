"""The lecture's exercises, run as a student would run them: each script as a subprocess.

Each script asserts that gradgate's numbers agree with the hand-derived ones, so a zero
exit status is the check; the test also looks for the pictures each one writes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LECTURE = ROOT / "examples" / "lecture20"

EXPECTED = {  # script → the pictures (and pages) it writes
    "ex20_0_vector_addition.py": ["ex20_0_addition.svg"],
    "ex20_1_squared_error.py": ["ex20_1a_sqerr.svg", "ex20_1b_output_layer.svg"],
    "ex20_2_sigmoid.py": ["ex20_2_sigmoid.svg", "ex20_2_fanout.svg", "ex20_2_fanout_trace.html"],
    "ex20_3_matvec.py": ["ex20_3_matvec.svg"],
    "ex20_4_two_layer.py": ["ex20_4_two_layer.svg", "ex20_4_trace.html", "ex20_4_trace.md"],
}


def test_every_script_is_run_here():
    assert sorted(p.name for p in LECTURE.glob("ex*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs_and_agrees_with_the_lecture(script, tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env["MPLBACKEND"] = "Agg"
    done = subprocess.run(
        [sys.executable, str(LECTURE / script), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "agree" in done.stdout and "lecture" in done.stdout
    assert not re.findall(r"(?<![\w.])-0(?![\w.])", done.stdout)  # no −0 shown as a number
    for name in EXPECTED[script]:
        path = tmp_path / name
        assert path.is_file(), name
        if name.endswith(".svg"):
            ET.parse(path)  # well-formed
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(EXPECTED[script])
