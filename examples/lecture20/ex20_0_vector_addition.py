"""Exercise 20.0: the vector-addition gate z = x + y, with x, y, z in R^k.

Forward: z = x + y. Backward: its Jacobian with respect to either input is the identity,
so dE/dx = dE/dy = dE/dz: the gate hands the upstream gradient to both inputs unchanged.

    python examples/lecture20/ex20_0_vector_addition.py [--out FOLDER]
"""

import numpy as np
from common import agree, parse_args, save_graph, section

import gradgate as gg
from gradgate.check import explain_gate, local_jacobian
from gradgate.gates.elementwise import Add
from gradgate.viz import graph


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    k = 4
    x = gg.tensor(np.array([0.5, -1.0, 2.0, 0.25]), requires_grad=True)
    y = gg.tensor(np.array([1.5, 0.5, -0.5, 1.0]), requires_grad=True)
    z = x + y
    dE_dz = np.array([0.1, -0.2, 0.3, 0.4])  # the gradient that reaches z from above

    picture = graph(z, names={"x": x, "y": y, "z": z})
    z.backward(dE_dz)

    section("20.0  z = x + y")
    agree("z", x.numpy() + y.numpy(), z.numpy(), "x + y", "forward")
    agree("dE/dx", dE_dz, x.grad.numpy(), "dE/dz", "x.grad")
    agree("dE/dy", dE_dz, y.grad.numpy(), "dE/dz", "y.grad")

    section("The gate's Jacobians: both the identity")
    J_x, J_y = local_jacobian(Add(), x, y)
    agree("J_x = dz/dx", np.eye(k), J_x, "I", "local_jacobian")
    agree("J_y = dz/dy", np.eye(k), J_y, "I", "local_jacobian")
    report = explain_gate(Add(), x, y, g=dE_dz)
    print(report)
    assert report.passed

    section("The graph")
    save_graph(picture, args.out, "ex20_0_addition")


if __name__ == "__main__":
    main()
