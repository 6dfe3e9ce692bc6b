"""The pairwise contraction plans behind einsum (gradgate.contraction): random subscripts
(diagonals, letters one operand alone holds, size-1 axes broadcasting, empty axes, scalars,
outer products, up to five operands) against NumPy's einsum, gradients against PyTorch's
and finite differences, and the graph gradgate.einsum records for three or more operands."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
from gradgate import contraction
from gradgate.gates.linalg import explicit_subscripts

try:
    import torch
except ImportError:  # the NumPy comparisons still run
    torch = None

LETTERS = "abcdef"


def random_einsum(rng: np.random.Generator) -> tuple[str, list[np.ndarray]]:
    """Subscripts with an explicit output, and operands whose letters' lengths agree or
    are 1 (a letter repeated in one operand has one length there)."""
    length = {c: int(rng.choice([0, 1, 2, 3, 4], p=[0.04, 0.16, 0.3, 0.3, 0.2])) for c in LETTERS}
    terms, arrays = [], []
    for _ in range(int(rng.integers(1, 6))):
        term = "".join(rng.choice(list(LETTERS), size=int(rng.integers(0, 4))))
        shape = []
        for c in term:
            if c in term[: len(shape)]:  # a repeat: the length it had in this term
                shape.append(shape[term.index(c)])
            else:
                shape.append(1 if rng.random() < 0.2 else length[c])
        terms.append(term)
        arrays.append(rng.standard_normal(shape))
    held = sorted(set("".join(terms)))
    output = "".join(rng.permutation(held)[: int(rng.integers(0, len(held) + 1))])
    return ",".join(terms) + "->" + output, arrays


CASES = [random_einsum(np.random.default_rng(seed)) for seed in range(400)]


@pytest.mark.parametrize("subscripts, arrays", CASES, ids=[c[0] for c in CASES])
def test_forward_is_numpys(subscripts, arrays):
    expected = np.einsum(subscripts, *arrays)
    shapes = tuple(a.shape for a in arrays)
    explicit = explicit_subscripts(subscripts, shapes)
    if len(arrays) > 1:  # the plan alone, on arrays
        got = contraction.plan(explicit, shapes).run(np, arrays)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    out = gg.einsum(subscripts, *[gg.tensor(a) for a in arrays])
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.skipif(torch is None, reason="needs torch")
@pytest.mark.parametrize("subscripts, arrays", CASES, ids=[c[0] for c in CASES])
def test_gradients_are_pytorchs(subscripts, arrays):
    leaves = [gg.tensor(a, requires_grad=True) for a in arrays]
    out = gg.einsum(subscripts, *leaves)
    seed = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(seed)
    references = [torch.tensor(a, requires_grad=True) for a in arrays]
    torch.einsum(subscripts, *references).backward(torch.tensor(seed))
    for leaf, reference in zip(leaves, references, strict=True):
        np.testing.assert_allclose(
            leaf.grad.numpy(), reference.grad.numpy(), rtol=1e-10, atol=1e-10
        )


SMALL = [c for c in CASES if 0 < sum(a.size for a in c[1]) <= 40][:40]


@pytest.mark.parametrize("subscripts, arrays", SMALL, ids=[c[0] for c in SMALL])
def test_first_and_second_derivatives_by_finite_differences(subscripts, arrays):
    leaves = [gg.tensor(a, requires_grad=True) for a in arrays]

    def f(*xs):
        return gg.einsum(subscripts, *xs)

    assert gg.check.gradcheck(f, leaves)
    assert gg.check.gradgradcheck(f, leaves)


def test_three_operands_are_recorded_as_their_pairwise_steps():
    rng = np.random.default_rng(0)
    x, W, y = (
        gg.tensor(rng.standard_normal(s), requires_grad=True) for s in [(5, 4), (4, 3), (5, 3)]
    )
    out = gg.einsum("bi,ij,bj->b", x, W, y)
    steps = contraction.plan("bi,ij,bj->b", ((5, 4), (4, 3), (5, 3))).steps
    assert [s.subscripts for s in steps] == ["bi,ij->bj", "bj,bj->b"]
    assert out.node.gate.subscripts == "bj,bj->b"
    (first,) = [t for t in out.node.inputs if t.node is not None]  # x W, kept for backward:
    assert first.node.gate.subscripts == "bi,ij->bj"
    np.testing.assert_allclose(first.numpy(), x.numpy() @ W.numpy())  # dE/dy = g (x W)


def test_an_einsum_that_sums_nothing_takes_its_operands_in_pairs():
    a, b, c = np.arange(2.0), np.arange(3.0), np.arange(4.0)
    assert contraction.greedy_path("i,j,k->ijk", ((2,), (3,), (4,))) == [(0, 1), (0, 1)]
    np.testing.assert_array_equal(
        gg.einsum("i,j,k->kji", a, b, c).numpy(), np.einsum("i,j,k->kji", a, b, c)
    )


def test_the_plan_is_made_once_per_shapes():
    contraction.plan.cache_clear()
    a, b = gg.tensor(np.ones((2, 3))), gg.tensor(np.ones((3, 4)))
    for _ in range(3):
        gg.einsum("ij,jk->ik", a, b)
    assert contraction.plan.cache_info().misses == 1
    gg.einsum("ij,jk->ik", a, gg.tensor(np.ones((3, 5))))
    assert contraction.plan.cache_info().misses == 2
