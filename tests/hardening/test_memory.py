"""Memory: a dropped graph is freed by reference counting alone, and training holds RSS flat.

The garbage collector is switched off in every test here: whatever is freed is freed by
reference counts, so a reference cycle among tensors, gates and closures shows up as a
tensor that outlives its graph, as cyclic garbage, or as growing RSS.
"""

from __future__ import annotations

import contextlib
import gc
import os
import types
import weakref
from collections.abc import Callable, Iterator

import numpy as np
import pytest

import gradgate as gg
from gradgate import nn, optim
from gradgate.engine import apply
from gradgate.gates import REGISTRY, samples
from gradgate.gates.base import Gate

PACKAGE = os.path.dirname(gg.__file__)
STEPS = int(os.environ.get("GRADGATE_MEMORY_STEPS", "10000"))


@contextlib.contextmanager
def collector_off() -> Iterator[None]:
    """No automatic garbage collection inside the block (reference counting only)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _from_gradgate(o: object) -> bool:
    if isinstance(o, types.FunctionType):
        return (o.__module__ or "").startswith("gradgate")
    if isinstance(o, types.FrameType):
        return o.f_code.co_filename.startswith(PACKAGE)
    return type(o).__module__.startswith("gradgate")


def cyclic_garbage(work: Callable[[], object]) -> list[str]:
    """Run ``work`` with the collector off; then name the gradgate objects that only the
    collector could free (members of reference cycles)."""
    with collector_off():
        work()
        gc.set_debug(gc.DEBUG_SAVEALL)  # keep what collect() finds, to look at it
        try:
            gc.collect()
            found = [type(o).__qualname__ for o in gc.garbage if _from_gradgate(o)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    return found


# --- every gate: its graph dies with its last reference ---------------------------------

SAMPLES = samples(np.random.default_rng(5))


def _graph_of_every_gate() -> tuple[list[gg.Tensor], gg.Tensor, list[weakref.ref]]:
    """Leaves, a scalar loss over one output of every registered gate, and weak references
    to every gate and intermediate tensor."""
    leaves, refs, total = [], [], None
    for name in sorted(REGISTRY):
        sample = SAMPLES[name][0]
        xs = [gg.Tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in sample.inputs]
        leaves += xs
        y = apply(sample.gate(name), *xs)
        term = gg.sum(y * y)
        refs += [weakref.ref(y), weakref.ref(y.node), weakref.ref(term), weakref.ref(term.node)]
        total = term if total is None else total + term
    return leaves, total, refs


def _alive(refs: list[weakref.ref]) -> list[str]:
    return [repr(r())[:80] for r in refs if r() is not None]


@pytest.mark.parametrize("backward", ["none", "backward", "retain_graph", "grad_create_graph"])
def test_a_dropped_graph_is_freed_by_reference_counting(backward):
    with collector_off():
        leaves, loss, refs = _graph_of_every_gate()
        grads = None
        if backward == "backward":
            loss.backward()
        elif backward == "retain_graph":
            loss.backward(retain_graph=True)
        elif backward == "grad_create_graph":  # a graph of the gradient, dropped as well
            wanted = [x for x in leaves if x.requires_grad]
            grads = gg.grad(loss, wanted, create_graph=True)
            refs += [weakref.ref(g.node) for g in grads if g.node is not None]
        del loss, grads
        assert _alive(refs) == [], "still alive after the last reference was dropped"
        assert all(x.grad is None or x.grad.gate is None for x in leaves)


def test_backward_with_create_graph_links_a_leaf_to_its_grad_until_grad_is_reset():
    """As in PyTorch: leaf.grad's graph refers back to the leaf (a cycle); resetting
    ``.grad`` (zero_grad) breaks it, and reference counting frees the rest."""
    with collector_off():
        x = gg.tensor(np.array([1.0, 2.0]), requires_grad=True)
        (x * x * x).sum().backward(create_graph=True)
        gate = weakref.ref(x.grad.node)
        x.grad = None
        assert gate() is None


def test_a_training_step_leaves_no_reference_cycles():
    def train():
        model = nn.MLP([8, 6, 3], "sigmoid", "sigmoid", generator=np.random.default_rng(0))
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        x = gg.tensor(np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32))
        t = gg.tensor(np.eye(3, dtype=np.float32)[[0, 1, 2, 0]])
        for _ in range(3):
            opt.zero_grad()
            nn.SqErr()(model(x), t).backward()
            opt.step()
        with gg.no_grad():
            model(x)
        with gg.detect_anomaly():
            nn.SqErr()(model(x), t).backward()

    assert cyclic_garbage(train) == []


def test_the_cycle_detector_sees_a_cycle():
    """The harness is live: a node whose saved value refers back to it is found by both
    checks."""

    class Cyclic(Gate):
        def forward(self, xp, s):
            return s * 1, []

        def vjp(self, xp, g, o, s, *, saved):
            return (g,)

    def make() -> gg.Tensor:
        y = gg.apply(Cyclic(), gg.ones(2, requires_grad=True))
        y.node.saved.append(y.node)  # node → saved list → node
        return y

    assert "Node" in cyclic_garbage(make)
    with collector_off():
        y = make()
        node = weakref.ref(y.node)
        del y
        assert node() is not None  # only the collector could free it
        node().saved.clear()  # break it, so the test leaves nothing behind


# --- training holds memory flat -----------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_training_holds_rss_flat_without_the_collector():
    """The lecture's network (64 → 64 sigmoid → 10 sigmoid, SqErr, SGD, batches of 16 from
    digits) for STEPS steps (GRADGATE_MEMORY_STEPS, default 10,000; about 1 s): RSS grows
    by less than 5 MB after the first 100 steps, with the garbage collector off."""
    x, y = gg.data.digits()
    x = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype(np.float32)
    t = np.eye(10, dtype=np.float32)[y]
    model = nn.MLP([64, 64, 10], "sigmoid", "sigmoid", generator=np.random.default_rng(0))
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.SqErr()
    starts = np.random.default_rng(1).integers(0, len(x) - 16, STEPS)
    with collector_off():
        for step, k in enumerate(starts):
            if step == 100:
                after_warmup = rss_bytes()
            E = loss_fn(model(gg.tensor(x[k : k + 16])), gg.tensor(t[k : k + 16]))
            opt.zero_grad()
            E.backward()
            opt.step()
        growth = rss_bytes() - after_warmup
    assert np.isfinite(E.item())
    assert growth < 5 * 2**20, f"RSS grew by {growth / 2**20:.1f} MB over {STEPS - 100} steps"
