"""Launching scripts on several ranks with mpiexec, for the tests that need MPI.

The scripts import gradgate from this checkout (PYTHONPATH is set from the repository), run
one BLAS thread per rank, and are killed after a timeout, so a hang fails a test instead of
stalling the suite. Without mpi4py or mpiexec those tests skip, saying which is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[1] / "src"
LAUNCH_TIMEOUT = 120  # seconds for one mpiexec run, start-up included


def find_mpiexec() -> str | None:
    """The mpiexec beside this Python (pip's mpich puts it there), else the one on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def rank_environment(**extra: str) -> dict[str, str]:
    """This environment, importing gradgate from this checkout, one BLAS thread per rank,
    and Open MPI allowed to run as root and to put more ranks than cores on this host."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE), env.get("PYTHONPATH")]))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        PRTE_MCA_rmaps_default_mapping_policy=":oversubscribe",
    )
    env.update(extra)
    return env


def launch(
    ranks: int,
    *command: str,
    timeout: float = LAUNCH_TIMEOUT,
    cwd: Path | None = None,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """``mpiexec -n ranks python command...``; a run past ``timeout`` fails the test."""
    mpiexec = find_mpiexec()
    assert mpiexec is not None
    try:
        return subprocess.run(
            [mpiexec, "-n", str(ranks), sys.executable, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=rank_environment(**env),
            cwd=cwd,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(
            f"mpiexec -n {ranks} {' '.join(command)} still ran after {timeout} s:\n"
            f"{error.stdout}\n{error.stderr}"
        )


def _missing() -> str | None:
    if importlib.util.find_spec("mpi4py") is None:
        return 'mpi4py is not installed (pip install "gradgate[mpi]")'
    if find_mpiexec() is None:
        return "no mpiexec beside this Python or on PATH"
    return None


needs_mpi = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


@pytest.fixture
def single_world(monkeypatch):
    """This process as a world of one, whatever launched pytest, restored afterwards."""
    from gradgate.distributed import comm

    for name in (*comm.LAUNCHER_SIZE_VARIABLES, *comm.LAUNCHER_RANK_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(comm, "_world", None)
    return comm.init()
