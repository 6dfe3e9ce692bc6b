"""Per-gate Jacobians (local_jacobian) and the side-by-side check (explain_gate)."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
import gradgate.check
from gradgate.gates import REGISTRY, Gate, samples
from gradgate.gates.elementwise import Add, Sigmoid
from gradgate.gates.linalg import MatVec
from gradgate.gates.losses import Softmax, SqErr

local_jacobian = gradgate.check.local_jacobian
explain_gate = gradgate.check.explain_gate


def sigma(s):
    return 1 / (1 + np.exp(-s))


# --- the lecture's four gates have the lecture's Jacobians -------------------------------------


def test_addition_has_the_identity_for_both_inputs():  # 20.0
    x, y = np.array([0.5, -1.0, 2.0]), np.array([1.0, 3.0, -2.0])
    J_x, J_y = local_jacobian(Add(), x, y)
    np.testing.assert_array_equal(J_x, np.eye(3))
    np.testing.assert_array_equal(J_y, np.eye(3))


def test_squared_error_has_o_minus_t():  # 20.1
    o, t = np.array([0.8, 0.2, 0.6]), np.array([1.0, 0.0, 0.0])
    J_o, J_t = local_jacobian(SqErr(), o, t, wrt=[0])
    np.testing.assert_allclose(J_o, (o - t)[None, :])  # one row: E is a scalar
    assert J_t is None  # the lecture's target gets no gradient


def test_sigmoid_has_a_diagonal_of_sigma_one_minus_sigma():  # 20.2
    s = np.array([-2.0, -0.5, 0.0, 1.5])
    (J,) = local_jacobian(Sigmoid(), s)
    np.testing.assert_allclose(J, np.diag(sigma(s) * (1 - sigma(s))), rtol=1e-12)


def test_matvec_has_W_for_o_and_an_outer_product_for_W():  # 20.3a and b
    W = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    o = np.array([0.5, 1.0, -1.5])
    J_W, J_o = local_jacobian(MatVec(), W, o)
    np.testing.assert_array_equal(J_o, W)  # ds/do = W, so dE/do = Wᵀ dE/ds
    np.testing.assert_array_equal(J_W, np.kron(np.eye(2), o[None, :]))  # ds_j/dw_ji = o_i
    g = np.array([0.2, -0.7])
    np.testing.assert_allclose((J_W.T @ g).reshape(W.shape), np.outer(g, o))  # dE/ds ⊗ o


def test_local_jacobian_agrees_with_the_engines_jacobian():
    s = np.array([[0.3, -1.0, 2.0], [0.1, 0.2, 0.3]])
    (J,) = local_jacobian(Softmax(axis=1), s)
    full = gg.jacobian(lambda t: gg.softmax(t, axis=1), gg.tensor(s))
    np.testing.assert_allclose(J, full.reshape(6, 6), atol=1e-12)


def test_local_jacobian_sums_broadcast_gradients_back():
    x, b = np.ones((2, 3)), np.array([1.0, 2.0, 3.0])
    J_x, J_b = local_jacobian(Add(), x, b)
    assert J_x.shape == (6, 6) and J_b.shape == (6, 3)
    np.testing.assert_array_equal(J_b, np.vstack([np.eye(3), np.eye(3)]))


# --- explain_gate -------------------------------------------------------------------------------


def builtin_cases():
    table = samples(np.random.default_rng(7))
    return [
        pytest.param(name, k, id=f"{name}-{k}")
        for name in sorted(table)
        for k in range(len(table[name]))
    ]


@pytest.mark.parametrize("name, k", builtin_cases())
def test_every_builtin_gate_passes(name, k):
    case = samples(np.random.default_rng(7))[name][k]
    report = explain_gate(case.gate(name), *case.inputs)
    assert report.passed, "\n".join(report.failures())
    assert "PASS" in str(report)


def test_every_registered_gate_was_checked():
    checked = {p.values[0] for p in builtin_cases()}
    assert set(REGISTRY) <= checked, f"no samples for {sorted(set(REGISTRY) - checked)}"


class ForgotOneMinus(Gate):
    """o = σ(s), with a backward that forgot the (1 − σ(s)) factor."""

    def forward(self, xp, s):
        return xp.sigmoid(s)

    def vjp(self, xp, g, o, s):
        return (g * o,)


class WrongShape(Gate):
    """o = Σ s, whose backward returns a gradient of the wrong shape."""

    def forward(self, xp, s):
        return s.sum()

    def vjp(self, xp, g, o, s):
        return (xp.ones(s.size + 1) * g,)


class ForgetsAnInput(Gate):
    """z = x ⊙ y, whose backward returns nothing for y."""

    def forward(self, xp, x, y):
        return x * y

    def vjp(self, xp, g, z, x, y):
        return g * y, None


class NotLinearInG(Gate):
    """o = 2 s, whose backward squares g: right on unit vectors, wrong for any other g."""

    def forward(self, xp, s):
        return 2 * s

    def vjp(self, xp, g, o, s):
        return (2 * g * g,)


class Raises(Gate):
    """o = s, whose backward raises."""

    def forward(self, xp, s):
        return s

    def vjp(self, xp, g, o, s):
        raise ZeroDivisionError("oops")


@pytest.mark.parametrize(
    "gate, inputs, problem",
    [
        (ForgotOneMinus(), (np.array([0.5, -1.0, 2.0]),), "finite differences differ"),
        (WrongShape(), (np.array([0.5, -1.0, 2.0]),), "gradient of shape (4,) for input 0"),
        (ForgetsAnInput(), (np.array([1.0, 2.0]), np.array([3.0, 4.0])), "vjp returned None"),
        (NotLinearInG(), (np.array([1.0, 2.0]),), "vjp(g) and Jᵀ g differ"),
        (Raises(), (np.array([1.0, 2.0]),), "vjp raised ZeroDivisionError: oops"),
    ],
)
def test_a_wrong_gate_fails_and_says_why(gate, inputs, problem):
    report = explain_gate(gate, *inputs)
    assert not report.passed
    assert any(problem in p for p in report.failures()), report.failures()
    text = str(report)
    assert "FAIL" in text and "PASS" not in text


def test_the_report_lays_out_J_g_and_the_three_answers():
    W = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    o = np.array([0.5, 1.0, -1.5])
    g = np.array([0.2, -0.7])
    report = explain_gate(MatVec(), W, o, g=g)
    np.testing.assert_array_equal(report.g, g)
    part_W, part_o = report.inputs
    np.testing.assert_allclose(part_o.returned, W.T @ g)
    np.testing.assert_allclose(part_o.jtg, W.T @ g)
    np.testing.assert_allclose(part_o.numeric, W.T @ g, rtol=1e-7)
    np.testing.assert_allclose(part_W.returned, np.outer(g, o))
    np.testing.assert_allclose(part_W.numeric_jacobian, part_W.jacobian, atol=1e-8)
    assert part_W.error < 1e-8
    text = str(report)
    header = next(line for line in text.splitlines() if "backward returned" in line)
    assert header.split() == ["element", "Jᵀ", "g", "backward", "returned", "finite", "differences"]
    assert "input 0 (W), shape (2, 3)" in text and "input 1 (o), shape (3,)" in text
    assert "J = ∂out/∂o, 2 × 3" in text and "J = ∂out/∂W, 2 × 6" in text
    assert "s = W o" in text.splitlines()[0]  # the gate's forward formula
    assert repr(report) == "<GateReport MatVec: passed>"


def test_labels_and_wrt_are_not_differentiated():
    x = np.array([[0.5, -1.0, 2.0]])
    labels = np.array([2])
    report = explain_gate(REGISTRY["CrossEntropy"](), x, labels)
    assert report.passed and not report.inputs[1].needed
    assert "not differentiated" in str(report)
    report = explain_gate(Add(), np.ones(2), np.ones(2), wrt=[1])
    assert [p.needed for p in report.inputs] == [False, True]


def test_explain_gate_takes_a_class_tensors_and_leaves_the_gate_alone():
    gate = Sigmoid()
    s = gg.tensor([0.5, -0.5], requires_grad=True)
    assert explain_gate(Sigmoid, s).passed
    explain_gate(gate, s)
    assert vars(gate) == {}  # a rule holds its parameters only, and Sigmoid has none
    assert s.grad is None


def test_explain_gate_refuses_what_it_cannot_check():
    with pytest.raises(ValueError, match="no floating-point input"):
        explain_gate(REGISTRY["Neg"](), np.array([1, 2]))
    with pytest.raises(ValueError, match="g has shape"):
        explain_gate(Sigmoid(), np.ones(3), g=np.ones(2))
    with pytest.raises(TypeError, match="expected a Gate"):
        explain_gate(np.sin, np.ones(3))


@pytest.mark.parametrize(
    "form",
    [gg.sigmoid, gg.Tensor.sigmoid, Sigmoid, Sigmoid()],
    ids=["function", "Tensor method", "class", "instance"],
)
def test_explain_gate_takes_every_form_of_a_gate(form):
    s = gg.tensor(np.array([-1.0, 0.5]))
    report = gradgate.check.explain_gate(form, s, g=np.array([1.0, 2.0]))
    assert report.gate == "Sigmoid" and report.passed
    sigma = 1 / (1 + np.exp(-s.numpy()))
    np.testing.assert_allclose(report.inputs[0].returned, sigma * (1 - sigma) * [1.0, 2.0])


def test_explain_gate_takes_a_bound_tensor_method():
    s = gg.tensor(np.array([-1.0, 0.5]))
    assert gradgate.check.explain_gate(s.sigmoid, s).gate == "Sigmoid"


def test_explain_gate_names_what_it_cannot_use():
    with pytest.raises(TypeError, match="got function print_me"):

        def print_me(x):
            return x

        gradgate.check.explain_gate(print_me, np.ones(2))
