"""The trace's HTML page: standalone, and (where Chromium is installed) it shows the graph."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from gradgate.trace import Trace, trace
from gradgate.viz import style

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def traced_page(two_layer, path) -> Trace:
    E, names = two_layer
    a = names["o1"]
    with trace(names) as tr:
        (E + (a * a).sum()).backward()  # o1 now feeds two gates: a fan-out point
    tr.save_html(path, title="two layers")
    return tr


def test_page_is_standalone_and_lists_every_step(tmp_path, two_layer):
    path = tmp_path / "trace.html"
    tr = traced_page(two_layer, path)
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 1 and "<?xml" not in page
    # nothing fetched from anywhere: no src/href attributes, no stylesheet links, no imports
    assert not re.search(r"\b(src|href)\s*=", page)
    assert "<link" not in page and "@import" not in page
    urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched
    assert page.count("<tr class=") == len(tr.steps)
    assert '<tr class="sum"' in page and "Σ fan-out at o1" in page
    for step in tr.steps:  # each row points at its node of the picture
        assert f'data-node="g{step.graph}-{step.node}"' in page
        assert f'id="g{step.graph}-{step.node}"' in page


def find_browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.mark.skipif(find_browser() is None, reason="headless Chromium is not installed")
def test_chromium_screenshot_shows_the_graph(tmp_path, two_layer):
    imread = pytest.importorskip("matplotlib.image").imread
    path = tmp_path / "trace.html"
    traced_page(two_layer, path)
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [
            find_browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1400,1000",
            f"--screenshot={shot}",
            path.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    image = imread(shot)
    assert image.shape[:2] == (1000, 1400)

    def share(hex_colour: str) -> float:
        rgb = np.array([int(hex_colour[k : k + 2], 16) / 255 for k in (1, 3, 5)])
        return float(np.all(np.abs(image[..., :3] - rgb) <= 3 / 255, axis=-1).mean())

    assert share(style.COLOURS["gate"][0]) > 0.01  # the gates' boxes were painted
    assert share(style.COLOURS["parameter"][0]) > 0.002
    assert share(style.FANOUT) > 0.0002  # and the fan-out mark (the picture is scaled to fit)
