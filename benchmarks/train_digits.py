"""Epochs per second of the default ``gradgate train`` run against the same model in PyTorch.

    python benchmarks/train_digits.py [--epochs 20]

The model is the default run's: 64 standardised digit features → 64 sigmoid → 10 sigmoid,
SqErr (summed) against one-hot targets, plain SGD with lr 0.1, batches of 16, shuffled
each epoch. Both libraries train on the same batches, one epoch each in turn, in this one
process; the table gives the median epoch time and the ratio gradgate / PyTorch (below 1:
gradgate is faster). A last line times ``gradgate.training.fit`` itself, which also
scores the test set after every epoch.
"""

from __future__ import annotations

import argparse
import statistics
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
    result = fit(TrainConfig(epochs=args.epochs, out=None), progress="none")
    print(
        f"  fit(): {args.epochs / result.seconds:.1f} epochs/s with the test set scored "
        f"each epoch; test accuracy {result.test.accuracy:.2%}"
    )


if __name__ == "__main__":
    main()
