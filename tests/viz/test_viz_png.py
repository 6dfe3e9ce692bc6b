"""PNG pictures without Graphviz: drawn with matplotlib when it is installed."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import gradgate.viz
from gradgate.viz import style
from gradgate.viz.layout import layout


def colour_share(image: np.ndarray, hex_colour: str, tolerance: float = 3 / 255) -> float:
    """The share of pixels within ``tolerance`` of ``hex_colour`` in every channel."""
    rgb = np.array([int(hex_colour[k : k + 2], 16) / 255 for k in (1, 3, 5)])
    close = np.all(np.abs(image[..., :3] - rgb) <= tolerance, axis=-1)
    return float(close.mean())


@pytest.fixture
def no_graphviz(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no dot to find


def test_png_is_written_with_matplotlib(tmp_path, two_layer, fanout, no_graphviz):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    shares = {}
    for which, (E, names) in {"plain": two_layer, "fanout": fanout}.items():
        path = tmp_path / f"{which}.png"
        gradgate.viz.graph(E, names=names).save_png(path, dpi=100)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        image = imread(path)
        placed = layout(gradgate.viz.graph(E, names=names))
        assert abs(image.shape[1] - placed.width) <= 2 and abs(image.shape[0] - placed.height) <= 2
        assert colour_share(image, style.COLOURS["gate"][0]) > 0.03  # the gates' fill
        assert colour_share(image, style.COLOURS["parameter"][0]) > 0.005
        shares[which] = colour_share(image, style.FANOUT)
    # a graph without fan-out has no orange at all, not even in its legend
    assert shares["fanout"] > 0.002 and shares["plain"] == 0


def test_png_without_matplotlib_or_graphviz_names_the_fix(
    tmp_path, monkeypatch, fanout, no_graphviz
):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    L, _ = fanout
    with pytest.raises(ImportError, match="pip install matplotlib"):
        gradgate.viz.graph(L).save_png(tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()
