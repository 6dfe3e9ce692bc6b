"""Time one training step of the lecture's two-layer sigmoid network, and per-gate overhead.

    python benchmarks/step.py [--repeat 30]

For each size (inputs-hidden-outputs / batch) one step is: forward, E = SqErr, backward,
w ← w − η dE/dw. It is timed, interleaved in one process, for gradgate, hand-written NumPy
backprop (no dE/dx, as the lecture's delta rule) and PyTorch eager when it is installed.
Ratios below 1 mean gradgate is faster. The second table times a chain of 200 small
element-wise gates, forward and backward, as microseconds per gate.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import gradgate as gg

SIZES = [(64, 32, 10, 32), (784, 256, 10, 128), (1024, 1024, 1024, 512)]
LR = 0.1


def numpy_sigmoid(s: np.ndarray) -> np.ndarray:
    o = np.tanh(s * 0.5)
    o *= 0.5
    o += 0.5
    return o


def setup(n_in: int, n_hidden: int, n_out: int, batch: int):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, n_in)).astype(np.float32)
    T = rng.random((batch, n_out)).astype(np.float32)
    W1 = (rng.standard_normal((n_hidden, n_in)) / np.sqrt(n_in)).astype(np.float32)
    W2 = (rng.standard_normal((n_out, n_hidden)) / np.sqrt(n_hidden)).astype(np.float32)
    return X, T, W1, W2


def numpy_step(X, T, W1, W2) -> Callable[[], None]:
    W1, W2 = W1.copy(), W2.copy()

    def step() -> None:
        o1 = numpy_sigmoid(X @ W1.T)  # (batch, hidden)
        o2 = numpy_sigmoid(o1 @ W2.T)  # (batch, out)
        d = o2 - T
        0.5 * np.dot(d.ravel(), d.ravel())  # E
        d2 = d * o2 * (1 - o2)  # dE/ds2
        gW2 = d2.T @ o1
        d1 = (d2 @ W2) * o1 * (1 - o1)  # dE/ds1
        gW1 = d1.T @ X
        W2[...] -= LR * gW2
        W1[...] -= LR * gW1

    return step


def gradgate_step(X, T, W1, W2) -> Callable[[], None]:
    W1 = gg.tensor(W1, requires_grad=True)
    W2 = gg.tensor(W2, requires_grad=True)
    x, t = gg.tensor(X), gg.tensor(T)

    def step() -> None:
        o2 = gg.sigmoid(gg.matvec(W2, gg.sigmoid(gg.matvec(W1, x))))
        gg.sqerr(o2, t).backward()
        for W in (W1, W2):
            W.data -= LR * W.grad.data
            W.grad = None

    return step


def gradgate_idiom_step(X, T, W1, W2) -> Callable[[], None]:
    """The same step written as users write a layer (PyTorch's ``F.linear``): ``x @ W.T``."""
    W1 = gg.tensor(W1, requires_grad=True)
    W2 = gg.tensor(W2, requires_grad=True)
    x, t = gg.tensor(X), gg.tensor(T)

    def step() -> None:
        o2 = gg.sigmoid(gg.sigmoid(x @ W1.T) @ W2.T)
        gg.sqerr(o2, t).backward()
        with gg.no_grad():
            for W in (W1, W2):
                W -= LR * W.grad
                W.grad = None

    return step


def gradgate_module_step(X, T, W1, W2) -> Callable[[], None]:
    """The same step with ``nn.Linear`` layers (no bias) and ``optim.SGD``."""
    model = gg.nn.Sequential(
        gg.nn.Linear(W1.shape[1], W1.shape[0], bias=False),
        gg.nn.Sigmoid(),
        gg.nn.Linear(W2.shape[1], W2.shape[0], bias=False),
        gg.nn.Sigmoid(),
    )
    model.load_state_dict({"0.weight": W1, "2.weight": W2})
    optimizer = gg.optim.SGD(model.parameters(), lr=LR)
    x, t = gg.tensor(X), gg.tensor(T)

    def step() -> None:
        optimizer.zero_grad()
        gg.sqerr(model(x), t).backward()
        optimizer.step()

    return step


def torch_step(X, T, W1, W2) -> Callable[[], None] | None:
    try:
        import torch
    except ImportError:
        return None
    W1 = torch.tensor(W1, requires_grad=True)
    W2 = torch.tensor(W2, requires_grad=True)
    x, t = torch.tensor(X), torch.tensor(T)

    def step() -> None:
        o2 = torch.sigmoid(torch.sigmoid(x @ W1.T) @ W2.T)
        (0.5 * ((o2 - t) ** 2).sum()).backward()
        with torch.no_grad():
            for W in (W1, W2):
                W -= LR * W.grad
                W.grad = None

    return step


def time_interleaved(steps: dict[str, Callable[[], None]], repeat: int, inner: int):
    """Median seconds per call of each step, measured in alternation (the order rotating
    each round, so no step always runs right after the same other one)."""
    for f in steps.values():
        for _ in range(3):
            f()
    samples: dict[str, list[float]] = {k: [] for k in steps}
    names = list(steps)
    for round_ in range(repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            f = steps[name]
            start = time.perf_counter()
            for _ in range(inner):
                f()
            samples[name].append((time.perf_counter() - start) / inner)
    return {k: statistics.median(v) for k, v in samples.items()}


def time_each(steps: dict[str, Callable[[], None]], repeat: int, inner: int):
    """gradgate and NumPy share one BLAS thread pool and are timed in alternation; PyTorch
    runs its own pool, whose threads keep spinning for a while after each call and slow
    whatever runs next, so it is timed in a block of its own, in the same process."""
    shared = {k: f for k, f in steps.items() if k != "torch"}
    times = time_interleaved(shared, repeat, inner)
    if "torch" in steps:
        times.update(time_interleaved({"torch": steps["torch"]}, repeat, inner))
    return times


def chain_steps(length: int = 200) -> dict[str, Callable[[], None]]:
    x0 = np.random.default_rng(1).standard_normal(8).astype(np.float32)
    ops = ["mul", "add", "tanh", "sigmoid"]
    xg = gg.tensor(x0, requires_grad=True)

    def gradgate_chain() -> None:
        y = xg
        for k in range(length):
            op = ops[k % 4]
            y = (
                y * 1.01
                if op == "mul"
                else y + 0.1
                if op == "add"
                else (gg.tanh(y) if op == "tanh" else gg.sigmoid(y))
            )
        y.sum().backward()
        xg.grad = None

    steps = {"gradgate": gradgate_chain}
    try:
        import torch
    except ImportError:
        return steps
    xt = torch.tensor(x0, requires_grad=True)

    def torch_chain() -> None:
        y = xt
        for k in range(length):
            op = ops[k % 4]
            y = (
                y * 1.01
                if op == "mul"
                else y + 0.1
                if op == "add"
                else (torch.tanh(y) if op == "tanh" else torch.sigmoid(y))
            )
        y.sum().backward()
        xt.grad = None

    steps["torch"] = torch_chain
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(max(1, torch.get_num_threads()))
    except ImportError:
        torch = None

    print("one training step, float32, median ms (ratio = gradgate / other); gradgate's step")
    print("written three ways: gg.matvec (the lecture's s = W o), x @ W.T, nn.Linear + SGD")
    print(
        f"{'size / batch':>22} {'form':>8} {'gradgate':>9} {'numpy':>9} {'torch':>9} "
        f"{'gg/numpy':>9} {'gg/torch':>9}"
    )
    forms = {"matvec": gradgate_step, "x@W.T": gradgate_idiom_step, "Linear": gradgate_module_step}
    for n_in, n_hidden, n_out, batch in SIZES:
        arrays = setup(n_in, n_hidden, n_out, batch)
        steps = {form: make(*arrays) for form, make in forms.items()}
        steps["numpy"] = numpy_step(*arrays)
        t_step = torch_step(*arrays)
        if t_step is not None:
            steps["torch"] = t_step
        inner = 1 if n_hidden >= 1024 else 20
        repeat = max(5, args.repeat // 3) if n_hidden >= 1024 else args.repeat
        ms = {k: v * 1e3 for k, v in time_each(steps, repeat, inner).items()}
        torch_ms = ms.get("torch", float("nan"))
        label = f"{n_in}-{n_hidden}-{n_out} / {batch}"
        for form in forms:
            print(
                f"{label:>22} {form:>8} {ms[form]:9.3f} {ms['numpy']:9.3f} {torch_ms:9.3f} "
                f"{ms[form] / ms['numpy']:9.3f} {ms[form] / torch_ms:9.3f}"
            )
            label = ""

    length = 200
    per_gate = time_each(chain_steps(length), args.repeat, 5)
    print(f"\nchain of {length} element-wise gates, forward + backward, µs per gate")
    line = "  ".join(f"{k} {v / length * 1e6:.2f}" for k, v in per_gate.items())
    print(line)
    if "torch" in per_gate:
        print(f"gradgate / torch: {per_gate['gradgate'] / per_gate['torch']:.3f}")


if __name__ == "__main__":
    main()
