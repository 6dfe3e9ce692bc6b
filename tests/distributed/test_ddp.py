"""DistributedDataParallel: ranks on half batches step as one process on whole ones, every
rank holds the same weights after every step, gradients travel in buckets, and models that
differ between ranks are refused by name."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import HERE, launch, needs_mpi
from run_ranks import CASES, batches, build_model, build_optimizer, train

import gradgate as gg
from gradgate import distributed, nn
from gradgate.distributed.ddp import _first_difference, make_buckets

TOLERANCE = {"float32": 1e-6, "float64": 1e-12}


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """The equivalence scenario on 2 ranks, run once: its results and its directory."""
    out = tmp_path_factory.mktemp("equivalence")
    done = launch(2, str(HERE / "run_ranks.py"), "equivalence", str(out))
    assert done.returncode == 0, done.stderr
    return json.loads((out / "results.json").read_text()), out


@needs_mpi
@pytest.mark.parametrize(("optimizer", "dtype"), CASES)
def test_two_ranks_on_half_batches_end_where_one_process_on_whole_batches_does(
    two_ranks, optimizer, dtype
):
    results, out = two_ranks
    model = build_model(dtype)
    x, y = batches(dtype)
    train(model, build_optimizer(optimizer, model), x, y)
    alone = np.concatenate([p.numpy().ravel() for p in model.parameters()])
    together = np.load(out / f"{optimizer}-{dtype}.npy")
    assert np.abs(alone - alone.mean()).max() > 0.1  # the weights did move
    assert np.abs(together - alone).max() <= TOLERANCE[dtype]
    assert results[f"{optimizer}-{dtype}-differing-steps"] == 0  # bit for bit, every step


@needs_mpi
def test_small_buckets_split_the_gradients_into_several_allreduces(two_ranks):
    results, _ = two_ranks
    # 768, 64, 320 and 20 bytes of gradient: no two fit in 256 together
    assert results["sgd-float32-buckets"] == 4
    assert results["sgd-float64-buckets"] == 1


@needs_mpi
def test_models_that_differ_are_refused_on_every_rank_naming_the_parameter(two_ranks):
    results, _ = two_ranks
    assert results["ranks-refusing"] == 2
    assert results["mismatch"] == (
        "the ranks' models differ: parameter '0.weight' has shape "
        "(16, 12) on rank 0 but (17, 12) on rank 1"
    )


# --- on one rank: the packing, the guard, the names --------------------------------------


@pytest.mark.parametrize(
    ("theirs", "message"),
    [
        ([["0.weight", [4, 3], "float32"], ["0.bias", [4], "float32"]], None),
        (
            [["0.weight", [4, 3], "float64"], ["0.bias", [4], "float32"]],
            "parameter '0.weight' is float32 on rank 0 but float64 on rank 2",
        ),
        (
            [["0.weight", [4, 3], "float32"], ["1.bias", [4], "float32"]],
            "parameter 2 is '0.bias' on rank 0 but '1.bias' on rank 2",
        ),
        (
            [["0.weight", [4, 3], "float32"]],
            "rank 0 has 2 parameters and rank 2 1: '0.bias' is only on rank 0",
        ),
        (
            [["0.weight", [4, 3], "float32"], ["0.bias", [4], "float32"], ["x", [1], "float32"]],
            "rank 0 has 2 parameters and rank 2 3: 'x' is only on rank 2",
        ),
    ],
)
def test_the_first_difference_between_two_models_is_named(theirs, message):
    root = [["0.weight", [4, 3], "float32"], ["0.bias", [4], "float32"]]
    assert _first_difference(root, theirs, rank=2) == message


def test_buckets_hold_one_dtype_and_at_most_the_bytes_asked_for():
    f32 = [gg.zeros(10, requires_grad=True) for _ in range(3)]  # 40 bytes each
    f64 = gg.zeros(4, dtype=np.float64, requires_grad=True)
    big = gg.zeros(100, requires_grad=True)
    layout = [
        [len(b.parameters), b.buffer.dtype.name]
        for b in make_buckets([*f32, f64, big, f32[0]], bucket_bytes=100)
    ]
    assert layout == [
        [2, "float32"],
        [1, "float32"],
        [1, "float64"],
        [1, "float32"],
        [1, "float32"],
    ]
    assert len(make_buckets([*f32, big], bucket_bytes=10**6)) == 1


def test_allreduce_gradients_weighs_every_gradient_and_leaves_missing_ones_missing(
    single_world,
):
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.Linear(2, 2))
    ddp = distributed.DistributedDataParallel(model, bucket_bytes=40)
    x = gg.randn(5, 3)
    gg.sum(model[2](model[1](model[0](x))) ** 2).backward()  # the last layer gets none
    before = {
        name: p.grad.numpy().copy() for name, p in model.named_parameters() if p.grad is not None
    }
    ddp.allreduce_gradients(weight=0.5)
    assert len(ddp.buckets) > 2
    for name, p in model.named_parameters():
        if name.startswith("3."):
            assert p.grad is None
        else:
            assert np.array_equal(p.grad.numpy(), 0.5 * before[name])


def test_a_second_training_pass_without_reducing_the_first_is_an_error(single_world):
    ddp = distributed.DistributedDataParallel(nn.Linear(3, 2))
    x = gg.randn(4, 3)
    gg.sum(ddp(x)).backward()
    with pytest.raises(RuntimeError, match="without allreduce_gradients"):
        ddp(x)
    ddp.allreduce_gradients()
    with ddp.no_sync():
        gg.sum(ddp(x)).backward()  # accumulating: allowed
    gg.sum(ddp(x)).backward()
    with gg.no_grad():
        ddp(x)  # evaluation passes do not count
    ddp.eval()
    ddp(x)


def test_state_dict_names_carry_the_module_prefix_as_in_pytorch(single_world):
    ddp = distributed.DistributedDataParallel(nn.Linear(3, 2))
    assert list(ddp.state_dict()) == ["module.weight", "module.bias"]
    assert list(ddp.module.state_dict()) == ["weight", "bias"]


@needs_mpi
def test_the_loop_in_the_docs_runs_on_two_ranks_and_learns(tmp_path):
    page = (HERE.parents[1] / "docs" / "distributed.md").read_text(encoding="utf-8")
    (script := tmp_path / "loop.py").write_text(
        "\n".join(re.findall(r"```python\n(.*?)```", page, re.S)), encoding="utf-8"
    )
    done = launch(2, str(script), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    accuracy = re.fullmatch(r"training accuracy (\d+)%\n", done.stdout)  # rank 0 alone
    assert accuracy and int(accuracy.group(1)) >= 90
