"""Epochs per second of the default ``gradgate train`` run against the same model in PyTorch.

    python benchmarks/train_digits.py [--epochs 20]

The model is the default run's: 64 standardised digit features → 64 sigmoid → 10 sigmoid,
SqErr (summed) against one-hot targets, plain SGD with lr 0.1, batches of 16, shuffled
each epoch. Both libraries train on the same batches, one epoch each in turn, in this one
process; the table gives the median epoch time and the ratio gradgate / PyTorch (below 1:
gradgate is faster). The last lines time ``gradgate.training.fit`` itself, which also
scores the test set after every epoch, eager and with ``capture=True``, and the whole
``gradgate train`` command (a fresh process: imports, data, training, files, plot) without
and with ``--capture``, the best of three each, its bytecode cached as an installed package's
is.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import gradgate as gg
from gradgate import nn, optim
from gradgate.training import TrainConfig, fit
from gradgate.training.setup import load_problem

LR, BATCH, HIDDEN = 0.1, 16, 64


def batches(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(n)
    return [order[i : i + BATCH] for i in range(0, n, BATCH)]


def gradgate_epoch(x: np.ndarray, t: np.ndarray, W1: np.ndarray, W2: np.ndarray):
    model = nn.Sequential(
        nn.Linear(x.shape[1], HIDDEN), nn.Sigmoid(), nn.Linear(HIDDEN, t.shape[1]), nn.Sigmoid()
    )
    model[0].weight.data[...] = W1
    model[2].weight.data[...] = W2
    sgd, loss = optim.SGD(model.parameters(), lr=LR), nn.SqErr()

    def epoch(order: list[np.ndarray]) -> None:
        for index in order:
            E = loss(model(gg.Tensor(x[index])), gg.Tensor(t[index]))
            sgd.zero_grad()
            E.backward()
            sgd.step()

    return epoch


def torch_epoch(x: np.ndarray, t: np.ndarray, W1: np.ndarray, W2: np.ndarray):
    try:
        import torch
    except ImportError:
        return None
    model = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], HIDDEN),
        torch.nn.Sigmoid(),
        torch.nn.Linear(HIDDEN, t.shape[1]),
        torch.nn.Sigmoid(),
    )
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(W1))
        model[2].weight.copy_(torch.from_numpy(W2))
    sgd = torch.optim.SGD(model.parameters(), lr=LR)
    tx, tt = torch.from_numpy(x), torch.from_numpy(t)

    def epoch(order: list[np.ndarray]) -> None:
        for index in order:
            i = torch.from_numpy(index)
            E = 0.5 * ((tt[i] - model(tx[i])) ** 2).sum()
            sgd.zero_grad()
            E.backward()
            sgd.step()

    return epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()

    problem = load_problem(TrainConfig())
    x = problem.x_train
    t = np.eye(problem.classes, dtype=np.float32)[problem.y_train]
    rng = np.random.default_rng(0)
    W1 = rng.uniform(-0.125, 0.125, (HIDDEN, x.shape[1])).astype(np.float32)
    W2 = rng.uniform(-0.125, 0.125, (t.shape[1], HIDDEN)).astype(np.float32)
    runners = {"gradgate": gradgate_epoch(x, t, W1, W2), "pytorch": torch_epoch(x, t, W1, W2)}
    times: dict[str, list[float]] = {name: [] for name, run in runners.items() if run}
    for _ in range(args.epochs):
        order = batches(len(x), rng)
        for name in times:
            start = time.perf_counter()
            runners[name](order)  # type: ignore[misc]
            times[name].append(time.perf_counter() - start)

    print(f"digits, {len(x)} examples, batch {BATCH}: {len(batches(len(x), rng))} steps/epoch")
    median = {name: statistics.median(values) for name, values in times.items()}
    for name, seconds in median.items():
        print(f"  {name:<9} {seconds * 1e3:8.2f} ms/epoch  {1 / seconds:7.1f} epochs/s")
    if "pytorch" in median:
        print(f"  ratio gradgate / pytorch: {median['gradgate'] / median['pytorch']:.2f}")
    else:
        print("  (PyTorch is not installed: no ratio)")
    seconds = {}
    for capture in (False, True, False, True):
        result = fit(TrainConfig(epochs=args.epochs, out=None), progress="none", capture=capture)
        seconds[capture] = min(seconds.get(capture, float("inf")), result.seconds)
    for capture in (False, True):
        print(
            f"  fit(capture={capture}): {args.epochs / seconds[capture]:.1f} epochs/s with the "
            f"test set scored each epoch; test accuracy {result.test.accuracy:.2%}"
        )
    print(f"  fit: eager / captured {seconds[False] / seconds[True]:.2f}")
    walls: dict[bool, float] = {}
    with tempfile.TemporaryDirectory() as out:
        # as an installed package runs: its bytecode compiled once and cached (into a
        # folder of its own, even where PYTHONDONTWRITEBYTECODE is set), not compiled anew
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = os.path.join(out, "pycache")
        command = [sys.executable, "-m", "gradgate", "train", "--quiet", "--out", out]
        subprocess.run(command, check=True, capture_output=True, env=env)
        for _ in range(3):
            for capture in (False, True):
                start = time.perf_counter()
                flag = "--capture" if capture else "--no-capture"
                subprocess.run([*command, flag], check=True, capture_output=True, env=env)
                wall = time.perf_counter() - start
                walls[capture] = min(walls.get(capture, float("inf")), wall)
    print(
        f"  gradgate train: {walls[False]:.2f} s, with --capture {walls[True]:.2f} s "
        f"(eager / captured {walls[False] / walls[True]:.2f})"
    )


if __name__ == "__main__":
    main()
