"""Exercise 20.1: the squared-error gate, and (20.1b) the output layer's delta rule.

(a) E = SqErr(o, t) = 1/2 · Σ_j (t_j − o_j)².  Backward: dE/do = o − t, and no gradient
    for the target t. SqErr is a gate like any other, so it can end any graph.
(b) With s2 = W2 o1, o2 = σ(s2), E = SqErr(o2, t) and w2_ij the weight from neuron i below
    to neuron j above (W2[j, i] = w2_ij):

        dE/dw2_ij = (o2_j − t_j) · o2_j (1 − o2_j) · o1_i
        w2_ij ← w2_ij + η (t_j − o2_j) o2_j (1 − o2_j) o1_i

    python examples/lecture20/ex20_1_squared_error.py [--out FOLDER]
"""

import numpy as np
from common import agree, parse_args, save_graph, section

import gradgate as gg
from gradgate.check import explain_gate, local_jacobian
from gradgate.gates.losses import SqErr
from gradgate.viz import graph


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])

    section("20.1a  E = 1/2 Σ_j (t_j − o_j)²")
    o = gg.tensor(np.array([0.8, 0.2, 0.6]), requires_grad=True)
    t = gg.tensor(np.array([1.0, 0.0, 0.0]))  # a target: no gradient wanted
    E = gg.sqerr(o, t)
    picture = graph(E, names={"o": o, "t": t, "E": E})
    E.backward()
    agree("E", 0.5 * np.sum((t.numpy() - o.numpy()) ** 2), E.numpy(), "1/2 Σ (t − o)²", "forward")
    agree("dE/do", o.numpy() - t.numpy(), o.grad.numpy(), "o − t", "o.grad")
    assert t.grad is None
    print("dE/dt: none computed (t.grad is None), as the lecture says")
    J_o, J_t = local_jacobian(SqErr(), o, t, wrt=[0])
    agree(
        "J_o = dE/do as a 1 × k matrix",
        (o.numpy() - t.numpy())[None, :],
        J_o,
        "(o − t)ᵀ",
        "local_jacobian",
    )
    assert J_t is None
    report = explain_gate(SqErr(), o, t, wrt=[0])
    print(report)
    assert report.passed
    save_graph(picture, args.out, "ex20_1a_sqerr")

    section("20.1b  the output layer: dE/dw2_ij and one update")
    o1 = gg.tensor(np.array([0.3, 0.9, 0.5]))  # the hidden layer's outputs, given
    W2 = gg.tensor(np.array([[0.2, -0.4, 0.1], [0.7, 0.3, -0.6]]), requires_grad=True)
    t2 = gg.tensor(np.array([0.0, 1.0]))
    s2 = gg.matvec(W2, o1)
    o2 = gg.sigmoid(s2)
    E2 = gg.sqerr(o2, t2)
    picture = graph(E2, names={"o1": o1, "W2": W2, "s2": s2, "o2": o2, "t": t2, "E": E2})
    E2.backward()

    o1_, o2_, t_ = o1.numpy(), o2.numpy(), t2.numpy()
    # dE/dw2_ij = (o2_j − t_j) o2_j (1 − o2_j) o1_i, stored at W2[j, i]
    by_hand = ((o2_ - t_) * o2_ * (1 - o2_))[:, None] * o1_[None, :]
    agree("dE/dW2", by_hand, W2.grad.numpy(), "(o2_j − t_j) o2_j (1 − o2_j) o1_i", "W2.grad")
    eta = 0.5
    delta_rule = W2.numpy() + eta * ((t_ - o2_) * o2_ * (1 - o2_))[:, None] * o1_[None, :]
    gradient_step = W2.numpy() - eta * W2.grad.numpy()
    agree(
        f"W2 after one step, η = {eta}",
        delta_rule,
        gradient_step,
        "w2 + η (t − o2) o2 (1 − o2) o1",
        "W2 − η W2.grad",
    )
    save_graph(picture, args.out, "ex20_1b_output_layer")


if __name__ == "__main__":
    main()
