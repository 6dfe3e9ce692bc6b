"""Peak memory of one training step, gradgate against PyTorch (float32, CPU).

    python benchmarks/memory.py [--sizes 784,256,10 --batch 128]

The step is the lecture's network with biases, 784 → 256 sigmoid → 10 sigmoid, E = SqErr
summed over the batch, plain SGD: zero_grad, forward, backward, w ← w − η dE/dw. Each
library runs in its own fresh subprocess: it first trains a tiny 8-4-2 network for 3 steps
(its start-up: imports, thread pools, kernels), then builds the real one, warms up for 3
steps and measures a step.

What is counted: every byte the process holds through malloc. A tiny C library preloaded
into the subprocess (compiled here with the system C compiler) counts each malloc, calloc,
realloc, memalign and free by the block's usable size, and PYTHONMALLOC=malloc sends
Python's own objects through malloc too. So the count covers NumPy's and PyTorch's array
buffers, Python objects (gradgate's tensors and gates), PyTorch's C++ autograd nodes and
whatever a BLAS allocates through malloc; not memory mapped directly with mmap.

The rows:

* **step peak, above the start-up heap**: the most the process held during the step, minus
  what it held after the tiny network's steps. This is what one training step costs:
  parameters, batch, gradients, activations, temporaries and BLAS workspace. The figure to
  compare.
* **held between steps**: the part of that which stays from one step to the next.
* **step peak, above the level before the step**: the transient part, allocated and freed
  within the step. With ``zero_grad()`` freeing the gradients first, it is small.
* **tracemalloc** (gradgate only): the transient part as Python's tracemalloc sees it
  (NumPy reports its data buffers there; OpenBLAS's workspace is not). PyTorch's C++
  allocations are invisible to tracemalloc, so it has no PyTorch column.

RSS is not used: Linux keeps RSS in per-CPU counters that are only approximately summed,
which hides changes of the size of this step (about 1 MiB). The floor printed first lists
the arrays any autodiff library must hold at the peak besides the parameters and the batch.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable

import numpy as np

COUNTER_C = r"""
#include <malloc.h>
#include <stddef.h>
#include <errno.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static long current, peak;

static void count(long change) {
    long now = __atomic_add_fetch(&current, change, __ATOMIC_RELAXED);
    long seen = __atomic_load_n(&peak, __ATOMIC_RELAXED);
    while (now > seen &&
           !__atomic_compare_exchange_n(&peak, &seen, now, 1, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {}
}

static void *counted(void *p) { if (p) count((long)malloc_usable_size(p)); return p; }

void *malloc(size_t n) { return counted(__libc_malloc(n)); }
void *calloc(size_t k, size_t n) { return counted(__libc_calloc(k, n)); }
void *memalign(size_t a, size_t n) { return counted(__libc_memalign(a, n)); }
void *aligned_alloc(size_t a, size_t n) { return counted(__libc_memalign(a, n)); }
void *valloc(size_t n) { return counted(__libc_memalign(4096, n)); }
int posix_memalign(void **out, size_t a, size_t n) {
    void *p = __libc_memalign(a, n);
    if (!p) return ENOMEM;
    *out = counted(p);
    return 0;
}
void free(void *p) {
    if (p) count(-(long)malloc_usable_size(p));
    __libc_free(p);
}
void *realloc(void *p, size_t n) {
    long before = p ? (long)malloc_usable_size(p) : 0;
    void *q = __libc_realloc(p, n);
    if (q) { count(-before); count((long)malloc_usable_size(q)); }
    else if (n == 0) count(-before);
    return q;
}

long heap_current(void) { return __atomic_load_n(&current, __ATOMIC_RELAXED); }
long heap_peak(void) { return __atomic_load_n(&peak, __ATOMIC_RELAXED); }
void heap_reset_peak(void) { __atomic_store_n(&peak, heap_current(), __ATOMIC_RELAXED); }
"""

LR = 0.1
WARMUP = 3


def _counter() -> ctypes.CDLL:
    counter = ctypes.CDLL(os.environ["GRADGATE_HEAP_COUNTER"])
    counter.heap_current.restype = counter.heap_peak.restype = ctypes.c_long
    return counter


def heap_peak(step: Callable[[], None]) -> tuple[int, int]:
    """Peak malloc'd bytes during ``step``, and the level just before it."""
    counter = _counter()
    before = counter.heap_current()
    counter.heap_reset_peak()
    step()
    return counter.heap_peak(), before


def data(n_in: int, n_out: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, n_in)).astype(np.float32)
    t = np.eye(n_out, dtype=np.float32)[rng.integers(0, n_out, batch)]
    return x, t


def gradgate_step(n_in: int, n_hidden: int, n_out: int, batch: int) -> Callable[[], None]:
    import gradgate as gg
    from gradgate import nn, optim

    x, t = data(n_in, n_out, batch)
    model = nn.MLP(
        [n_in, n_hidden, n_out], "sigmoid", "sigmoid", generator=np.random.default_rng(0)
    )
    opt = optim.SGD(model.parameters(), lr=LR)
    loss_fn = nn.SqErr()
    X, T = gg.tensor(x), gg.tensor(t)

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(X), T).backward()
        opt.step()

    return step


def torch_step(n_in: int, n_hidden: int, n_out: int, batch: int) -> Callable[[], None]:
    import torch

    torch.manual_seed(0)
    x, t = data(n_in, n_out, batch)
    model = torch.nn.Sequential(
        torch.nn.Linear(n_in, n_hidden),
        torch.nn.Sigmoid(),
        torch.nn.Linear(n_hidden, n_out),
        torch.nn.Sigmoid(),
    )
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    X, T = torch.from_numpy(x), torch.from_numpy(t)

    def step() -> None:
        opt.zero_grad()
        (0.5 * ((model(X) - T) ** 2).sum()).backward()
        opt.step()

    return step


def tracemalloc_peak(step: Callable[[], None]) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        step()  # once under tracing, so that the measured step is a steady one
        tracemalloc.reset_peak()
        current, _ = tracemalloc.get_traced_memory()
        step()
        return tracemalloc.get_traced_memory()[1] - current
    finally:
        tracemalloc.stop()


def worker(library: str, sizes: tuple[int, int, int], batch: int) -> dict[str, int]:
    make = gradgate_step if library == "gradgate" else torch_step
    tiny = make(8, 4, 2, 2)  # the library's own start-up (imports, thread pools, kernels)
    for _ in range(WARMUP):
        tiny()
    del tiny
    imported = _counter().heap_current()
    step = make(*sizes, batch)
    for _ in range(WARMUP):
        step()
    peak, before = min(heap_peak(step) for _ in range(3))
    result = {
        "above_import": peak - imported,
        "above_before": peak - before,
        "held_between_steps": before - imported,
    }
    if library == "gradgate":
        result["tracemalloc_above_before"] = tracemalloc_peak(step)
    return result


def floor_bytes(n_in: int, n_hidden: int, n_out: int, batch: int) -> dict[str, int]:
    params = n_hidden * n_in + n_hidden + n_out * n_hidden + n_out
    return {
        "gradients (made by backward)": 4 * params,
        "activations kept for backward": 4 * batch * (2 * n_hidden + 2 * n_out),
        "dE/d(hidden) at its widest": 4 * batch * n_hidden,
    }


def build_counter(directory: str) -> str:
    source = os.path.join(directory, "heap_counter.c")
    library = os.path.join(directory, "heap_counter.so")
    with open(source, "w") as f:
        f.write(COUNTER_C)
    compiler = os.environ.get("CC", "cc")
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-O2", "-o", library, source],
        check=True,
        capture_output=True,
    )
    return library


def measure(
    library: str, sizes: tuple[int, int, int], batch: int, counter: str
) -> dict[str, int] | str:
    env = dict(os.environ, LD_PRELOAD=counter, GRADGATE_HEAP_COUNTER=counter, PYTHONMALLOC="malloc")
    command = [
        sys.executable,
        __file__,
        "--worker",
        library,
        "--sizes",
        ",".join(map(str, sizes)),
        "--batch",
        str(batch),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit status {done.returncode}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def mib(n: float) -> str:
    return f"{n / 2**20:8.2f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="784,256,10", help="inputs,hidden,outputs")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--worker", choices=["gradgate", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = tuple(int(n) for n in args.sizes.split(","))
    if len(sizes) != 3:
        parser.error("--sizes takes inputs,hidden,outputs")
    if args.worker:
        print(json.dumps(worker(args.worker, sizes, args.batch)))  # type: ignore[arg-type]
        return
    if not sys.platform.startswith("linux"):
        sys.exit("memory.py counts malloc with LD_PRELOAD, which needs Linux and glibc")

    print(
        f"one SGD step, {'-'.join(map(str, sizes))} sigmoid network, batch {args.batch}, "
        "float32, CPU; each library in a fresh process"
    )
    for what, n in floor_bytes(*sizes, args.batch).items():
        print(f"  floor: {what:32s}{mib(n)}")
    with tempfile.TemporaryDirectory() as directory:
        try:
            counter = build_counter(directory)
        except (OSError, subprocess.CalledProcessError) as error:
            sys.exit(f"cannot compile the malloc counter ({error}); set CC to a C compiler")
        results = {lib: measure(lib, sizes, args.batch, counter) for lib in ("gradgate", "torch")}
    ours, theirs = results["gradgate"], results["torch"]
    rows = [
        ("above_import", "step peak, above the library's start-up heap"),
        ("held_between_steps", "held between steps (model, data, grads)"),
        ("above_before", "step peak, above the level before the step"),
        ("tracemalloc_above_before", "  the same by tracemalloc (gradgate only)"),
    ]
    print(f"\n{'':46s}{'gradgate':>12s}{'PyTorch':>12s}{'ratio':>8s}")
    for key, label in rows:
        a = ours.get(key) if isinstance(ours, dict) else None
        b = theirs.get(key) if isinstance(theirs, dict) else None
        cells = [mib(v) if v is not None else f"{'—':>12s}" for v in (a, b)]
        ratio = f"{a / b:8.2f}" if a is not None and b else ""
        print(f"{label:46s}{cells[0]}{cells[1]}{ratio}")
    for lib, result in results.items():
        if not isinstance(result, dict):
            print(f"{lib}: not measured ({result})")
    print(
        "\nratio = gradgate / PyTorch; below 1: gradgate needs less. The first row is the "
        "memory a training step needs\n(parameters, batch, gradients, activations, "
        "temporaries, BLAS workspace), without each library's start-up heap."
    )


if __name__ == "__main__":
    main()
