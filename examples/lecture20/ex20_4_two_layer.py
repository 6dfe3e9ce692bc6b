"""Exercise 20.4: the two-layer network, trained one step by backpropagation.

    s1 = W1 x,  o1 = σ(s1),  s2 = W2 o1,  o2 = σ(s2),  E = SqErr(o2, t)

With w_ij the weight from neuron i below to neuron j above (W[j, i] = w_ij) and
δ_k = −dE/ds2_k = (t_k − o2_k) o2_k (1 − o2_k), the lecture derives

    dE/dw2_ij = (o2_j − t_j) · o2_j (1 − o2_j) · o1_i
    dE/dw1_ij = −(Σ_k δ_k w2_jk) · o1_j (1 − o1_j) · x_i
    w ← w − η dE/dw   (the delta rule)

and gradgate's generic engine (gates + backward) must give exactly these numbers. The
trace of the backward pass is written as a text table, as Markdown with LaTeX, and as an
HTML page with the graph.

    python examples/lecture20/ex20_4_two_layer.py [--out FOLDER]
"""

import os

import numpy as np
from common import agree, parse_args, save_graph, section

import gradgate as gg
from gradgate.trace import trace


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    rng = np.random.default_rng(20)
    x = gg.tensor(rng.uniform(0, 1, 4))
    W1 = gg.tensor(rng.standard_normal((3, 4)), requires_grad=True)  # 4 inputs → 3 hidden
    W2 = gg.tensor(rng.standard_normal((2, 3)), requires_grad=True)  # 3 hidden → 2 outputs
    t = gg.tensor(np.array([1.0, 0.0]))
    names = {"x": x, "W1": W1, "W2": W2, "t": t}
    with trace(names) as tr:
        s1 = gg.matvec(W1, x)
        o1 = gg.sigmoid(s1)
        s2 = gg.matvec(W2, o1)
        o2 = gg.sigmoid(s2)
        E = gg.sqerr(o2, t)
        tr.names.update({"s1": s1, "o1": o1, "s2": s2, "o2": o2, "E": E})
        E.backward()

    x_, o1_, o2_, t_ = x.numpy(), o1.numpy(), o2.numpy(), t.numpy()
    W1_, W2_ = W1.numpy().copy(), W2.numpy().copy()

    section("The output layer (20.1b)")
    dW2 = ((o2_ - t_) * o2_ * (1 - o2_))[:, None] * o1_[None, :]  # [j, i]
    agree("dE/dW2", dW2, W2.grad.numpy(), "(o2_j − t_j) o2_j (1 − o2_j) o1_i", "W2.grad")

    section("The hidden layer (20.4)")
    delta = (t_ - o2_) * o2_ * (1 - o2_)  # δ_k = −dE/ds2_k
    back = W2_.T @ delta  # Σ_k δ_k w2_jk, for each hidden neuron j (w2_jk = W2[k, j])
    dW1 = -(back * o1_ * (1 - o1_))[:, None] * x_[None, :]  # [j, i]
    agree("dE/dW1", dW1, W1.grad.numpy(), "−(Σ_k δ_k w2_jk) o1_j (1 − o1_j) x_i", "W1.grad")

    section("The graph, with every gradient of the pass (before the update)")
    save_graph(tr.graph, args.out, "ex20_4_two_layer")

    section("The backward pass, step by step")
    assert tr.gates == ["SqErr", "Sigmoid", "MatVec", "Sigmoid", "MatVec"]
    print(tr)
    os.makedirs(args.out, exist_ok=True)
    page = os.path.join(args.out, "ex20_4_trace.html")
    tr.save_html(page, title="Lecture 20.4: backpropagation through the two-layer network")
    tr.save_markdown(os.path.join(args.out, "ex20_4_trace.md"))
    print(f"trace page: {page}")

    section("One step of gradient descent is the delta rule")
    eta = 0.1
    with gg.no_grad():
        W1.data -= eta * W1.grad.data  # w ← w − η dE/dw, the generic engine's update
        W2.data -= eta * W2.grad.data
    agree(
        "W2 after the step",
        W2_ + eta * delta[:, None] * o1_[None, :],
        W2.numpy(),
        "w2_ij + η δ_j o1_i",
        "W2 − η dE/dW2",
    )
    agree(
        "W1 after the step",
        W1_ + eta * (back * o1_ * (1 - o1_))[:, None] * x_[None, :],
        W1.numpy(),
        "w1_ij + η (Σ_k δ_k w2_jk) o1_j (1 − o1_j) x_i",
        "W1 − η dE/dW1",
    )


if __name__ == "__main__":
    main()
