"""The world: one process without a launcher, a clear line when mpi4py is missing, and a
job that ends (with the failing rank's message) instead of hanging."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
from conftest import HERE, launch, needs_mpi

from gradgate import cli, distributed
from gradgate.distributed import comm


def test_without_a_launcher_the_world_is_this_process_alone(single_world):
    assert (single_world.rank, single_world.size, single_world.is_root) == (0, 1, True)
    assert distributed.current() is single_world
    values = np.arange(3.0)
    assert single_world.allreduce(values) is values and values.tolist() == [0, 1, 2]
    assert single_world.allgather_json({"a": [1]}) == [{"a": [1]}]
    assert distributed.finish(2) == 2


@pytest.mark.parametrize(
    ("variables", "size"),
    [
        ({}, None),
        ({"PMI_SIZE": "4", "PMI_RANK": "1"}, 4),
        ({"OMPI_COMM_WORLD_SIZE": "3"}, 3),
        ({"PMIX_RANK": "0"}, 2),  # a rank without a size: several, MPI will say how many
    ],
)
def test_the_launchers_environment_tells_the_world_size(monkeypatch, variables, size):
    for name in (*comm.LAUNCHER_SIZE_VARIABLES, *comm.LAUNCHER_RANK_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert comm.launcher_size() == size


def test_under_mpiexec_without_mpi4py_the_command_says_how_to_install_it(
    single_world, monkeypatch, capsys, tmp_path
):
    monkeypatch.setattr(comm, "_world", None)
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py fails
    status = cli.main(["train", "--epochs", "1", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1
    assert err == (
        "gradgate train: this process is one of 2 ranks started by an MPI launcher,"
        ' but mpi4py is not installed: pip install "gradgate[mpi]"\n'
    )


@needs_mpi
def test_a_rank_that_raises_ends_the_job_with_its_message(tmp_path):
    started = time.monotonic()
    done = launch(2, str(HERE / "run_ranks.py"), "raise", str(tmp_path), timeout=60)
    assert done.returncode != 0
    assert time.monotonic() - started < 30  # not the collectives' timeout: at once
    assert "ValueError: rank one cannot go on" in done.stderr
    assert (
        "gradgate: rank 1 of 2 stopped with ValueError: rank one cannot go on; stopping "
        "every rank" in done.stderr
    )
    assert not list(tmp_path.iterdir())  # rank 0 did not train on alone


@needs_mpi
def test_a_rank_left_waiting_gives_up_after_the_timeout(tmp_path):
    done = launch(
        2,
        str(HERE / "run_ranks.py"),
        "leave",
        str(tmp_path),
        timeout=60,
        GRADGATE_DISTRIBUTED_TIMEOUT="2",
    )
    assert done.returncode != 0
    assert (
        "DistributedTimeout: rank 0 of 2 waited more than 2 s for the other ranks in "
        "gradient bucket 1 of 1"
    ) in done.stderr
    assert not list(tmp_path.iterdir())


@needs_mpi
def test_a_command_failing_on_one_rank_alone_ends_the_job_with_its_message(tmp_path):
    started = time.monotonic()
    done = launch(2, str(HERE / "run_ranks.py"), "command", str(tmp_path), timeout=60)
    assert done.returncode == 2
    assert time.monotonic() - started < 30  # the grace of a few seconds, not the timeout
    assert "gradgate train: error: CSV file not found: " in done.stderr
    assert "gradgate: rank 1 of 2 failed alone (status 2); stopping every rank" in done.stderr


@needs_mpi
def test_a_command_failing_alike_on_every_rank_ends_normally(tmp_path):
    done = launch(2, "-m", "gradgate", "train", "--lr", "-1", cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    # each rank says it (their lines may interleave), and nothing is aborted
    assert done.stderr.count("gradgate train: error: lr must be a positive number") == 2
    assert "stopping every rank" not in done.stderr
