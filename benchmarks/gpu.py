"""One training step of the lecture's two-layer sigmoid network on an NVIDIA GPU.

    python benchmarks/gpu.py [--repeat 20]

float32, sizes inputs-hidden-outputs / batch. Times, interleaved in one process: gradgate on
CuPy, hand-written CuPy backprop (the same maths with no autodiff), and PyTorch CUDA eager
when it is installed. Each timing synchronises the device. Ratios below 1 mean gradgate is
faster.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from step import setup as arrays  # the same data and weights as the CPU benchmark

import gradgate as gg
from gradgate import backend

SIZES = [(784, 256, 10, 128), (1024, 1024, 1024, 512), (4096, 4096, 4096, 4096)]
LR = 0.1


def cupy_step(X, T, W1, W2) -> Callable[[], None]:
    import cupy as cp

    X, T, W1, W2 = (cp.asarray(a) for a in (X, T, W1, W2))

    def sigmoid(s):
        return (cp.tanh(s * 0.5) + 1) * 0.5

    def step() -> None:
        o1 = sigmoid(X @ W1.T)
        o2 = sigmoid(o1 @ W2.T)
        d = o2 - T
        d2 = d * o2 * (1 - o2)
        gW2 = d2.T @ o1
        d1 = (d2 @ W2) * o1 * (1 - o1)
        gW1 = d1.T @ X
        W2[...] -= LR * gW2
        W1[...] -= LR * gW1

    return step


def gradgate_step(X, T, W1, W2) -> Callable[[], None]:
    w1 = gg.tensor(W1, requires_grad=True, device="cuda")
    w2 = gg.tensor(W2, requires_grad=True, device="cuda")
    x, t = gg.tensor(X, device="cuda"), gg.tensor(T, device="cuda")

    def step() -> None:
        o2 = gg.sigmoid(gg.matvec(w2, gg.sigmoid(gg.matvec(w1, x))))
        gg.sqerr(o2, t).backward()
        with gg.no_grad():
            for w in (w1, w2):
                w.sub_(w.grad.data * LR)
                w.grad = None

    return step


def torch_step(X, T, W1, W2) -> Callable[[], None] | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    w1 = torch.tensor(W1, device="cuda", requires_grad=True)
    w2 = torch.tensor(W2, device="cuda", requires_grad=True)
    x, t = torch.tensor(X, device="cuda"), torch.tensor(T, device="cuda")

    def step() -> None:
        o2 = torch.sigmoid(torch.sigmoid(x @ w1.T) @ w2.T)
        (0.5 * ((o2 - t) ** 2).sum()).backward()
        with torch.no_grad():
            for w in (w1, w2):
                w -= LR * w.grad
                w.grad = None

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    reason = backend.cuda_unavailable_reason()
    if reason:
        raise SystemExit(f"gpu benchmark: {reason}")
    import cupy as cp

    name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    print(f"{name}: one training step, float32, median ms (ratio = gradgate / other)")
    print(
        f"{'size / batch':>24} {'gradgate':>9} {'cupy':>9} {'torch':>9} "
        f"{'gg/cupy':>8} {'gg/torch':>9}"
    )
    sync = cp.cuda.Device().synchronize
    for size in SIZES:
        data = arrays(*size)
        steps = {"gradgate": gradgate_step(*data), "cupy": cupy_step(*data)}
        t_step = torch_step(*data)
        if t_step is not None:
            import torch

            steps["torch"] = t_step
        inner = 2 if size[0] >= 4096 else 20
        for f in steps.values():
            for _ in range(5):
                f()
        sync()
        if "torch" in steps:
            torch.cuda.synchronize()
        samples: dict[str, list[float]] = {k: [] for k in steps}
        for _ in range(args.repeat):
            for key, f in steps.items():
                start = time.perf_counter()
                for _ in range(inner):
                    f()
                sync()
                if key == "torch":
                    torch.cuda.synchronize()
                samples[key].append((time.perf_counter() - start) / inner * 1e3)
        ms = {k: statistics.median(v) for k, v in samples.items()}
        label = "{}-{}-{} / {}".format(*size)
        torch_ms = ms.get("torch", float("nan"))
        print(
            f"{label:>24} {ms['gradgate']:9.3f} {ms['cupy']:9.3f} {torch_ms:9.3f} "
            f"{ms['gradgate'] / ms['cupy']:8.3f} {ms['gradgate'] / torch_ms:9.3f}"
        )


if __name__ == "__main__":
    main()
