"""Shared by the lecture 20 examples: the command line, side-by-side checks, the pictures."""

from __future__ import annotations

import argparse
import os

import numpy as np

from gradgate.viz.text import array_text


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--out",
        default="lecture20-output",
        help="folder for the pictures (default: ./lecture20-output)",
    )
    return parser.parse_args()


def section(title: str) -> None:
    print()
    print(title)
    print("-" * len(title))


def agree(
    what: str, hand: np.ndarray, library: np.ndarray, hand_says: str, library_says: str
) -> None:
    """Print the lecture's result above gradgate's, and stop unless they agree."""
    hand, library = np.asarray(hand), np.asarray(library)
    width = max(len(hand_says), len(library_says)) + 2
    print(f"{what}")
    print(f"  lecture  {hand_says.ljust(width)}{array_text(hand)}")
    print(f"  gradgate {library_says.ljust(width)}{array_text(library)}")
    np.testing.assert_allclose(library, hand, rtol=1e-12, atol=1e-14, err_msg=what)
    print("  agree (up to float rounding)")


def save_graph(g, out: str, stem: str) -> str:
    """Print the graph as text and write its picture (SVG) to ``out/stem.svg``."""
    print(g.to_text())
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"{stem}.svg")
    g.save_svg(path)
    print(f"picture: {path}")
    return path
