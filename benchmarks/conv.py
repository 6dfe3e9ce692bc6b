"""conv2d forward + backward, gradgate against PyTorch CPU, at one and at two threads.

    python benchmarks/conv.py [--repeat 20]

Two layers: digits-scale (batch 64, 1×8×8 → 16 channels, 3×3) and MNIST-scale (batch 64,
32×28×28 → 64 channels, 3×3), padding 1, bias, float32. One step is y = conv2d(x, W, b),
then backward of a fixed upstream gradient into x, W and b. Each thread count runs in its
own process (BLAS reads its thread count at start-up; PyTorch gets torch.set_num_threads),
and inside it gradgate and PyTorch are timed interleaved, median of ``--repeat``; a ratio
below 1 means gradgate is faster.

The second table measures the implementation choices the Conv gate made, in NumPy alone:
the forward as im2col + one GEMM against a tensordot over the sliding-window view, and the
input gradient as one GEMM + col2im (ConvTranspose) against a full correlation of the
padded g with the flipped kernel.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

LAYERS = {"digits 1→16, 8×8": (64, 1, 16, 8), "MNIST 32→64, 28×28": (64, 32, 64, 28)}


def median_time(f, repeat: int) -> float:
    f()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(threads: int, repeat: int) -> None:
    import torch

    import gradgate as gg
    from gradgate.gates import conv as K

    torch.set_num_threads(threads)
    print(f"\n{threads} thread(s)   forward + backward, ms (median of {repeat})")
    print(f"{'layer':<22}{'gradgate':>10}{'PyTorch':>10}{'ratio':>8}")
    for name, (n, c, o, size) in LAYERS.items():
        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, c, size, size)).astype(np.float32)
        W = (rng.standard_normal((o, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
        b = rng.standard_normal(o).astype(np.float32)
        g = rng.standard_normal((n, o, size, size)).astype(np.float32)
        xg, Wg, bg = (gg.tensor(a, requires_grad=True) for a in (x, W, b))
        xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
        gt = torch.tensor(g)

        def ours(xg=xg, Wg=Wg, bg=bg, g=g):
            gg.conv2d(xg, Wg, bg, padding=1).backward(g)

        def theirs(xt=xt, Wt=Wt, bt=bt, gt=gt):
            torch.nn.functional.conv2d(xt, Wt, bt, padding=1).backward(gt)

        t_ours, t_theirs = [], []
        for _ in range(3):  # interleaved rounds, so both see the same machine load
            t_ours.append(median_time(ours, repeat))
            t_theirs.append(median_time(theirs, repeat))
        a, t = min(t_ours), min(t_theirs)
        print(f"{name:<22}{a * 1e3:>10.2f}{t * 1e3:>10.2f}{a / t:>8.2f}")

    print(f"\n{threads} thread(s)   implementation choices (NumPy only), ms")
    print(f"{'layer':<22}{'fwd GEMM':>10}{'fwd view':>10}{'dx col2im':>10}{'dx full':>10}")
    xp = gg.backend.numpy_namespace
    pairs = ((1, 1), (1, 1))
    for name, (n, c, o, size) in LAYERS.items():
        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, c, size, size)).astype(np.float32)
        W = rng.standard_normal((o, c, 3, 3)).astype(np.float32)
        g = rng.standard_normal((n, o, size, size)).astype(np.float32)

        def forward_gemm(x=x, W=W):
            K.correlate(xp, x, W, (1, 1), pairs, (1, 1), 1)

        def forward_view(x=x, W=W):
            view, _ = K.windows(xp, K.pad(xp, x, pairs), (3, 3), (1, 1), (1, 1), "Conv")
            np.ascontiguousarray(
                np.tensordot(view, W, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
            )

        def input_col2im(g=g, W=W):
            K.scatter(xp, g, W, (1, 1), pairs, (1, 1), 1)

        def input_full(g=g, W=W):  # g padded by k − 1 − p, correlated with the flipped kernel
            flipped = np.ascontiguousarray(W.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
            K.correlate(xp, g, flipped, (1, 1), pairs, (1, 1), 1)

        times = [
            min(median_time(f, repeat) for _ in range(2))
            for f in (forward_gemm, forward_view, input_col2im, input_full)
        ]
        print(f"{name:<22}" + "".join(f"{t * 1e3:>10.2f}" for t in times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads is not None:
        run(args.threads, args.repeat)
        return
    for threads in (1, 2):
        env = dict(
            os.environ,
            OMP_NUM_THREADS=str(threads),
            OPENBLAS_NUM_THREADS=str(threads),
            MKL_NUM_THREADS=str(threads),
        )
        subprocess.run(
            [sys.executable, __file__, "--threads", str(threads), "--repeat", str(args.repeat)],
            env=env,
            check=True,
        )


if __name__ == "__main__":
    main()
