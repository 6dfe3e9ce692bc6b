"""Data-parallel training over MPI: what the gradient Allreduce costs, and what that means
for N hosts.

    python benchmarks/distributed.py [--repeat 25] [--mpiexec "mpiexec -f hosts -ppn 1"]
                                     [--network 25,1.2]

One run launches this script on 1 rank and on 2 ranks (``--mpiexec``, default the mpiexec
beside this Python, with one BLAS thread per rank) and prints, from the times they measure:

1. for the lecture's network (sigmoid hidden and output layers, no biases, SqErr, SGD) at
   784-256-10 and 1024-1024-1024 with a global batch of 128 and 512: the step on one rank,
   and on two ranks the compute, the gradient Allreduce and its share of the step, and
   examples per second on both;
2. the gradient Allreduce against the bucket size, one call per parameter to one bucket
   (also for a 16-layer network of 34 small parameters, where calls are many);
3. the latency α and bandwidth β of Allreduce on these ranks (a least-squares fit of
   t = α + bytes/β over 8 B to 16 MiB), and a model of N ranks: the step's compute as
   one rank measures alone (t0 + b·t_example, from batches B and B/2), plus a ring
   Allreduce, 2(N−1)·α + 2(N−1)/N · bytes/β.

Times are medians of ``--repeat`` steps. On one host the ranks share its memory and α, β are
shared-memory figures; launched across hosts (``--mpiexec`` with a hostfile) they are the
network's, which is what the model for many hosts needs. ``--network`` adds the model for
a latency and bandwidth you give (not measured).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

NETS = {  # name: (sizes, global batch, bias)
    "784-256-10": ([784, 256, 10], 128, False),
    "1024-1024-1024": ([1024, 1024, 1024], 512, False),
    "16 x 64-wide": ([64] * 17 + [10], 128, True),
}
LECTURE_NETS = ("784-256-10", "1024-1024-1024")
BUCKETS = {"per parameter": 1, "64 KiB": 2**16, "1 MiB": 2**20, "25 MiB": 25 * 2**20}
PROBE_BYTES = [8, 2**10, 2**14, 2**16, 2**18, 2**20, 2**22, 2**24]
MODEL_RANKS = [1, 2, 4, 8, 16, 32, 64]
LR = 0.01


# --- on each rank ------------------------------------------------------------------------


def median_time(world, action, repeat: int) -> float:
    """The median seconds of ``action()``, the ranks starting each repetition together."""
    action()  # warm up
    times = []
    for _ in range(repeat):
        world.allreduce(np.zeros(1))
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_net(world, sizes: list[int], batch: int, bias: bool, repeat: int) -> dict:
    import gradgate as gg
    from gradgate import distributed, nn, optim

    rng = np.random.default_rng(world.rank)
    local = batch // world.size
    x = gg.tensor(rng.standard_normal((local, sizes[0])).astype(np.float32))
    t = gg.tensor(rng.random((local, sizes[-1])).astype(np.float32))
    net = nn.MLP(sizes, "sigmoid", "sigmoid", bias=bias, generator=np.random.default_rng(0))
    model = distributed.DistributedDataParallel(net)
    sgd, loss = optim.SGD(net.parameters(), lr=LR), nn.SqErr()

    def compute() -> None:
        sgd.zero_grad()
        loss(net(x), t).backward()
        sgd.step()

    def step() -> None:
        sgd.zero_grad()
        loss(net(x), t).backward()
        model.allreduce_gradients()
        sgd.step()

    loss(net(x), t).backward()  # gradients for the Allreduce timings
    result = {
        "local_batch": local,
        "gradient_bytes": sum(p.size * p.dtype.itemsize for p in net.parameters()),
        "parameters": len(list(net.parameters())),
        "compute": median_time(world, compute, repeat),
        "step": median_time(world, step, repeat),
        "allreduce": median_time(world, model.allreduce_gradients, repeat),
        "buckets": {},
    }
    if world.size == 1:  # the compute of half a batch, with the host to itself
        x.data = x.data[: local // 2]
        t.data = t.data[: local // 2]
        result["compute_half"] = median_time(world, compute, repeat)
    else:
        for name, size in BUCKETS.items():
            bucketed = distributed.DistributedDataParallel(net, bucket_bytes=size, broadcast=False)
            result["buckets"][name] = [
                len(bucketed.buckets),
                median_time(world, bucketed.allreduce_gradients, repeat),
            ]
    return result


def measure_allreduce(world, repeat: int) -> dict[int, float]:
    times = {}
    for nbytes in PROBE_BYTES:
        buffer = np.ones(max(nbytes // 4, 1), dtype=np.float32)
        times[nbytes] = median_time(world, lambda b=buffer: world.allreduce(b), 3 * repeat)
    return times


def worker(repeat: int) -> None:
    from gradgate import distributed

    world = distributed.init()
    nets = {
        name: measure_net(world, sizes, batch, bias, repeat)
        for name, (sizes, batch, bias) in NETS.items()
    }
    results: dict[str, object] = {"ranks": world.size, "nets": nets}
    if world.size > 1:
        results["allreduce"] = measure_allreduce(world, repeat)
    if world.is_root:
        print(json.dumps(results))


# --- the report --------------------------------------------------------------------------


def launch(command: list[str], ranks: int, repeat: int) -> dict:
    env = dict(os.environ)
    source = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    done = subprocess.run(
        [*command, "-n", str(ranks), sys.executable, __file__, "--worker", "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    if done.returncode != 0:
        sys.exit(f"{ranks} ranks failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fit_latency_bandwidth(times: dict[str, float]) -> tuple[float, float]:
    """α (s) and β (bytes/s) of the ring model's 2 ranks, t = 2α + bytes/β, least squares
    on relative errors."""
    nbytes = np.array([float(b) for b in times])
    seconds = np.array(list(times.values()))
    slope, intercept = np.polyfit(nbytes, seconds, 1, w=1 / seconds)
    return max(intercept, 0.0) / 2, 1 / slope


def report(one: dict, two: dict, network: list[tuple[float, float]]) -> None:
    print("1. The lecture's network: one rank on the whole batch, two ranks on half each")
    print(
        f"{'net':<16}{'batch':>6}{'1 rank ms':>11}{'2: compute':>12}{'allreduce':>11}"
        f"{'share':>7}{'step ms':>9}{'ex/s 1':>9}{'ex/s 2':>9}{'speed-up':>10}"
    )
    for name in LECTURE_NETS:
        a, b = one["nets"][name], two["nets"][name]
        batch = a["local_batch"]
        print(
            f"{name:<16}{batch:>6}{1e3 * a['step']:>11.2f}{1e3 * b['compute']:>12.2f}"
            f"{1e3 * b['allreduce']:>11.2f}{b['allreduce'] / b['step']:>7.0%}"
            f"{1e3 * b['step']:>9.2f}{batch / a['step']:>9,.0f}{batch / b['step']:>9,.0f}"
            f"{a['step'] / b['step']:>10.2f}"
        )
    print()
    print("2. Gradient Allreduce on 2 ranks against the bucket size: ms (buckets)")
    print(f"{'net':<16}{'MiB':>7}" + "".join(f"{name:>17}" for name in BUCKETS))
    for name, b in two["nets"].items():
        cells = "".join(f"{1e3 * t:>12.3f} ({n:>2})" for n, t in b["buckets"].values())
        print(f"{name:<16}{b['gradient_bytes'] / 2**20:>7.2f}{cells}")
    print()
    alpha, beta = fit_latency_bandwidth(two["allreduce"])
    probes = ", ".join(f"{int(k):,} B {1e6 * v:.0f} µs" for k, v in two["allreduce"].items())
    print(f"3. Allreduce on 2 ranks: {probes}")
    print(f"   fit of t = 2α + bytes/β: α = {1e6 * alpha:.1f} µs, β = {beta / 1e9:.2f} GB/s")
    print(
        "   N ranks, one per host, the global batch B fixed: compute t0 + (B/N)·t_example "
        "(from one rank at B and B/2) + ring Allreduce 2(N-1)·α + 2(N-1)/N · bytes/β"
    )
    model_table(one, alpha, beta, "the measured α and β")
    for alpha_us, beta_gbs in network:
        model_table(
            one,
            alpha_us * 1e-6,
            beta_gbs * 1e9,
            f"an assumed network, α = {alpha_us:g} µs, β = {beta_gbs:g} GB/s",
        )
    for name in LECTURE_NETS:
        a, b = one["nets"][name], two["nets"][name]
        print(
            f"   {name}: one rank computes half the batch in {1e3 * a['compute_half']:.2f} ms "
            f"alone, {1e3 * b['compute']:.2f} ms beside a second rank on this host"
        )


def model_table(one: dict, alpha: float, beta: float, what: str) -> None:
    print(f"   with {what} (each cell: the modelled step, its speed-up over one rank)")
    print(f"{'net':<16}" + "".join(f"{'N=' + str(n):>15}" for n in MODEL_RANKS))
    for name in LECTURE_NETS:
        a = one["nets"][name]
        batch, nbytes = a["local_batch"], a["gradient_bytes"]
        per_example = (a["compute"] - a["compute_half"]) / (batch - batch // 2)
        t0 = max(a["compute"] - batch * per_example, 0.0)
        cells = []
        for n in MODEL_RANKS:
            communicate = 2 * (n - 1) * alpha + 2 * (n - 1) / n * nbytes / beta
            step = t0 + batch / n * per_example + communicate
            cells.append(f"{1e3 * step:>7.2f} ms {a['compute'] / step:>4.1f}x")
        print(f"{name:<16}" + "".join(f"{c:>15}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument(
        "--mpiexec",
        help="the launcher and its options (default: the mpiexec beside this Python, else on PATH)",
    )
    parser.add_argument(
        "--network",
        action="append",
        default=[],
        metavar="ALPHA_US,BETA_GBS",
        help="also model N hosts on a network of this latency (µs) and "
        "bandwidth (GB/s), e.g. 25,1.2 for 10 Gb Ethernet",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.repeat)
        return
    if args.mpiexec:
        command = shlex.split(args.mpiexec)
    else:
        beside = Path(sys.executable).parent / "mpiexec"
        command = [str(beside) if beside.exists() else "mpiexec"]
    started = time.perf_counter()
    one, two = launch(command, 1, args.repeat), launch(command, 2, args.repeat)
    network = [
        (float(alpha), float(beta)) for alpha, beta in (pair.split(",") for pair in args.network)
    ]
    report(one, two, network)
    print(f"\n(measured in {time.perf_counter() - started:.0f} s, one BLAS thread per rank)")


if __name__ == "__main__":
    main()
