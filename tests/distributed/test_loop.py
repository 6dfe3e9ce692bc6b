"""fit() and ``gradgate train`` under mpiexec: the accuracy of one process, files written
once by rank 0, checkpoints that resume on any number of ranks, Ctrl-C stopping every rank
after the same step."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import numpy as np
from conftest import find_mpiexec, launch, needs_mpi, rank_environment

from gradgate import distributed
from gradgate.training import TrainConfig, fit, read_checkpoint

SMALL = {"hidden": (16,), "out": None}


def train_on_ranks(ranks, tmp_path, *options, **launch_options):
    return launch(
        ranks, "-m", "gradgate", "train", "--quiet", *options, cwd=tmp_path, **launch_options
    )


def printed_test_accuracy(out: str) -> float:
    return float(re.search(r"test\s+loss \S+\s+accuracy\s+([\d.]+)%", out).group(1))


def weights(checkpoint) -> dict[str, np.ndarray]:
    return {name: np.asarray(value.data) for name, value in checkpoint["model"].items()}


def assert_same_weights(ours, theirs, tolerance=1e-5):
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert np.abs(ours[name] - theirs[name]).max() <= tolerance, name


@needs_mpi
def test_the_default_run_on_two_ranks_reaches_one_process_accuracy_and_writes_once(tmp_path):
    alone = fit(TrainConfig(out=None), progress="none").test.accuracy
    done = train_on_ranks(2, tmp_path, "--out", "run")
    assert done.returncode == 0, done.stderr
    assert abs(printed_test_accuracy(done.stdout) - 100 * alone) <= 1.0
    assert done.stdout.count("confusion matrix") == 1  # rank 0 alone prints
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "checkpoint.ckpt",
        "metrics.csv",
        "metrics.svg",
    ]
    saved = read_checkpoint(tmp_path / "run")
    assert (saved["position"]["epoch"], len(saved["history"]["epoch"])) == (60, 60)


@needs_mpi
def test_a_checkpoint_of_two_ranks_resumes_on_one_and_one_of_one_on_two(tmp_path):
    straight = fit(TrainConfig(epochs=6, **SMALL), progress="none")
    done = train_on_ranks(2, tmp_path, "--hidden", "16", "--epochs", "3", "--out", "two")
    assert done.returncode == 0, done.stderr
    resumed = fit(
        TrainConfig(epochs=6, hidden=(16,), out=str(tmp_path / "one")),
        resume=tmp_path / "two",
        progress="none",
    )
    expected = {name: p.numpy() for name, p in straight.model.named_parameters()}
    assert_same_weights(weights(read_checkpoint(tmp_path / "one")), expected)
    assert np.allclose(resumed.history["train_loss"], straight.history["train_loss"])

    fit(TrainConfig(epochs=3, hidden=(16,), out=str(tmp_path / "first")), progress="none")
    done = train_on_ranks(2, tmp_path, "--resume", "first", "--epochs", "6", "--out", "then")
    assert done.returncode == 0, done.stderr
    assert_same_weights(weights(read_checkpoint(tmp_path / "then")), expected)


@needs_mpi
def test_three_ranks_on_uneven_and_empty_shares_take_one_process_steps(tmp_path):
    """Batches of 4 on 3 ranks are shared 2, 1, 1; the last one (105 = 26·4 + 1) 1, 0, 0."""
    options = {
        "data": "iris",
        "batch_size": 4,
        "loss": "cross_entropy",
        "epochs": 3,
        "hidden": (8,),
    }
    alone = fit(TrainConfig(**options, out=None), progress="none")
    done = train_on_ranks(
        3,
        tmp_path,
        "--data",
        "iris",
        "--batch-size",
        "4",
        "--loss",
        "cross_entropy",
        "--epochs",
        "3",
        "--hidden",
        "8",
        "--out",
        "three",
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warnings from the ranks left without examples
    saved = read_checkpoint(tmp_path / "three")
    assert_same_weights(weights(saved), {n: p.numpy() for n, p in alone.model.named_parameters()})
    assert np.allclose(saved["history"]["train_loss"], alone.history["train_loss"])
    assert saved["history"]["train_accuracy"] == alone.history["train_accuracy"]


@needs_mpi
def test_ctrl_c_stops_every_rank_after_the_same_step_with_one_checkpoint(tmp_path):
    command = [
        find_mpiexec(),
        "-n",
        "2",
        sys.executable,
        "-m",
        "gradgate",
        "train",
        "--quiet",
        "--hidden",
        "16",
        "--epochs",
        "100000",
        "--out",
        "run",
    ]
    job = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=rank_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "run" / "metrics.csv").exists():  # an epoch is done
            assert job.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        job.send_signal(signal.SIGINT)  # mpiexec passes it on to every rank
        _, err = job.communicate(timeout=60)
    finally:
        if job.poll() is None:
            job.kill()
            job.communicate()
    assert job.returncode == 130, err
    assert err.count("resume with: gradgate train --resume") == 1, err
    saved = read_checkpoint(tmp_path / "run")
    epochs = saved["position"]["epoch"] + 1
    resumed = fit(TrainConfig(epochs=epochs, **SMALL), resume=tmp_path / "run", progress="none")
    straight = fit(TrainConfig(epochs=epochs, **SMALL), progress="none")
    assert_same_weights(
        {n: p.numpy() for n, p in resumed.model.named_parameters()},
        {n: p.numpy() for n, p in straight.model.named_parameters()},
    )


# --- on one rank: nothing is sent, nothing changes -------------------------------------


def test_alone_the_loop_hooks_hand_back_what_they_are_given(single_world):
    from gradgate import nn

    hooks = distributed.DataParallelLoop(nn.Linear(2, 2), single_world, summed_loss=False)
    x, t = np.zeros((5, 2)), np.ones(5)
    shared = hooks.share(x, t)
    assert shared[0] is x and shared[1] is t
    totals = hooks.totals(0.1, 3)
    assert (totals.loss, totals.loss_sum, totals.correct, totals.examples) == (0.1, 0.1 * 5, 3, 5)
    assert hooks.ddp is None and hooks.stopping(True) and not hooks.stopping(False)


def test_only_rank_0_writes_files(single_world):
    config = TrainConfig(out="somewhere")
    assert distributed.for_this_rank(config, single_world) is config
    other = distributed.World(1, 2)
    assert distributed.for_this_rank(config, other).out is None
