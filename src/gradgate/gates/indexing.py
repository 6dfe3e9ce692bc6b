"""Gates that write into an array: put values at an index (or add them there), and pad.

Reading at an index (take, gather, index_select, flip, diagonal, sort's values, ...) is
:class:`~gradgate.gates.shape.GetItem` with an index built for it, composed in
``gradgate.indexing``; these two are the rules that selection cannot express.
"""

from __future__ import annotations

import numpy as np

from .base import Gate, Sample, register
from .shape import _torch_index


def _selection_shape(shape: tuple[int, ...], index: tuple) -> tuple[int, ...]:
    return np.empty(shape, dtype=np.bool_)[index].shape


@register
class IndexPut(Gate):
    """o = s with v written at ``index`` (o[index] = v), or added there (o[index] += v,
    repeats summed) with ``accumulate``; v broadcasts to the shape of s[index].

    dE/ds = g, zero where v was written (with ``accumulate``: g);  dE/dv = g[index].
    Writing two values to one place has no one answer (NumPy keeps the last, PyTorch
    promises none), so without ``accumulate`` a repeated place raises.
    """

    formula = "{out} = {s} with {v} at index"
    methods = ("index_put", "scatter", "scatter_add", "index_add")  # gradgate.indexing
    gradients = ("{g} where not written", "{g}[index]")

    def __init__(self, index, accumulate: bool = False):
        self.index = index if isinstance(index, tuple) else (index,)
        self.accumulate = bool(accumulate)

    def forward(self, xp, s, v):
        try:
            shape = _selection_shape(s.shape, self.index)
        except IndexError as e:
            raise IndexError(f"IndexPut: {e} (tensor of shape {s.shape})") from None
        try:
            v = xp.broadcast_to(v, shape)
        except ValueError:
            raise ValueError(
                f"IndexPut: values of shape {v.shape} do not fit the {shape} places selected"
            ) from None
        if self.accumulate:
            return s + xp.scatter_add(v, self.index, s.shape), None
        count = np.zeros(s.shape, dtype=np.intp)
        np.add.at(count, self.index, 1)
        if count.size and count.max() > 1:
            raise ValueError(
                "IndexPut: the index names one place more than once; a write "
                "there has no one answer (use accumulate=True to add)"
            )
        out = s.copy()
        out[self.index] = v
        return out, count > 0

    def vjp(self, xp, g, o, s, v, *, needs, saved):
        gs = None
        if needs[0]:
            gs = g if self.accumulate else xp.where(saved, 0, g)
        return gs, g[self.index] if needs[1] else None

    @staticmethod
    def samples(draw):
        r = draw.normal
        rows = np.array([2, 0, 3])
        return [
            Sample((r(4, 3), r(3, 3)), {"index": (rows,)}),
            Sample((r(4, 3), r(3)), {"index": (rows,)}),
            Sample((r(4, 3), r(4, 3)), {"index": (np.array([0, 2, 2, 1]),), "accumulate": True}),
            Sample((r(3, 4), r(2)), {"index": (np.array([0, 2]), np.array([3, 1]))}),
            Sample(
                (r(3, 4), r(3, 2)), {"index": (slice(None), np.array([1, 1])), "accumulate": True}
            ),
        ]

    def reference(self, torch, s, v):
        index = _torch_index(torch, self.index)
        shape = s[index].shape
        return s.index_put(
            _full_index(torch, index, s.shape), v.expand(shape), accumulate=self.accumulate
        )


def _full_index(torch, index, shape):
    """A mixed index (slices and arrays) as integer tensors only, for ``index_put``."""
    if all(isinstance(i, torch.Tensor) for i in index) and len(index) == len(shape):
        return index
    grids = np.indices(shape, sparse=False)
    picked = [
        torch.as_tensor(g[tuple(i.numpy() if isinstance(i, torch.Tensor) else i for i in index)])
        for g in grids
    ]
    return tuple(picked)


PAD_MODES = ("constant", "reflect", "edge", "wrap")


@register
class Pad(Gate):
    """o = s with ``widths[k] = (before, after)`` elements added on each side of axis k:
    a constant, or s reflected about its edge (not repeating it), or its edge repeated, or
    s wrapped around ("constant", "reflect", "edge", "wrap": NumPy's names). As PyTorch, a
    reflection must be narrower than its axis and a wrap at most as wide (NumPy would
    repeat them).

    dE/ds: g with the padding cut off; for reflect, edge and wrap each element of s also
    receives g from every padded place that copied it (a scatter-add of g through the
    index map np.pad gives the positions of s).
    """

    formula = "{out} = {s} padded"

    def __init__(
        self, widths: tuple[tuple[int, int], ...], mode: str = "constant", value: float = 0.0
    ):
        self.widths = tuple((int(a), int(b)) for a, b in widths)
        self.mode = mode
        self.value = value

    def _check(self, s) -> None:
        if len(self.widths) != s.ndim:
            raise ValueError(
                f"pad: {len(self.widths)} (before, after) pairs for a tensor of {s.ndim} dimensions"
            )
        if any(a < 0 or b < 0 for a, b in self.widths):
            raise ValueError(f"pad: widths {self.widths} must not be negative")
        if self.mode not in PAD_MODES:
            raise ValueError(f"pad: mode {self.mode!r} is not one of {', '.join(PAD_MODES)}")
        if self.mode != "constant" and s.size == 0:
            raise ValueError(f"pad: mode {self.mode!r} cannot pad an empty tensor")
        limit = {"reflect": 1, "edge": None, "wrap": 0}.get(self.mode)
        if limit is not None and any(
            max(a, b) > n - limit for n, (a, b) in zip(s.shape, self.widths, strict=True)
        ):
            raise ValueError(
                f"pad: widths {self.widths} are too wide for mode {self.mode!r} "
                f"on shape {s.shape} (reflect: less than the axis, wrap: at most "
                "the axis, as PyTorch)"
            )

    def forward(self, xp, s):
        self._check(s)
        if self.mode == "constant":
            return xp.pad(s, self.widths, mode="constant", constant_values=self.value)
        return xp.pad(s, self.widths, mode=self.mode)

    def vjp(self, xp, g, o, s):
        if self.mode == "constant":
            return (
                g[tuple(slice(a, a + n) for (a, _), n in zip(self.widths, s.shape, strict=True))],
            )
        where = np.pad(np.arange(s.size).reshape(s.shape), self.widths, mode=self.mode)
        flat = xp.scatter_add(g.reshape(-1), (where.reshape(-1),), (s.size,))
        return (flat.reshape(s.shape),)

    @staticmethod
    def samples(draw):
        r = draw.normal
        return [
            Sample((r(3, 4),), {"widths": ((1, 2), (0, 1))}),
            Sample((r(3, 4),), {"widths": ((1, 1), (2, 0)), "value": 1.5}),
            Sample((r(2, 3, 5),), {"widths": ((0, 0), (2, 1), (1, 3)), "mode": "reflect"}),
            Sample((r(3, 4),), {"widths": ((2, 1), (1, 3)), "mode": "edge"}),
            Sample((r(1, 2, 5),), {"widths": ((0, 0), (0, 0), (2, 3)), "mode": "wrap"}),
        ]

    def reference(self, torch, s):
        flat = [w for pair in reversed(self.widths) for w in pair]
        if self.mode == "constant":
            return torch.nn.functional.pad(s, flat, mode="constant", value=self.value)
        mode = {"reflect": "reflect", "edge": "replicate", "wrap": "circular"}[self.mode]
        # torch pads trailing axes only: fold the unpadded leading ones into its channels
        keep = next((k for k, (a, b) in enumerate(self.widths) if a or b), len(self.widths))
        lead = len(self.widths) - keep
        batch = s.shape[:keep]
        x = s.reshape(1, -1, *s.shape[keep:]) if keep else s.reshape(1, 1, *s.shape)
        out = torch.nn.functional.pad(x, flat[: 2 * lead], mode=mode)
        return out.reshape(*batch, *out.shape[2:]) if keep else out.reshape(out.shape[2:])
