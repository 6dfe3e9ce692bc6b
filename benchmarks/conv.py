"""conv2d forward + backward, and one epoch of the CNN recipe, gradgate against PyTorch CPU,
at one and at two threads.

    python benchmarks/conv.py [--repeat 20] [--epochs 3]

Two layers: digits-scale (batch 64, 1×8×8 → 16 channels, 3×3) and MNIST-scale (batch 64,
32×28×28 → 64 channels, 3×3), padding 1, bias, float32. One step is y = conv2d(x, W, b),
then backward of a fixed upstream gradient into x, W and b. Each thread count runs in its
own process (BLAS reads its thread count at start-up; PyTorch gets torch.set_num_threads),
and inside it gradgate and PyTorch are timed interleaved, median of ``--repeat``, the best
of three rounds; a ratio below 1 means gradgate is faster.

The epoch is one pass of ``gradgate train --model cnn``'s recipe over the 1,257 training
digits (``nn.digits_cnn``, cross-entropy with label smoothing 0.1, Adam, batches of 32)
against the same network, loss and optimiser in PyTorch, both on the same batches:
the best of ``--epochs`` epochs each, interleaved.

Each thread count runs twice: with the C library's default allocator, and with freed
memory kept for reuse (``gradgate.backend.retain_freed_memory()``, which the ``gradgate``
command calls): glibc otherwise hands the top of its heap back after each step, and the
next step faults every page of its temporaries in again.

The last table measures the implementation choices the Conv gate made, in NumPy alone:
the forward as im2col + GEMM a few images at a time (CHUNK_BYTES) against the whole batch
at once and against a tensordot over the sliding-window view; the input gradient as GEMM
+ col2im (ConvTranspose) against a full correlation of the padded g with the flipped
kernel; the weight gradient from the forward's im2col matrix of the whole batch against
building it again chunk by chunk (what Conv does when the batch made more than one chunk).
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


def layers(threads: int, repeat: int) -> None:
    import torch

    import gradgate as gg

    print(f"\n{threads} thread(s)   conv2d forward + backward, ms (median of {repeat})")
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


def epoch(threads: int, epochs: int) -> None:
    """One epoch of the --model cnn recipe, gradgate's against PyTorch's twin."""
    import torch

    import gradgate as gg
    from gradgate.data import Standardizer, digits, train_test_split
    from gradgate.training import TrainConfig
    from gradgate.training.setup import build_model, build_optimizer, loss_module

    config = TrainConfig(model="cnn", out=None).resolved()
    x, y = digits()
    x_train, _, y_train, _ = train_test_split(x, y, test_size=0.3, seed=0, stratify=True)
    x_train = Standardizer().fit_transform(x_train).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(y_train))
    batches = [order[k : k + config.batch_size] for k in range(0, len(order), config.batch_size)]

    model = build_model(config, 64, 10)
    optimizer = build_optimizer(config, model)
    criterion = loss_module(config.loss, config.label_smoothing)
    twin = torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 8, 8)),
        torch.nn.Conv2d(1, 32, 3, padding="same"),
        torch.nn.ReLU(),
        torch.nn.Conv2d(32, 64, 3, padding="same"),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(1024, config.hidden[0]),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.25),
        torch.nn.Linear(config.hidden[0], 10),
    )
    twin.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    twin_optimizer = torch.optim.Adam(twin.parameters(), lr=config.lr)
    twin_criterion = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    data = [(x_train[i], y_train[i]) for i in batches]
    data_t = [(torch.tensor(xb), torch.tensor(yb)) for xb, yb in data]

    def ours() -> None:
        model.train()
        for xb, yb in data:
            loss = criterion(model(gg.tensor(xb)), gg.tensor(yb))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def theirs() -> None:
        twin.train()
        for xb, yb in data_t:
            loss = twin_criterion(twin(xb), yb)
            twin_optimizer.zero_grad()
            loss.backward()
            twin_optimizer.step()

    ours(), theirs()  # warm up
    t_ours, t_theirs = [], []
    for _ in range(epochs):
        for f, times in ((ours, t_ours), (theirs, t_theirs)):
            start = time.perf_counter()
            f()
            times.append(time.perf_counter() - start)
    a, t = min(t_ours), min(t_theirs)
    print(f"\n{threads} thread(s)   one epoch of --model cnn ({len(batches)} steps), ms, best of "
          f"{epochs}")  # fmt: skip
    print(f"{'':<22}{'gradgate':>10}{'PyTorch':>10}{'ratio':>8}")
    print(f"{'digits CNN epoch':<22}{a * 1e3:>10.1f}{t * 1e3:>10.1f}{a / t:>8.2f}")


def choices(threads: int, repeat: int) -> None:
    import gradgate as gg
    from gradgate.gates import conv as K

    print(f"\n{threads} thread(s)   implementation choices (NumPy only), ms")
    print(
        f"{'layer':<22}{'fwd chunk':>10}{'fwd whole':>10}{'fwd view':>10}{'dx col2im':>10}"
        f"{'dx full':>10}{'dW kept':>10}{'dW again':>10}"
    )
    xp = gg.backend.numpy_namespace
    pairs = ((1, 1), (1, 1))
    for name, (n, c, o, size) in LAYERS.items():
        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, c, size, size)).astype(np.float32)
        W = rng.standard_normal((o, c, 3, 3)).astype(np.float32)
        g = rng.standard_normal((n, o, size, size)).astype(np.float32)
        chunk = K.CHUNK_BYTES
        K.CHUNK_BYTES = 1 << 40
        _, cols = K.correlate(xp, x, W, (1, 1), pairs, (1, 1), 1)  # the whole batch's
        K.CHUNK_BYTES = chunk

        def forward_chunks(x=x, W=W):  # what Conv does: a few images at a time
            K.correlate(xp, x, W, (1, 1), pairs, (1, 1), 1)

        def forward_whole(x=x, W=W, chunk=chunk):
            K.CHUNK_BYTES = 1 << 40
            try:
                K.correlate(xp, x, W, (1, 1), pairs, (1, 1), 1)
            finally:
                K.CHUNK_BYTES = chunk

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

        def weight_kept(x=x, g=g, cols=cols):  # from the forward's matrix of the whole batch
            K.weight_gradient(xp, x, g, (3, 3), (1, 1), pairs, (1, 1), 1, "Conv", cols=cols)

        def weight_again(x=x, g=g):  # the matrix built again, chunk by chunk
            K.weight_gradient(xp, x, g, (3, 3), (1, 1), pairs, (1, 1), 1, "Conv")

        functions = (forward_chunks, forward_whole, forward_view, input_col2im, input_full,
                     weight_kept, weight_again)  # fmt: skip
        times = [min(median_time(f, repeat) for _ in range(2)) for f in functions]
        print(f"{name:<22}" + "".join(f"{t * 1e3:>10.2f}" for t in times))


def run(threads: int, repeat: int, epochs: int, retain: bool) -> None:
    import torch

    import gradgate as gg

    torch.set_num_threads(threads)
    if retain:  # as the gradgate command runs: freed memory kept for reuse (both libraries)
        assert gg.backend.retain_freed_memory(), "retain_freed_memory needs glibc"
    print(f"\n=== {threads} thread(s), " + ("freed memory kept (as `gradgate train`)" if retain
          else "the C library's default allocator"))  # fmt: skip
    layers(threads, repeat)
    epoch(threads, epochs)
    if not retain:
        choices(threads, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--retain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads is not None:
        run(args.threads, args.repeat, args.epochs, args.retain)
        return
    for threads in (1, 2):
        env = dict(
            os.environ,
            OMP_NUM_THREADS=str(threads),
            OPENBLAS_NUM_THREADS=str(threads),
            MKL_NUM_THREADS=str(threads),
        )
        for retain in ([], ["--retain"]):
            command = [sys.executable, __file__, "--threads", str(threads), *retain,
                       "--repeat", str(args.repeat), "--epochs", str(args.epochs)]  # fmt: skip
            subprocess.run(command, env=env, check=True)


if __name__ == "__main__":
    main()
