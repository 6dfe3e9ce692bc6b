"""Time gradgate's einsum against NumPy's, forward and backward.

    python benchmarks/einsum.py [--repeat 30] [--system-malloc]

For each case, interleaved in one process, each quantity timed once per round after a
call that warms it up, and quoted as the minimum (and the median) over ``--repeat`` rounds:

- forward ratio  = gg.einsum(...) on tensors  /  np.einsum(..., optimize=True)
  (target ≤ 1.2);
- backward ratio = y.backward(seed) through the graph gg.einsum built on tensors that
  require grad (their .grad set to None first, as zero_grad does)  /  two gg.einsum
  forwards run back to back (both results alive, as backward's two gradients are)
  (target ≤ 1).

gradgate finds the contraction order once per subscripts and shapes and reuses it; NumPy's
``optimize=True`` searches again on every call. Backward of two operands is one einsum per
operand, about two forwards; three or more operands are recorded as their pairwise steps,
so backward is two pairwise contractions per step. Where the products are matrix products
the two sides do the same arithmetic, and the ratio measures what gradgate adds (and
BLAS's speed on transposed operands, g Bᵀ and Aᵀ g, against A B). Two cases cannot reach 1
by their nature: the gradient of a trace is an n × n matrix where the forward reads n
numbers, and the gradient of the matrices in "...ij,...j" is an outer product as large as
they are, written, where the forward only reads them.

glibc hands blocks of 128 KiB and more back to the kernel when they are freed, or not,
depending on what else was freed around them, and a block it handed back costs a page
fault per 4 KiB when it is written again: the same call on a 512 KiB array then takes
0.2 ms more or less from one place in a loop to the next. So that the ratios compare the
work done rather than where the allocator happened to be, the script first asks malloc
(mallopt, glibc only) to keep freed memory; ``--system-malloc`` leaves malloc as it is.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
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

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks (up to 32 MiB) for reuse; False elsewhere."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, 1 << 25) and mallopt(M_TRIM_THRESHOLD, 1 << 30))


def timed(f: Callable[[], object]) -> float:
    """Seconds for one call of f, after one call that warms it up."""
    f()
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--system-malloc", action="store_true", help="leave malloc as it is")
    args = parser.parse_args()
    kept = False if args.system_malloc else keep_freed_memory()
    rng = np.random.default_rng(0)
    print("(one BLAS thread is steadier on a shared machine: OPENBLAS_NUM_THREADS=1)")
    print(f"malloc keeps freed memory: {'yes' if kept else 'no (as the system has it)'}")
    print("times: min over the rounds; ratios: of the minima (of the medians)")
    print(
        f"{'case':<10} {'subscripts':<18} {'numpy ms':>9} {'gg fwd ms':>9} "
        f"{'fwd ratio':>12} {'gg bwd ms':>9} {'bwd / 2 fwd':>12}"
    )
    worst_forward = worst_backward = 0.0
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

        seed = np.ones(gg.einsum(subscripts, *constants).shape)

        def gradgate_backward(leaves=leaves, subscripts=subscripts, seed=seed) -> float:
            for t in leaves:
                t.grad = None
            out = gg.einsum(subscripts, *leaves)
            start = time.perf_counter()
            out.backward(seed)
            return time.perf_counter() - start

        times: dict[str, list[float]] = {"np": [], "fwd": [], "two": [], "bwd": []}
        for _ in range(args.repeat):  # interleaved, so that drift hits all of them alike
            times["np"].append(timed(numpy_forward))
            times["fwd"].append(timed(gradgate_forward))
            times["two"].append(timed(two_forwards))
            gradgate_backward()  # warmed up as the others are
            times["bwd"].append(gradgate_backward())
        low = {k: min(v) for k, v in times.items()}
        mid = {k: statistics.median(v) for k, v in times.items()}
        forward = (low["fwd"] / low["np"], mid["fwd"] / mid["np"])
        backward = (low["bwd"] / low["two"], mid["bwd"] / mid["two"])
        worst_forward = max(worst_forward, forward[0])
        worst_backward = max(worst_backward, backward[0])
        print(
            f"{name:<10} {subscripts:<18} {low['np'] * 1e3:9.3f} {low['fwd'] * 1e3:9.3f} "
            f"{forward[0]:5.2f} ({forward[1]:4.2f}) {low['bwd'] * 1e3:9.3f} "
            f"{backward[0]:5.2f} ({backward[1]:4.2f})"
        )
    print(
        f"worst forward ratio {worst_forward:.2f} (target 1.2), "
        f"worst backward ratio {worst_backward:.2f} (target 1)"
    )


if __name__ == "__main__":
    main()
