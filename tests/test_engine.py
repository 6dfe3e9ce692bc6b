"""The bugs small autodiff engines had, each as a test."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradgate as gg


def t(values, requires_grad=True):
    return gg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def test_input_used_twice_x_times_x():
    x = t([1.0, -2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0, 6.0])


def test_a_minus_a_is_zero_gradient():
    a = t([1.0, 2.0])
    (a - a).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])


def test_x_matmul_x_transpose():
    rng = np.random.default_rng(0)
    x = t(rng.standard_normal((3, 4)))
    (x @ x.T).sum().backward()
    # d/dx Σ_ij (x xᵀ)_ij = 2 · (Σ_i x_i) broadcast over the rows
    expected = 2 * np.broadcast_to(x.data.sum(axis=0), (3, 4))
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_diamond_fan_out_sums_both_paths():
    x = t(0.7)
    a = gg.sigmoid(x)
    b = gg.tanh(a)
    c = gg.exp(a)
    (b + c).backward()
    s = 1 / (1 + np.exp(-0.7))
    expected = ((1 - np.tanh(s) ** 2) + np.exp(s)) * s * (1 - s)
    np.testing.assert_allclose(x.grad.item(), expected)


def test_value_used_three_times_sums_three_contributions():
    x = t(2.0)
    y = x * 3 + x * x + gg.exp(x)
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 3 + 4 + np.exp(2.0))


def test_two_equal_constants_stay_two_nodes():
    a = t([1.0, 2.0])
    b = t([1.0, 2.0])
    (a * 2 + b * 5).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(b.grad.numpy(), [5.0, 5.0])


def test_chain_of_100000_gates_does_not_recurse():
    x = t(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0
    del y  # freeing the chain must not overflow the stack either


def test_deep_unreleased_graph_can_be_dropped():
    x = t(1.0)
    y = x
    for _ in range(100_000):
        y = y + 0.0
    del y
    gc.collect()


def test_backward_twice_accumulates_into_leaves():
    x = t([1.0, 2.0])
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_second_backward_through_released_graph_raises():
    x = t([1.0, 2.0])
    y = (gg.sigmoid(x) * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = t([1.0, 2.0])
    y = (gg.sigmoid(x) * 2).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_released_graph_frees_saved_values():
    x = t(np.ones(10))
    h = gg.exp(x)
    ref = weakref.ref(h)
    y = gg.sum(h)
    del h
    assert ref() is not None  # held by y's gate
    y.backward()
    assert ref() is None  # released after backward


def test_broadcasting_gradient_summed_back():
    x = t(np.ones((3, 4)))
    b = t(np.ones(4))
    c = t(np.ones((3, 1)))
    ((x * b) + c).sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), [3.0] * 4)
    np.testing.assert_array_equal(c.grad.numpy(), [[4.0]] * 3)
    assert x.grad.shape == (3, 4)


@settings(max_examples=40, deadline=None)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4),
    data=st.data(),
)
def test_broadcast_binary_ops_sum_back_to_each_shape(shapes, data):
    (sa, sb), _ = shapes.input_shapes, shapes.result_shape
    a = t(data.draw(hnp.arrays(np.float64, sa, elements=st.floats(0.5, 2.0))))
    b = t(data.draw(hnp.arrays(np.float64, sb, elements=st.floats(0.5, 2.0))))
    for op in (gg.add, gg.sub, gg.mul, gg.div):
        assert gg.check.gradcheck(op, [a, b])


def test_leaf_grads_never_share_arrays():
    x = t([1.0, 2.0])
    y = t([3.0, 4.0])
    (x + y).sum().backward()
    x.grad.data[0] = 100.0
    assert y.grad.data[0] == 1.0


def test_user_grad_is_not_aliased_into_leaf_grad():
    x = t([1.0, 2.0])
    g = np.array([1.0, 1.0])
    x.backward(g)
    g[0] = 5.0
    assert x.grad.data[0] == 1.0


def test_intermediate_grad_retained_on_request():
    x = t([1.0, 2.0])
    h = (x * 2).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [4.0, 8.0])


def test_no_grad_for_inputs_that_need_none():
    calls = []

    class Spy(gg.Gate):
        def forward(self, xp, a, b):
            return a * b

        def vjp(self, xp, g, o, a, b, *, needs):
            calls.append(needs)
            return (g * b if needs[0] else None), (g * a if needs[1] else None)

    w = t([1.0, 2.0])
    x = t([3.0, 4.0], requires_grad=False)
    gg.engine.apply(Spy(), w, x).sum().backward()
    assert calls == [(True, False)]
    assert x.grad is None


def test_no_grad_records_nothing_and_is_thread_local():
    x = t([1.0])
    seen = {}

    def other_thread():
        seen["enabled"] = gg.is_grad_enabled()
        seen["requires"] = (x * 2).requires_grad

    with gg.no_grad():
        y = x * 2
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert not y.requires_grad and y.gate is None
    assert seen == {"enabled": True, "requires": True}
    assert (x * 2).requires_grad


def test_detach_cuts_the_graph():
    x = t([1.0, 2.0])
    y = (x * 2).detach()
    assert not y.requires_grad and y.gate is None
    z = (x * y).sum()
    z.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_grad_returns_fresh_gradients_without_touching_dot_grad():
    x = t([1.0, 2.0])
    (gx,) = gg.grad((x * x).sum(), x)
    np.testing.assert_array_equal(gx.numpy(), [2.0, 4.0])
    assert x.grad is None


def test_grad_of_intermediate_and_unused_inputs():
    x = t([1.0, 2.0])
    u = t([5.0])
    h = x * 3
    y = (h * h).sum()
    gh, gu = gg.grad(y, [h, u], allow_unused=True)
    np.testing.assert_array_equal(gh.numpy(), [6.0, 12.0])
    assert gu is None
    with pytest.raises(RuntimeError, match="not used"):
        gg.grad((x * 2).sum(), [x, u])


def test_second_derivative_of_tanh_against_finite_differences():
    x = t(np.linspace(-2, 2, 7))
    (g,) = gg.grad(gg.tanh(x).sum(), x, create_graph=True)
    (gg2,) = gg.grad(g.sum(), x)
    eps = 1e-5
    d1 = lambda v: 1 - np.tanh(v) ** 2  # noqa: E731
    numeric = (d1(x.data + eps) - d1(x.data - eps)) / (2 * eps)
    np.testing.assert_allclose(gg2.numpy(), numeric, rtol=1e-6, atol=1e-8)


def test_hessian_vector_product_against_finite_differences():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((4, 4))
    x = t(rng.standard_normal(4))
    v = rng.standard_normal(4)

    def f(x):
        return gg.sum(gg.sigmoid(gg.matvec(gg.tensor(A), x)) ** 3)

    (g,) = gg.grad(f(x), x, create_graph=True)
    (hv,) = gg.grad((g * v).sum(), x)

    def grad_at(values):
        y = t(values)
        (gy,) = gg.grad(f(y), y)
        return gy.numpy()

    eps = 1e-6
    numeric = (grad_at(x.data + eps * v) - grad_at(x.data - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), numeric, rtol=1e-5, atol=1e-8)


def test_create_graph_makes_dot_grad_differentiable():
    x = t([1.0, 2.0])
    (x**3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (g2,) = gg.grad(x.grad.sum(), x)
    np.testing.assert_allclose(g2.numpy(), 6 * x.data)


def test_jacobian_is_the_full_matrix():
    W = np.arange(6.0).reshape(2, 3)
    J = gg.jacobian(lambda o: gg.matvec(gg.tensor(W), o), gg.tensor(np.ones(3)))
    np.testing.assert_array_equal(J, W)


def test_user_defined_gate_works_like_a_builtin():
    class Cube(gg.Gate):
        """o = s³.   dE/ds = 3 s² g."""

        def forward(self, xp, s):
            return s**3

        def vjp(self, xp, g, o, s):
            return (g * 3 * s * s,)

    def cube(x):
        return gg.engine.apply(Cube(), x)

    x = t([1.0, -2.0])
    assert gg.check.gradcheck(cube, [x])
    assert gg.check.gradgradcheck(cube, [x])
    (cube(x) + x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 13.0])


def test_gradcheck_reports_a_wrong_gate():
    class Wrong(gg.Gate):
        def forward(self, xp, s):
            return s * s

        def vjp(self, xp, g, o, s):
            return (g * s,)  # should be 2 s g

    with pytest.raises(
        gg.check.GradcheckError,
        match=r"failed at 2 place\(s\); the worst: input 0 \(shape \(2,\)\) at "
        r"element \(1,\): analytic -?[0-9.]+, numeric -?[0-9.]+",
    ):
        gg.check.gradcheck(lambda x: gg.engine.apply(Wrong(), x), [t([1.0, 2.0])])
    assert not gg.check.gradcheck(
        lambda x: gg.engine.apply(Wrong(), x), [t([1.0, 2.0])], raise_exception=False
    )


def test_gradcheck_perturbs_an_input_that_is_not_c_contiguous():
    """It perturbed a copy of a transposed array, saw no change and reported the right
    gradient of x * x as wrong."""
    a = np.random.default_rng(0).standard_normal((4, 3)).T
    x = gg.tensor(np.array(a), requires_grad=True)  # keeps the transposed layout
    assert not x.numpy().flags.c_contiguous
    assert gg.check.gradcheck(lambda x: x * x, [x])
    y = t(np.random.default_rng(1).standard_normal((30, 20)))
    x = gg.tensor(np.array(y.numpy().T), requires_grad=True)
    assert gg.check.gradcheck(lambda x: gg.tanh(x), [x], max_elements=10)  # directions


def test_gradcheck_on_large_inputs_uses_random_directions():
    x = t(np.random.default_rng(0).standard_normal(2000))
    assert gg.check.gradcheck(lambda a: gg.tanh(a) * a, [x])


# --- a gate is a rule; the engine owns the node ------------------------------------------


def test_one_gate_object_applied_twice_keeps_two_graphs_apart():
    from gradgate.gates.elementwise import Mul

    g = Mul()
    a, b = t([1.0, 2.0]), t([3.0, 4.0])
    ya = gg.apply(g, a, a)
    yb = gg.apply(g, b, b)
    ya.sum().backward()
    assert a.grad.numpy().tolist() == [2.0, 4.0]
    assert b.grad is None
    yb.sum().backward()
    assert b.grad.numpy().tolist() == [6.0, 8.0]
    assert vars(g) == {}


def test_threads_applying_one_gate_object_get_their_own_gradients():
    from gradgate.gates.reduce import Sum

    rule = Sum(axis=0)
    results: dict[int, list[float]] = {}

    def work(k: int) -> None:
        for _ in range(200):
            x = t(np.full((3, 2), float(k)))
            (gg.apply(rule, x) * float(k)).sum().backward()
            results[k] = x.grad.numpy().ravel().tolist()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == {k: [float(k)] * 6 for k in range(1, 5)}


def test_after_a_vjp_raised_the_next_backward_names_the_failed_gate():
    class Broken(gg.Gate):
        def forward(self, xp, s):
            return s * 2

        def vjp(self, xp, g, o, s):
            raise ArithmeticError("no rule here")

    x = t([1.0, 2.0])
    y = gg.apply(Broken(), x.exp())
    loss = (y * y).sum()
    with pytest.raises(ArithmeticError):
        loss.backward()
    with pytest.raises(RuntimeError, match="earlier backward failed at gate Broken"):
        loss.backward()


def test_a_vjp_that_names_an_unknown_keyword_is_refused_at_class_creation():
    with pytest.raises(TypeError, match="unknown keyword-only parameters"):

        class Odd(gg.Gate):  # noqa: F841
            def vjp(self, xp, g, o, s, *, context):
                return (g,)


def test_a_gate_may_save_what_its_vjp_needs_from_forward():
    class ArgMaxPick(gg.Gate):
        """o = max s over the last axis; the winners' positions are saved, not recomputed."""

        def forward(self, xp, s):
            k = s.argmax(axis=-1)
            return xp.take_along_axis(s, k[..., None], -1)[..., 0], k

        def vjp(self, xp, g, o, s, *, saved):
            hit = np.arange(s.shape[-1]) == saved[..., None]
            return (xp.where(hit, g[..., None], 0),)

    x = t([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]])
    gg.apply(ArgMaxPick(), x).sum().backward()
    assert x.grad.numpy().tolist() == [[0, 1, 0], [1, 0, 0]]


def test_graph_structure_survives_backward_without_its_saved_values():
    W = t(np.ones((2, 3)))
    x = gg.tensor(np.ones(3))
    s = gg.matvec(W, x)
    loss = gg.sigmoid(s).sum()
    loss.backward()
    node = loss.node
    assert node.inputs is None and node.released is not None
    sigmoid_node = node.parents[0]
    assert sigmoid_node.gate.name == "Sigmoid" and sigmoid_node.shape == (2,)
    matvec_node = sigmoid_node.parents[0]
    assert matvec_node.parents[0] is W and matvec_node.parents[1] is x


def test_x_at_w_transposed_gives_the_same_gradients_as_matvec():
    rng = np.random.default_rng(0)
    X, Wv = rng.standard_normal((5, 4)), rng.standard_normal((3, 4))
    W1, W2 = t(Wv), t(Wv)
    x1, x2 = t(X), t(X)
    (x1 @ W1.T).sigmoid().sum().backward()
    gg.matvec(W2, x2).sigmoid().sum().backward()
    np.testing.assert_allclose(W1.grad.numpy(), W2.grad.numpy(), rtol=1e-13)
    np.testing.assert_allclose(x1.grad.numpy(), x2.grad.numpy(), rtol=1e-13)
    Wt = W1.T
    Wt.retain_grad()  # the user watches W.T itself: it keeps its own node
    (x1 @ Wt).sum().backward()
    assert Wt.grad is not None and Wt.grad.shape == (4, 3)
