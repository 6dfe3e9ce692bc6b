"""Time gradgate's einsum against NumPy's, forward and backward.

    python benchmarks/einsum.py [--repeat 30]

For each case, interleaved in one process and timed as the median of ``--repeat`` runs:

- forward ratio  = gg.einsum(...)  /  np.einsum(..., optimize=True)   (target ≤ 1.2)
- backward ratio = backward() of every operand  /  two gg.einsum forwards run back to back
  (both results alive, as backward's two gradients are)   (target ≤ 1)

gradgate finds the contraction order once per subscripts and shapes and reuses it; NumPy's
``optimize=True`` searches again on every call. Backward is one einsum per operand, so
for two operands it is about two forwards; for a chain of k it is k forwards over a
problem of one operand less, each contracted in its own best order.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import gradgate as gg

CASES = [
    ("matmul", "ij,jk->ik", [(256, 256), (256, 256)]),
    ("batched", "bij,bjk->bik", [(32, 64, 64), (32, 64, 64)]),
    ("bilinear", "bi,ij,bj->b", [(256, 128), (128, 128), (256, 128)]),
    ("chain", "ij,jk,kl->il", [(200, 20), (20, 200), (200, 30)]),
    ("attention", "bhqd,bhkd->bhqk", [(8, 4, 64, 32), (8, 4, 64, 32)]),
    ("ellipsis", "...ij,...j->...i", [(16, 64, 64), (16, 64)]),
    ("outer", "i,j->ij", [(512,), (512,)]),
    ("trace", "ii->", [(512, 512)]),
]


def median_time(f: Callable[[], object], repeat: int) -> float:
    f()  # warm up (and, for gradgate, find the contraction order)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(
        f"{'case':<10} {'subscripts':<18} {'numpy ms':>9} {'gg fwd ms':>9} "
        f"{'fwd ratio':>9} {'gg bwd ms':>9} {'bwd / 2 fwd':>11}"
    )
    print("(one BLAS thread is steadier on a shared machine: OPENBLAS_NUM_THREADS=1)")
    for name, subscripts, shapes in CASES:
        arrays = [rng.standard_normal(s) for s in shapes]
        leaves = [gg.tensor(a, requires_grad=True) for a in arrays]
        constants = [gg.tensor(a) for a in arrays]

        def numpy_forward(arrays=arrays, subscripts=subscripts):
            return np.einsum(subscripts, *arrays, optimize=True)

        def gradgate_forward(constants=constants, subscripts=subscripts):
            return gg.einsum(subscripts, *constants)

        def two_forwards(constants=constants, subscripts=subscripts):
            return gg.einsum(subscripts, *constants), gg.einsum(subscripts, *constants)

        y = gg.einsum(subscripts, *leaves)
        seed = np.ones(y.shape)

        def gradgate_backward(leaves=leaves, subscripts=subscripts, seed=seed):
            out = gg.einsum(subscripts, *leaves)
            start = time.perf_counter()
            out.backward(seed)
            return time.perf_counter() - start

        np_times, fwd_times, two_times, bwd_times = [], [], [], []
        for _ in range(args.repeat):  # interleaved, so that drift hits all of them alike
            np_times.append(median_time(numpy_forward, 1))
            fwd_times.append(median_time(gradgate_forward, 1))
            two_times.append(median_time(two_forwards, 1))
            for t in leaves:
                t.grad = None
            bwd_times.append(gradgate_backward())
        t_np, t_fwd, t_two, t_bwd = (
            statistics.median(t) for t in (np_times, fwd_times, two_times, bwd_times)
        )
        print(
            f"{name:<10} {subscripts:<18} {t_np * 1e3:9.3f} {t_fwd * 1e3:9.3f} "
            f"{t_fwd / t_np:9.2f} {t_bwd * 1e3:9.3f} {t_bwd / t_two:11.2f}"
        )


if __name__ == "__main__":
    main()
