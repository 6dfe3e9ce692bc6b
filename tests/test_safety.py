"""Wrong numbers must be impossible to miss: in-place changes to saved tensors, NaN/Inf."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

import gradgate as gg


def params():
    W = gg.tensor(np.ones((2, 3)), requires_grad=True)
    x = gg.tensor(np.arange(3.0))
    return W, x


def test_raw_writes_into_a_saved_array_are_refused():
    W, x = params()
    loss = gg.sigmoid(gg.matvec(W, x)).sum()
    for write in (
        lambda: W.data.__isub__(0.1),  # W.data -= 0.1: an optimiser step too early
        lambda: W.data.__setitem__((0, 0), 5.0),
        lambda: np.copyto(W.data, 0.0),
        lambda: x.data.__setitem__(0, 1.0),
        lambda: W.numpy().fill(0.0),
    ):
        with pytest.raises(ValueError, match="read-only"):
            write()
    loss.backward()  # nothing changed: the gradient is right
    s = 1 / (1 + np.exp(-np.full(2, 3.0)))
    np.testing.assert_allclose(W.grad.numpy(), np.outer(s * (1 - s), np.arange(3.0)))
    W.data -= 0.1  # released by backward: writable again
    W.data[0, 0] = 5.0
    assert W.data[0, 0] == 5.0


def test_a_graph_dropped_without_backward_frees_its_arrays_for_writing():
    W, x = params()
    gc.disable()
    try:
        loss = gg.matvec(W, x).sum()
        assert not W.data.flags.writeable
        del loss  # reference counting alone releases the gates
        assert W.data.flags.writeable
    finally:
        gc.enable()


def test_rebinding_data_or_a_retained_graph_step_is_refused_at_backward():
    W, x = params()
    loss = gg.sigmoid(gg.matvec(W, x)).sum()
    W.data = W.data - 0.1  # a new array: allowed, and stamped
    changed = r"MatVec: input 0 \(W, shape \(2, 3\)\) changed in place"
    with pytest.raises(RuntimeError, match=changed):
        loss.backward()
    W, x = params()
    loss = gg.sigmoid(gg.matvec(W, x)).sum()
    loss.backward(retain_graph=True)
    gg.optim.SGD([W], lr=0.1).step()  # allowed, as in PyTorch, and marked
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_in_place_methods_and_setitem_are_caught():
    for mutate in (
        lambda t: t.add_(1.0),
        lambda t: t.mul_(2.0),
        lambda t: t.sub_(1.0),
        lambda t: t.div_(2.0),
        lambda t: t.zero_(),
        lambda t: t.fill_(3.0),
        lambda t: t.copy_(np.zeros(3)),
        lambda t: t.__setitem__(0, 5.0),
    ):
        W, x = params()
        loss = gg.matvec(W, x).sum()
        mutate(x)
        with pytest.raises(RuntimeError, match="input 1 .* changed in place"):
            loss.backward()


def test_a_changed_output_that_the_gate_saved_is_caught():
    s = gg.tensor(np.zeros(3), requires_grad=True)
    o = gg.sigmoid(s)  # sigmoid's backward uses o
    with gg.no_grad():
        o.mul_(3.0)
    with pytest.raises(RuntimeError, match=r"Sigmoid: its output \(3,\) changed in place"):
        o.backward(np.ones(3))


def test_changes_after_backward_or_to_unrelated_tensors_are_fine():
    W, x = params()
    other = gg.tensor(np.zeros(2))
    loss = gg.matvec(W, x).sum()
    other.add_(1.0)
    loss.backward()
    with gg.no_grad():
        W.sub_(0.1 * W.grad.data)
    loss = gg.matvec(W, x).sum()
    loss.backward()
    np.testing.assert_allclose(W.grad.numpy(), 2 * np.tile(np.arange(3.0), (2, 1)))


def test_reinitialising_a_saved_weight_is_caught():
    layer = gg.nn.Linear(3, 2)
    loss = layer(gg.tensor(np.ones((4, 3), dtype=np.float32))).sum()
    gg.nn.init.zeros_(layer.weight)
    with pytest.raises(RuntimeError, match="MatVec: input 0 .* changed in place"):
        loss.backward()


def test_in_place_change_of_a_tensor_that_requires_grad_needs_no_grad():
    W, _ = params()
    with pytest.raises(RuntimeError, match=r"in-place changes .* gg.no_grad\(\)"):
        W.add_(1.0)
    with gg.no_grad():
        W.add_(1.0)
    assert W.data[0, 0] == 2.0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_names_the_gate_pass_shapes_and_user_line():
    x = gg.tensor(np.array([1.0, -1.0]), requires_grad=True)
    with gg.detect_anomaly():
        with pytest.raises(gg.AnomalyError) as info:
            gg.log(x - 1.0)  # log(0) and log(-2): the line to report
    message = str(info.value)
    assert "Log forward produced" in message and "(2,)" in message
    assert "test_safety.py" in message and "gg.log(x - 1.0)" in message


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_in_backward_names_where_the_gate_was_created():
    x = gg.tensor(np.array([0.0, 4.0]), requires_grad=True)
    with gg.detect_anomaly():
        y = gg.sqrt(x).sum()  # d sqrt/dx = inf at 0
        with pytest.raises(gg.AnomalyError, match=r"Sqrt backward produced Inf.*gg.sqrt\(x\)"):
            y.backward()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_detection_is_off_by_default_and_per_thread():
    assert not gg.is_anomaly_enabled()
    gg.log(gg.tensor([0.0]))  # -inf, no error when off
    gg.set_detect_anomaly(True)
    try:
        seen = {}
        thread = threading.Thread(target=lambda: seen.update(on=gg.is_anomaly_enabled()))
        thread.start()
        thread.join()
        assert seen == {"on": False}
        with pytest.raises(gg.AnomalyError):
            gg.log(gg.tensor([0.0]))
    finally:
        gg.set_detect_anomaly(False)
    assert not gg.is_anomaly_enabled()


def test_anomaly_detection_checks_the_sums_the_engine_makes():
    """Each gradient finite, their sum not: the fan-out sum and the un-broadcasting sum are
    the engine's own, and anomaly detection names them."""
    big = np.float16(40000.0)
    x = gg.tensor(np.array([1e-3], dtype=np.float16), requires_grad=True)
    with gg.detect_anomaly(), np.errstate(over="ignore"):
        y = x * big + x * big  # two consumers of x: each gradient 40000, their sum inf
        with pytest.raises(gg.AnomalyError, match="fan-out sum .* produced Inf"):
            y.sum().backward()
    b = gg.tensor(np.array([1e-3], dtype=np.float16), requires_grad=True)
    c = gg.tensor(np.full(4, 30000.0, dtype=np.float16))
    with gg.detect_anomaly(), np.errstate(over="ignore"):
        z = b * c  # b broadcast to (4,): four gradients of 30000 summed back to one
        with pytest.raises(gg.AnomalyError, match="summing the gradient from Mul back"):
            z.sum().backward()
