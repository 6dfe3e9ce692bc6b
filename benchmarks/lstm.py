"""Time one training step of a recurrent layer, forward and backward, against PyTorch's:
``nn.LSTM``, ``nn.GRU`` and ``nn.RNN``, each one fused gate over the sequence.

    OMP_NUM_THREADS=1 python benchmarks/lstm.py [--repeat 30] [--batch 32] [--seq 28]
                                                [--kind lstm|gru|rnn]

The step is: output, state = layer(x); E = Σ output ⊙ r; E.backward(), for an MNIST-
row-sized layer (batch 32, 28 steps of 28 inputs, hidden 128, float32) by default; both
libraries run the same weights, interleaved in one process, and the median times and their
ratio are printed (below 1: gradgate is faster). NumPy's BLAS takes its thread count from
the environment at start-up (OMP_NUM_THREADS); PyTorch is set to the same count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import gradgate as gg
from gradgate import nn

KINDS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def measure(kind: str, args: argparse.Namespace, threads: int) -> None:
    import torch

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.seq, args.batch, args.input)).astype(np.float32)
    r = rng.standard_normal((args.seq, args.batch, args.hidden)).astype(np.float32)
    theirs = getattr(torch.nn, KINDS[kind])(args.input, args.hidden)
    ours = getattr(nn, KINDS[kind])(args.input, args.hidden)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    xt, rt = torch.tensor(x), torch.tensor(r)

    def gradgate_step() -> None:
        ours.zero_grad()
        output, _ = ours(x)
        gg.sum(output * r).backward()

    def torch_step() -> None:
        theirs.zero_grad()
        output, _ = theirs(xt)
        (output * rt).sum().backward()

    times: dict[str, list[float]] = {"gradgate": [], "torch": []}
    steps = {"gradgate": gradgate_step, "torch": torch_step}
    for name in steps:
        steps[name]()  # warm up
    for k in range(args.repeat):
        order = list(steps) if k % 2 == 0 else list(reversed(steps))
        for name in order:
            start = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - start)
    ours_ms = statistics.median(times["gradgate"]) * 1e3
    theirs_ms = statistics.median(times["torch"]) * 1e3
    print(
        f"{KINDS[kind]} step (batch {args.batch}, {args.seq} steps of {args.input}, hidden "
        f"{args.hidden}, float32), forward + backward, {threads} thread(s):"
    )
    print(
        f"  gradgate {ours_ms:8.2f} ms   PyTorch {theirs_ms:8.2f} ms   ratio "
        f"{ours_ms / theirs_ms:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq", type=int, default=28)
    parser.add_argument("--input", type=int, default=28)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--kind", choices=sorted(KINDS), action="append")
    args = parser.parse_args()
    import torch

    threads = int(os.environ.get("OMP_NUM_THREADS", "0")) or torch.get_num_threads()
    torch.set_num_threads(threads)
    for kind in args.kind or list(KINDS):
        measure(kind, args, threads)


if __name__ == "__main__":
    main()
