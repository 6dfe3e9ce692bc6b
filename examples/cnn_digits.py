"""A convolutional network on the built-in 8×8 digits, in the shape of pytorch/examples'
MNIST program: a ``Net``, ``train`` and ``test`` functions, and command-line settings.

    python examples/cnn_digits.py                # 30 epochs, seed 0
    python examples/cnn_digits.py --epochs 1 --seed 3

The 1,797 digits are split 70/30 (stratified, by ``--seed``), each pixel standardised with
the training part's statistics; Adam (lr 1e-3, cosine-annealed to 0 over the epochs) on
batches of 32 minimises cross-entropy with label smoothing 0.1: the recipe of
``gradgate train --model cnn``.

Result, 30 epochs, test accuracy on the 540 held-out digits after the last epoch
(seeds 0–4; single-threaded BLAS, about 0.7 s an epoch):

    seed 0: 99.44 %   seed 1: 99.26 %   seed 2: 99.44 %   seed 3: 99.63 %   seed 4: 99.63 %

99.48 % on average, 99.26 % at worst (4 errors of 540). Without label smoothing
(``--label-smoothing 0``) the same seeds give 99.26, 98.89, 98.33, 99.26 and 99.26 %.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import gradgate as gg
from gradgate import nn, optim
from gradgate.data import DataLoader, Standardizer, TensorDataset, train_test_split


class Net(nn.Module):
    """conv 3×3 → ReLU → conv 3×3 → ReLU → max-pool 2×2 → linear → ReLU → dropout → linear:
    ``gg.nn.digits_cnn()``, the recipe ``gradgate train --model cnn`` uses."""

    def __init__(self, generator: np.random.Generator) -> None:
        super().__init__()
        self.layers = nn.digits_cnn(generator=generator)

    def forward(self, x: gg.Tensor) -> gg.Tensor:
        return self.layers(x)  # (N, 10) logits


def train(
    model: Net,
    loader: DataLoader,
    optimizer: optim.Optimizer,
    epoch: int,
    log_every: int,
    label_smoothing: float,
) -> float:
    model.train()
    total, seen = 0.0, 0
    for batch, (x, y) in enumerate(loader):
        optimizer.zero_grad()
        loss = gg.cross_entropy(model(x), y, label_smoothing=label_smoothing)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        seen += len(y)
        if log_every and batch % log_every == 0:
            print(f"Train Epoch: {epoch} [{seen}/{len(loader.dataset)}]\tLoss: {loss.item():.6f}")
    return total / seen


def test(model: Net, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with gg.no_grad():
        logits = model(gg.tensor(x))
        loss = gg.cross_entropy(logits, y).item()
    correct = int((logits.numpy().argmax(axis=1) == y).sum())
    accuracy = 100.0 * correct / len(y)
    print(f"Test set: Average loss: {loss:.4f}, Accuracy: {correct}/{len(y)} ({accuracy:.2f}%)")
    return accuracy


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description="gradgate CNN on the 8x8 digits")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--limit", type=int, default=None, help="use only this many training digits (a quick run)"
    )
    parser.add_argument(
        "--log-interval", type=int, default=0, help="batches between progress lines (0: none)"
    )
    args = parser.parse_args(argv)

    gg.manual_seed(args.seed)
    x, y = gg.data.digits()
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.3, seed=args.seed, stratify=True
    )
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    scale = Standardizer().fit(x_train)
    x_train = scale.transform(x_train).astype(np.float32)
    x_test = scale.transform(x_test).astype(np.float32)

    model = Net(np.random.default_rng(args.seed))
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, args.epochs)
    loader = DataLoader(
        TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True, seed=args.seed
    )
    accuracy = 0.0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        loss = train(model, loader, optimizer, epoch, args.log_interval, args.label_smoothing)
        print(f"Epoch {epoch}: train loss {loss:.4f} ({time.perf_counter() - start:.2f} s)")
        schedule.step()
        accuracy = test(model, x_test, y_test)
    return accuracy


if __name__ == "__main__":
    main()
