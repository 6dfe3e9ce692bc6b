"""Exercise 20.2: the element-wise sigmoid gate, the general rule, and fan-out sums.

o = σ(s) element-wise, so its Jacobian J = do/ds is diagonal, with σ(s)(1 − σ(s)) on it,
and the general rule dE/ds = Jᵀ · dE/do becomes dE/ds = σ(s)(1 − σ(s)) ⊙ dE/do.

When s feeds two gates, a = σ(s) and b = W s, the gradients that come back are summed:
dE/ds = J_aᵀ dE/da + J_bᵀ dE/db = σ(s)(1 − σ(s)) ⊙ dE/da + Wᵀ dE/db. The backward trace
shows that sum as its own step.

    python examples/lecture20/ex20_2_sigmoid.py [--out FOLDER]
"""

import os

import numpy as np
from common import agree, parse_args, save_graph, section

import gradgate as gg
from gradgate.check import explain_gate, local_jacobian
from gradgate.gates.elementwise import Sigmoid
from gradgate.trace import trace
from gradgate.viz import graph


def sigma(s: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-s))


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])

    section("20.2  o = σ(s)")
    s = gg.tensor(np.array([-1.0, 0.0, 0.5, 2.0]), requires_grad=True)
    o = gg.sigmoid(s)
    dE_do = np.array([0.4, -0.1, 0.2, 1.0])
    o.backward(dE_do)
    s_ = s.numpy()
    agree("o", sigma(s_), o.numpy(), "1 / (1 + e^−s)", "forward")
    agree(
        "dE/ds",
        sigma(s_) * (1 - sigma(s_)) * dE_do,
        s.grad.numpy(),
        "σ(s)(1 − σ(s)) ⊙ dE/do",
        "s.grad",
    )
    (J,) = local_jacobian(Sigmoid(), s)
    agree(
        "J = do/ds",
        np.diag(sigma(s_) * (1 - sigma(s_))),
        J,
        "diag(σ(s)(1 − σ(s)))",
        "local_jacobian",
    )
    report = explain_gate(Sigmoid(), s, g=dE_do)
    print(report)
    assert report.passed
    # drawn after backward: the structure is kept, and s's gradient is on the picture
    save_graph(graph(o, names={"s": s, "o": o}), args.out, "ex20_2_sigmoid")

    section("Fan-out: s feeds a = σ(s) and b = W s; their gradients are summed")
    s = gg.tensor(np.array([-1.0, 0.0, 0.5]), requires_grad=True)
    W = gg.tensor(np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]))
    t_a = gg.tensor(np.array([0.0, 1.0, 1.0]))
    t_b = gg.tensor(np.array([1.0, -1.0]))
    names = {"s": s, "W": W, "t_a": t_a, "t_b": t_b}
    with trace(names) as tr:
        a = gg.sigmoid(s)
        b = gg.matvec(W, s)
        E = gg.sqerr(a, t_a) + gg.sqerr(b, t_b)
        names.update({"a": a, "b": b, "E": E})
        tr.names.update(names)
        E.backward()
    s_, a_, b_ = s.numpy(), a.numpy(), b.numpy()
    dE_da, dE_db = a_ - t_a.numpy(), b_ - t_b.numpy()
    agree(
        "dE/ds",
        sigma(s_) * (1 - sigma(s_)) * dE_da + W.numpy().T @ dE_db,
        s.grad.numpy(),
        "σ(s)(1 − σ(s)) ⊙ dE/da + Wᵀ dE/db",
        "s.grad",
    )
    sums = tr.of_kind("sum")
    assert len(sums) == 1 and sums[0].tensor == "s", "the trace shows one fan-out sum, at s"
    print()
    print(tr)
    os.makedirs(args.out, exist_ok=True)
    page = os.path.join(args.out, "ex20_2_fanout_trace.html")
    tr.save_html(page, title="Lecture 20.2: a value that feeds two gates")
    print(f"trace page: {page}")
    picture = tr.graph
    assert [n.name for n in picture.fanouts] == ["s"]
    save_graph(picture, args.out, "ex20_2_fanout")


if __name__ == "__main__":
    main()
