"""The ranks of a job: who we are, how many we are, and collectives that cannot hang.

Started by ``mpiexec -n N`` (or another MPI launcher), each process is one *rank* of a
*world* of N; started plainly, it is the only rank of a world of one, and MPI is never
touched. Collectives run on mpi4py buffers: NumPy arrays, and CuPy arrays, which go to MPI
as they are when ``GRADGATE_CUDA_AWARE_MPI=1`` says the MPI reads GPU memory, and through
the host otherwise.

Never a hang: every collective here is started non-blocking and waited for with a deadline
(``timeout`` seconds, default 300, or ``GRADGATE_DISTRIBUTED_TIMEOUT``); a rank left
waiting raises DistributedTimeout. A rank whose exception is not caught prints it, says
which rank it was, and aborts the job, so the others stop at once instead of waiting in
their next collective.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import numpy as np

INSTALL_HINT = 'pip install "gradgate[mpi]"'
DEFAULT_TIMEOUT = 300.0
TIMEOUT_VARIABLE = "GRADGATE_DISTRIBUTED_TIMEOUT"
CUDA_AWARE_VARIABLE = "GRADGATE_CUDA_AWARE_MPI"
# How long ranks that fail together wait for each other before aborting the job instead.
FAILURE_GRACE = 5.0
# An aborting rank waits this long first, so that its last words reach the terminal.
ABORT_DELAY = 0.5
# A collective is polled without pause this long (as MPI's blocking calls do), then with
# short sleeps, so that ranks sharing cores with a slow one leave it the CPU.
SPIN_SECONDS = 0.01
# Set by MPI launchers in every process they start: MPICH's and Intel's Hydra, Open MPI,
# MVAPICH, PMIx (Slurm's srun --mpi=pmix). A world size first, then a rank alone.
LAUNCHER_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
LAUNCHER_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")


class DistributedError(RuntimeError):
    """Something about the ranks themselves: MPI missing, ranks that disagree."""


class DistributedTimeout(DistributedError):
    """A rank waited longer than the world's timeout for the others."""


class World:
    """This process's place among the ranks of the job, and the collectives between them.

    ``rank`` counts from 0; rank 0 is the *root*, the one that prints and writes files.
    For one process (``size == 1``) every collective returns its input at once.
    """

    def __init__(self, rank: int, size: int, comm: Any = None, timeout: float = DEFAULT_TIMEOUT):
        self.rank = rank
        self.size = size
        self.timeout = timeout
        # CuPy buffers go to MPI as they are only when the MPI says it can read GPU memory
        self.cuda_aware = os.environ.get(CUDA_AWARE_VARIABLE, "") == "1"
        self._mpi: Any = None
        self._data: Any = None  # the gradients', parameters' and statistics' collectives
        self._control: Any = None  # agreeing to stop: apart, so it never meets a data one
        if comm is not None:
            from mpi4py import MPI

            self._mpi = MPI
            self._data = comm.Dup()
            self._control = comm.Dup()

    def __repr__(self) -> str:
        return f"World(rank={self.rank}, size={self.size})"

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    # --- collectives --------------------------------------------------------------------

    def allreduce(self, buffer: Any, what: str = "allreduce") -> Any:
        """Sum ``buffer`` (a contiguous array) over the ranks, in place; returns it."""
        if self.size == 1:
            return buffer
        if not self._passes_directly(buffer):
            host = buffer.get()
            buffer.set(self.allreduce(host, what))
            return buffer
        request = self._data.Iallreduce(self._mpi.IN_PLACE, buffer, op=self._mpi.SUM)
        self._wait(request, what)
        return buffer

    def broadcast(self, buffer: Any, root: int = 0, what: str = "broadcast") -> Any:
        """Overwrite ``buffer`` on every rank with rank ``root``'s, in place; returns it."""
        if self.size == 1:
            return buffer
        if not self._passes_directly(buffer):
            host = buffer.get()
            buffer.set(self.broadcast(host, root, what))
            return buffer
        self._wait(self._data.Ibcast(buffer, root=root), what)
        return buffer

    def allgather_json(self, value: Any, what: str = "allgather") -> list[Any]:
        """Every rank's ``value`` (JSON data), in rank order, on every rank."""
        if self.size == 1:
            return [value]
        text = np.frombuffer(json.dumps(value).encode(), dtype=np.uint8)
        lengths = np.zeros(self.size, dtype=np.int64)
        self._wait(self._data.Iallgather(np.array([len(text)], dtype=np.int64), lengths), what)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        joined = np.zeros(int(lengths.sum()), dtype=np.uint8)
        byte = self._mpi.BYTE
        self._wait(self._data.Iallgatherv([text, byte], [joined, lengths, offsets, byte]), what)
        return [
            json.loads(joined[o : o + n].tobytes()) for o, n in zip(offsets, lengths, strict=True)
        ]

    def _passes_directly(self, buffer: Any) -> bool:
        """True for NumPy buffers, and for CuPy ones when the MPI reads GPU memory (after
        the GPU has finished writing them); a CuPy buffer otherwise goes through the host."""
        if isinstance(buffer, np.ndarray):
            return True
        if not self.cuda_aware:
            return False
        import cupy

        cupy.cuda.get_current_stream().synchronize()
        return True

    def _wait(self, request: Any, what: str) -> None:
        """Wait for ``request``; DistributedTimeout once the world's timeout has passed."""
        start = time.monotonic()
        polls = 0
        while not request.Test():
            polls += 1
            if polls % 64:  # the clock is read now and then, not between every two polls
                continue
            waited = time.monotonic() - start
            if waited > SPIN_SECONDS:  # a rank that lags this much: let other processes run
                time.sleep(0.0002)
            if waited > self.timeout:
                raise DistributedTimeout(
                    f"rank {self.rank} of {self.size} waited more than {self.timeout:g} s for "
                    f"the other ranks in {what}: one of them failed, is stuck, or runs "
                    "different code"
                )

    # --- ending -------------------------------------------------------------------------

    def agree_to_stop(self, grace: float = FAILURE_GRACE) -> bool:
        """True when every rank calls this within ``grace`` seconds of the first."""
        if self.size == 1:
            return True
        request = self._control.Ibarrier()
        deadline = time.monotonic() + grace
        while not request.Test():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        return True

    def abort(self, status: int = 1) -> None:
        """End every rank of the job now, with exit status ``status``."""
        if self.size == 1:
            raise SystemExit(status)
        sys.stdout.flush()
        sys.stderr.flush()
        time.sleep(ABORT_DELAY)  # the launcher forwards what was printed before it kills
        self._mpi.COMM_WORLD.Abort(status)


_world: World | None = None


def init(timeout: float | None = None) -> World:
    """The world this process belongs to, set up on the first call (later calls return it).

    Under an MPI launcher that imports mpi4py and initialises MPI; otherwise the world is
    this process alone and MPI is not needed. ``timeout`` (seconds) bounds every wait for
    the other ranks (default: ``GRADGATE_DISTRIBUTED_TIMEOUT``, else 300).
    """
    global _world
    if _world is not None:
        if timeout is not None:
            _world.timeout = float(timeout)
        return _world
    if timeout is None:
        timeout = float(os.environ.get(TIMEOUT_VARIABLE, DEFAULT_TIMEOUT))
    size = launcher_size()
    if size is None or size == 1:
        _world = World(0, 1, timeout=timeout)
        return _world
    try:
        from mpi4py import MPI
    except ImportError:
        count = size if any(os.environ.get(n) for n in LAUNCHER_SIZE_VARIABLES) else "several"
        raise DistributedError(
            f"this process is one of {count} ranks started by an MPI launcher, but mpi4py is "
            f"not installed: {INSTALL_HINT}"
        ) from None
    comm = MPI.COMM_WORLD
    _world = World(comm.Get_rank(), comm.Get_size(), comm, timeout=timeout)
    if _world.size > 1:
        _abort_on_uncaught_exceptions(_world)
    return _world


def current() -> World:
    """The world of this process: :func:`init`'s, set up on first use."""
    return _world if _world is not None else init()


def launcher_size() -> int | None:
    """The number of ranks an MPI launcher started, from its environment; None without one
    (a launcher that tells only the rank counts as 2 or more: MPI will say)."""
    for name in LAUNCHER_SIZE_VARIABLES:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    if any(os.environ.get(name) for name in LAUNCHER_RANK_VARIABLES):
        return 2
    return None


def finish(status: int) -> int:
    """The exit status of a command that ran on every rank.

    A failure the ranks share (the same bad option on all of them) ends normally; one that
    only some ranks met would leave the others waiting, so it aborts the job instead.
    """
    world = _world
    if status == 0 or world is None or world.size == 1:
        return status
    if not world.agree_to_stop():
        print(
            f"gradgate: rank {world.rank} of {world.size} failed alone (status {status}); "
            "stopping every rank",
            file=sys.stderr,
            flush=True,
        )
        world.abort(status)
    return status


def _abort_on_uncaught_exceptions(world: World) -> None:
    """Make an exception no one catches end the whole job, not just this rank (the others
    would wait for it in their next collective)."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, traceback: Any) -> None:
        previous(kind, error, traceback)
        print(
            f"gradgate: rank {world.rank} of {world.size} stopped with {kind.__name__}: "
            f"{error}; stopping every rank",
            file=sys.stderr,
            flush=True,
        )
        world.abort(130 if issubclass(kind, KeyboardInterrupt) else 1)

    sys.excepthook = hook
