"""Scenarios the distributed tests run on several ranks: ``mpiexec -n 2 python run_ranks.py
SCENARIO OUT``. Rank 0 writes what the test checks into the directory OUT.

The data and models are built here too, so the tests compute the one-process reference
from the very same definitions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import gradgate as gg
from gradgate import distributed, nn, optim

STEPS = 50
BATCH = 32  # the whole batch; each of 2 ranks trains on half of it
FEATURES, HIDDEN, CLASSES = 12, 16, 5
CASES = [("sgd", "float32"), ("adam", "float32"), ("sgd", "float64"), ("adam", "float64")]
SMALL_BUCKET = 256  # bytes: forces several buckets for the float32 runs


def build_model(dtype: str, hidden: int = HIDDEN) -> nn.Module:
    generator = np.random.default_rng(1)
    return nn.Sequential(
        nn.Linear(FEATURES, hidden, dtype=dtype, generator=generator),
        nn.Tanh(),
        nn.Linear(hidden, CLASSES, dtype=dtype, generator=generator),
    )


def build_optimizer(name: str, model: nn.Module) -> optim.Optimizer:
    if name == "sgd":
        return optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return optim.Adam(model.parameters(), lr=0.01)


def batches(dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """STEPS batches of BATCH examples: inputs (steps, batch, features), labels (steps, batch)."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((STEPS, BATCH, FEATURES)).astype(dtype)
    y = rng.integers(0, CLASSES, (STEPS, BATCH))
    return x, y


def train(
    model: nn.Module, optimizer: optim.Optimizer, x: np.ndarray, y: np.ndarray, after_step=None
) -> None:
    """Cross-entropy (a mean over the batch), one optimiser step per batch."""
    loss_fn = nn.CrossEntropyLoss()
    for step in range(len(x)):
        optimizer.zero_grad()
        loss_fn(model(gg.tensor(x[step])), gg.tensor(y[step])).backward()
        if after_step is not None:
            after_step(step)
        optimizer.step()


def flat(model: nn.Module) -> np.ndarray:
    return np.concatenate([p.numpy().ravel() for p in model.parameters()]).astype(np.float64)


def equivalence(out: Path) -> None:
    """Train each case data-parallel; count the steps after which the ranks' weights differ;
    and check that differing models are refused, naming the parameter."""
    world = distributed.init()
    results: dict[str, object] = {}
    for optimizer_name, dtype in CASES:
        model = build_model(dtype)
        bucket = SMALL_BUCKET if dtype == "float32" else distributed.DEFAULT_BUCKET_BYTES
        ddp = distributed.DistributedDataParallel(model, bucket_bytes=bucket)
        optimizer = build_optimizer(optimizer_name, ddp)
        x, y = batches(dtype)
        half = BATCH // world.size
        mine = slice(world.rank * half, (world.rank + 1) * half)
        differing = 0
        for step in range(STEPS):
            optimizer.zero_grad()
            loss = nn.CrossEntropyLoss()(ddp(gg.tensor(x[step, mine])), gg.tensor(y[step, mine]))
            loss.backward()
            ddp.allreduce_gradients()
            optimizer.step()
            ours = flat(model)
            roots = world.broadcast(ours.copy())
            differs = np.array([0.0 if np.array_equal(ours, roots) else 1.0])
            differing += int(world.allreduce(differs)[0])
        key = f"{optimizer_name}-{dtype}"
        results[f"{key}-differing-steps"] = differing
        results[f"{key}-buckets"] = len(ddp.buckets)
        if world.is_root:
            np.save(out / f"{key}.npy", flat(model))
    try:
        distributed.DistributedDataParallel(build_model("float32", HIDDEN + world.rank))
        results["mismatch"] = None
    except distributed.DistributedError as error:
        results["mismatch"] = str(error)
    refused = np.array([1.0 if results["mismatch"] else 0.0])
    results["ranks-refusing"] = int(world.allreduce(refused)[0])
    if world.is_root:
        (out / "results.json").write_text(json.dumps(results))


def one_rank_fails(out: Path, how: str) -> None:
    """Rank 1 stops at step 3: by raising (``raise``), or by leaving quietly (``leave``);
    rank 0 trains on and waits for it in the gradient Allreduce."""
    world = distributed.init()
    model = distributed.DistributedDataParallel(build_model("float32"))
    optimizer = build_optimizer("sgd", model)
    x, y = batches("float32")

    def after_step(step: int) -> None:
        if world.rank == 1 and step == 3:
            if how == "raise":
                raise ValueError("rank one cannot go on")
            sys.exit(0)
        model.allreduce_gradients()

    train(model, optimizer, x, y, after_step)
    (out / f"finished-{world.rank}").write_text("rank 0 should not get here")


def command_fails_on_one_rank(out: Path) -> int:
    """``gradgate train`` where rank 1 alone is given a data file that is not there."""
    from gradgate import cli

    data = "digits" if distributed.init().rank == 0 else str(out / "missing.csv")
    return cli.main(
        ["train", "--quiet", "--epochs", "1", "--data", data, "--out", str(out / "run")]
    )


if __name__ == "__main__":
    scenario, directory = sys.argv[1], Path(sys.argv[2])
    if scenario == "equivalence":
        equivalence(directory)
    elif scenario == "command":
        sys.exit(command_fails_on_one_rank(directory))
    else:
        one_rank_fails(directory, scenario)
