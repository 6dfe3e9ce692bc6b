"""Line charts drawn as SVG by gradgate itself."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gradgate.viz.chart import Panel, line_charts, ticks

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    "low, high, expected",
    [
        (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (1.0, 60.0, [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]),
        (0.013, 0.024, [0.014, 0.016, 0.018, 0.02, 0.022, 0.024]),
        (-0.3, 0.9, [-0.2, 0.0, 0.2, 0.4, 0.6, 0.8]),
        (5.0, 5.0, [5.0]),
    ],
)
def test_ticks_are_round_numbers_inside_the_range(low, high, expected):
    assert ticks(low, high) == pytest.approx(expected)


def test_a_chart_holds_one_polyline_per_series_and_skips_what_is_not_finite():
    loss = Panel(
        "loss",
        "epoch",
        "loss",
        {"train": ([1, 2, 3], [0.5, float("nan"), 0.2]), "test": ([1, 2, 3], [0.6, 0.4, 0.3])},
    )
    root = ET.fromstring(line_charts([loss, Panel("empty", "x", "y")], title="a <title>"))
    lines = root.findall(f".//{SVG}polyline")
    assert [len(line.get("points").split()) for line in lines] == [2, 3]
    assert "a <title>" in {t.text for t in root.iter(f"{SVG}text")}  # escaped, read back
    assert root.get("width") == "920"  # two panels side by side
