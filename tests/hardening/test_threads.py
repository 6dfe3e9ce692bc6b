"""Threads: grad mode and anomaly mode belong to the thread that sets them, so two threads
training two models at once get exactly the numbers they get one after the other.

Python switches threads every 5 ms by default; the tests switch every microsecond, so that
one thread's ``no_grad()`` block or anomaly check is all but sure to be open while the
other thread records a graph.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import gradgate as gg
from gradgate import nn, optim

STEPS = 150


@contextmanager
def fast_switching() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def run_together(*jobs: Callable[[], object]) -> list[object]:
    """Run the jobs in threads started at one barrier; their results, or their errors."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def runner(k: int) -> None:
        barrier.wait()
        try:
            results[k] = jobs[k]()
        except BaseException as error:  # handed to the test
            results[k] = error

    threads = [threading.Thread(target=runner, args=(k,)) for k in range(len(jobs))]
    with fast_switching():
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


def train(seed: int, optimizer: str) -> list[np.ndarray]:
    """A small sigmoid network trained for STEPS steps; evaluates under no_grad after each
    step and runs one step in ten under detect_anomaly, so that both modes switch often."""
    rng = np.random.default_rng(seed)
    model = nn.MLP([6, 12, 3], "sigmoid", "sigmoid", generator=rng)
    params = list(model.parameters())
    opt = (
        optim.SGD(params, lr=0.5, momentum=0.9)
        if optimizer == "sgd"
        else optim.Adam(params, lr=0.01)
    )
    x = gg.tensor(rng.standard_normal((20, 6)).astype(np.float32))
    t = gg.tensor(np.eye(3, dtype=np.float32)[rng.integers(0, 3, 20)])
    loss_fn = nn.SqErr()
    for step in range(STEPS):
        opt.zero_grad()
        if step % 10 == 0:
            with gg.detect_anomaly():
                loss = loss_fn(model(x), t)
                loss.backward()
        else:
            loss = loss_fn(model(x), t)
            loss.backward()
        opt.step()
        with gg.no_grad():
            assert not model(x).requires_grad
    return [p.numpy().copy() for p in params]


def test_two_threads_training_at_once_match_training_one_after_the_other():
    jobs = (lambda: train(1, "sgd"), lambda: train(2, "adam"))
    alone = [job() for job in jobs]
    together = run_together(*jobs)
    for one, other in zip(alone, together, strict=True):
        for a, b in zip(one, other, strict=True):
            np.testing.assert_array_equal(a, b)  # bit for bit


def test_no_grad_in_one_thread_leaves_the_other_recording():
    x = gg.tensor(np.ones(3), requires_grad=True)

    def recording() -> int:
        for _ in range(2000):
            assert gg.is_grad_enabled()
            assert (x * 2.0).requires_grad
        return 0

    def not_recording() -> int:
        with gg.no_grad():
            for _ in range(2000):
                assert not gg.is_grad_enabled()
                assert not (x * 2.0).requires_grad
        return 0

    run_together(recording, not_recording)


def test_detect_anomaly_is_per_thread():
    x = gg.tensor(np.array([0.0]), requires_grad=True)

    def watched() -> int:
        caught = 0
        with gg.detect_anomaly(), np.errstate(divide="ignore"):
            for _ in range(300):
                with pytest.raises(gg.AnomalyError, match="Log forward produced Inf"):
                    gg.log(x)
                caught += 1
        return caught

    def unwatched() -> int:
        with np.errstate(divide="ignore"):
            for _ in range(300):
                assert not gg.is_anomaly_enabled()
                assert gg.log(x).item() == -np.inf
        return 0

    assert run_together(watched, unwatched) == [300, 0]
