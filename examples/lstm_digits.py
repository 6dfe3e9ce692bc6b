"""An LSTM reads each 8×8 digit row by row (8 steps of 8 pixels) and classifies it from its
last hidden state: pytorch/examples' MNIST LSTM, on gradgate's built-in digits.

    python examples/lstm_digits.py [--epochs 20] [--seed 0]

Result (seed 0, 20 epochs of Adam at lr 0.005, hidden 64, a fixed 297 of the 1,797 digits
held out): 96.0 % test accuracy after the last epoch (97.0 % at best, epoch 19), in about
two minutes on a busy two-core machine.
"""

from __future__ import annotations

import argparse

import numpy as np

import gradgate as gg
from gradgate import nn


class RowReader(nn.Module):
    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.lstm = nn.LSTM(8, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 10)

    def forward(self, images):  # (N, 8, 8): 8 rows, read as a sequence
        _, (h_n, _) = self.lstm(images)
        return self.head(h_n[0])  # the last hidden state → 10 logits


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)
    gg.manual_seed(args.seed)
    x, y = gg.data.digits()
    images = (x / 16.0).astype(np.float32).reshape(-1, 8, 8)
    order = np.random.default_rng(1234).permutation(len(images))  # one fixed split
    train, test = order[:1500], order[1500:]
    train_x, train_y, test_x, test_y = images[train], y[train], images[test], y[test]
    model = RowReader()
    optimizer = gg.optim.Adam(model.parameters(), lr=0.005)
    rng = np.random.default_rng(args.seed)
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(train_x))
        total = 0.0
        for start in range(0, len(order), args.batch):
            batch = order[start : start + args.batch]
            loss = gg.cross_entropy(model(train_x[batch]), train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        model.eval()
        with gg.no_grad():
            predicted = model(test_x).numpy().argmax(axis=1)
        accuracy = float((predicted == test_y).mean())
        print(
            f"epoch {epoch + 1:3d}  loss {total / len(order):.4f}  test accuracy "
            f"{100 * accuracy:.1f} %"
        )
    return accuracy


if __name__ == "__main__":
    main()
