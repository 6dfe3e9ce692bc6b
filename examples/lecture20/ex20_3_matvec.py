"""Exercise 20.3: the matrix-vector gate s = W o, (a) for its input and (b) for its weights.

With W[j, i] = w_ij (one row per upper neuron, s_j = Σ_i w_ij o_i):

    (a) dE/do = Wᵀ · dE/ds             (J = ds/do is W itself)
    (b) dE/dW = dE/ds ⊗ o = (dE/ds) oᵀ  (an outer product: dE/dw_ij = dE/ds_j · o_i)

    python examples/lecture20/ex20_3_matvec.py [--out FOLDER]
"""

import numpy as np
from common import agree, parse_args, save_graph, section

import gradgate as gg
from gradgate.check import explain_gate, local_jacobian
from gradgate.gates.linalg import MatVec
from gradgate.viz import graph


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    W = gg.tensor(np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]), requires_grad=True)
    o = gg.tensor(np.array([0.5, 1.0, -1.5]), requires_grad=True)
    s = gg.matvec(W, o)
    dE_ds = np.array([0.2, -0.7])  # the gradient that reaches s from above
    picture = graph(s, names={"W": W, "o": o, "s": s})
    s.backward(dE_ds)
    W_, o_ = W.numpy(), o.numpy()

    section("s = W o")
    agree("s", W_ @ o_, s.numpy(), "Σ_i w_ij o_i", "forward")

    section("20.3a  dE/do = Wᵀ dE/ds")
    agree("dE/do", W_.T @ dE_ds, o.grad.numpy(), "Wᵀ dE/ds", "o.grad")
    J_W, J_o = local_jacobian(MatVec(), W, o)
    agree("J_o = ds/do", W_, J_o, "W", "local_jacobian")

    section("20.3b  dE/dW = dE/ds ⊗ o = (dE/ds) oᵀ")
    agree("dE/dW", np.outer(dE_ds, o_), W.grad.numpy(), "(dE/ds) oᵀ", "W.grad")
    # J_W maps the flattened W to s: ds_j/dw_ij = o_i, i.e. J_W = I ⊗ oᵀ, so J_Wᵀ g = g oᵀ
    I_kron_o = np.kron(np.eye(2), o_[None, :]) + 0.0  # + 0: 0 · (−1.5) would show as −0
    agree("J_W = ds/dW (W flattened row by row)", I_kron_o, J_W, "I ⊗ oᵀ", "local_jacobian")
    agree(
        "J_Wᵀ dE/ds, reshaped like W",
        np.outer(dE_ds, o_),
        (J_W.T @ dE_ds).reshape(2, 3),
        "dE/ds ⊗ o",
        "from J_W",
    )
    report = explain_gate(MatVec(), W, o, g=dE_ds)
    print(report)
    assert report.passed

    section("The graph")
    save_graph(picture, args.out, "ex20_3_matvec")


if __name__ == "__main__":
    main()
