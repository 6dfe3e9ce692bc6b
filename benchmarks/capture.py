"""A captured training step against eager gradgate, hand-written NumPy and PyTorch.

    python benchmarks/capture.py [--repeat 30]

The step is the one ``benchmarks/step.py`` times (the lecture's two-layer sigmoid network,
E = SqErr, w ← w − η dE/dw), written as users write it: ``x @ W.T`` with a hand-written
update under ``gg.no_grad()``, and ``nn.Linear`` with ``optim.SGD``. Each is timed eager and
captured (``gg.capture``), interleaved in one process with hand-written NumPy backprop.
Ratios below 1 mean the captured step is faster. Then the 200-gate chain, eager, replayed
and in PyTorch eager, in µs per gate; what capturing costs (the first call, in eager
steps: ``capture`` the first capture of that step in the process, ``again`` a later one,
whose tape's source is compiled already, as a step captured again finds it); and the
bytes each replay leaves held, once settled (tracemalloc; 0: none).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import step as S  # noqa: E402  (benchmarks/step.py: the same steps, the same NumPy baseline)

import gradgate as gg  # noqa: E402
from gradgate.replay import tape  # noqa: E402


def capture_cost(make, arrays, runs: int = 5) -> tuple[float, float]:
    """The first call of a captured step, in eager steps: the very first capture of this
    step's code in the process, and the median over fresh captures after it (which find
    their tape's source already compiled, as a step captured again does)."""
    ratios = []
    for run in range(runs + 1):
        if run == 0:
            tape._CODE.clear()  # as if no step had been captured in this process yet
        eager, captured = make(*arrays), gg.capture(make(*arrays))
        for _ in range(3):
            eager()
        start = time.perf_counter()
        eager()
        t_eager = time.perf_counter() - start
        start = time.perf_counter()
        captured()
        ratios.append((time.perf_counter() - start) / t_eager)
    later = sorted(ratios[1:])
    return ratios[0], later[len(later) // 2]


def replay_growth(make, arrays, steps: int = 50) -> float:
    """Bytes held per replay in the steady state: what ``steps`` more replays hold, after
    ``steps`` replays to settle Python's and NumPy's caches, divided by ``steps``."""
    captured = gg.capture(make(*arrays))
    captured()
    tracemalloc.start()
    for _ in range(steps):
        captured()
    settled = tracemalloc.get_traced_memory()[0]
    for _ in range(steps):
        captured()
    grown = tracemalloc.get_traced_memory()[0] - settled
    tracemalloc.stop()
    return grown / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    forms = {"x@W.T": S.gradgate_idiom_step, "Linear": S.gradgate_module_step}
    print("one training step, float32, median ms; ratio = captured / other")
    print(
        f"{'size / batch':>20} {'form':>7} {'captured':>9} {'eager':>9} {'numpy':>9} "
        f"{'torch':>9} {'/numpy':>7} {'/eager':>7} {'/torch':>7} {'capture':>8} {'again':>6} "
        f"{'B/step':>7}"
    )
    for n_in, n_hidden, n_out, batch in S.SIZES:
        arrays = S.setup(n_in, n_hidden, n_out, batch)
        label = f"{n_in}-{n_hidden}-{n_out} / {batch}"
        for form, make in forms.items():
            steps = {"captured": gg.capture(make(*arrays)), "eager": make(*arrays)}
            steps["numpy"] = S.numpy_step(*arrays)
            t_step = S.torch_step(*arrays)
            if t_step is not None:
                steps["torch"] = t_step
            inner = 1 if n_hidden >= 1024 else 20
            repeat = max(5, args.repeat // 3) if n_hidden >= 1024 else args.repeat
            ms = {k: v * 1e3 for k, v in S.time_each(steps, repeat, inner).items()}
            torch_ms = ms.get("torch", float("nan"))
            first, again = capture_cost(make, arrays, 3 if n_hidden >= 1024 else 5)
            grown = replay_growth(make, arrays, 5 if n_hidden >= 1024 else 200)
            c = ms["captured"]
            print(
                f"{label:>20} {form:>7} {c:9.3f} {ms['eager']:9.3f} {ms['numpy']:9.3f} "
                f"{torch_ms:9.3f} {c / ms['numpy']:7.3f} {c / ms['eager']:7.3f} "
                f"{c / torch_ms:7.3f} {first:8.2f} {again:6.2f} {grown:7.1f}"
            )
            label = ""

    length = 200
    chain = S.chain_steps(length)
    chain["captured"] = gg.capture(S.chain_steps(length)["gradgate"])
    per_gate = S.time_each(chain, args.repeat, 5)
    print(f"\nchain of {length} element-wise gates, forward + backward, µs per gate")
    print("  ".join(f"{k} {v / length * 1e6:.2f}" for k, v in per_gate.items()))
    if "torch" in per_gate:
        print(f"captured / torch eager: {per_gate['captured'] / per_gate['torch']:.3f}")
    print(f"captured / gradgate eager: {per_gate['captured'] / per_gate['gradgate']:.3f}")


if __name__ == "__main__":
    main()
