"""DistributedSampler: disjoint shards covering the data set once per epoch, a new order
each epoch, the same order for the same seed, padded or cut as PyTorch's."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from gradgate.distributed import DistributedSampler

SHAPES = [(10, 3), (12, 4), (7, 2), (2, 3), (1, 4), (100, 7)]  # (examples, ranks)


def shards(n, ranks, **options):
    return [DistributedSampler(n, ranks, rank, **options).indices() for rank in range(ranks)]


@pytest.mark.parametrize(("n", "ranks"), SHAPES)
def test_the_shards_hold_every_example_once_plus_the_padding(n, ranks):
    parts = shards(n, ranks, seed=3)
    everything = np.concatenate(parts)
    assert {len(p) for p in parts} == {-(-n // ranks)}  # the same length on every rank
    assert set(everything.tolist()) == set(range(n))
    padding = len(everything) - n
    assert 0 <= padding < ranks
    assert sum(count - 1 for count in Counter(everything.tolist()).values()) == padding


@pytest.mark.parametrize(("n", "ranks"), SHAPES)
def test_drop_last_cuts_the_epoch_to_a_multiple_of_the_ranks_without_repeats(n, ranks):
    everything = np.concatenate(shards(n, ranks, seed=3, drop_last=True))
    assert len(everything) == n - n % ranks
    assert len(set(everything.tolist())) == len(everything)


def test_every_epoch_has_its_own_order_and_the_seed_decides_them():
    sampler = DistributedSampler(50, 2, 1, seed=7)
    orders = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        orders.append(list(sampler))
    assert len({tuple(o) for o in orders}) == 3
    again = DistributedSampler(50, 2, 1, seed=7)
    again.set_epoch(2)
    assert list(again) == orders[2]
    other_seed = DistributedSampler(50, 2, 1, seed=8)
    other_seed.set_epoch(2)
    assert list(other_seed) != orders[2]


def test_without_shuffling_the_order_is_the_data_sets():
    assert [s.tolist() for s in shards(5, 2, shuffle=False)] == [[0, 2, 4], [1, 3, 0]]


def test_the_ranks_batches_together_are_the_batches_one_process_cuts():
    ranks, local = 4, 3
    order = DistributedSampler(50, 1, 0, seed=1).indices()
    per_rank = [list(DistributedSampler(50, ranks, r, seed=1).batches(local)) for r in range(ranks)]
    for k, batch in enumerate(zip(*per_rank, strict=True)):
        together = sorted(np.concatenate(batch).tolist())
        stretch = np.resize(order, 52)[k * ranks * local : (k + 1) * ranks * local]
        assert together == sorted(stretch.tolist())


def test_rank_and_size_come_from_the_world_when_not_given(single_world):
    sampler = DistributedSampler(list(range(9)))
    assert (sampler.rank, sampler.num_replicas, len(sampler)) == (0, 1, 9)
    with pytest.raises(ValueError, match="rank 3 is not one of 2 ranks"):
        DistributedSampler(9, num_replicas=2, rank=3)


# --- against PyTorch ---------------------------------------------------------------------


@pytest.fixture
def torch_data():
    return pytest.importorskip("torch.utils.data")


@pytest.mark.parametrize(("n", "ranks"), SHAPES)
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_shards_are_pytorchs(torch_data, n, ranks, drop_last):
    for rank in range(ranks):
        ours = DistributedSampler(n, ranks, rank, shuffle=False, drop_last=drop_last)
        theirs = torch_data.DistributedSampler(
            range(n), ranks, rank, shuffle=False, drop_last=drop_last
        )
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs)


@pytest.mark.parametrize(("n", "ranks"), SHAPES)
@pytest.mark.parametrize("drop_last", [False, True])
def test_shuffled_shards_repeat_and_drop_as_many_examples_as_pytorchs(
    torch_data, n, ranks, drop_last
):
    """The permutations differ (NumPy's and torch's generators), the dealing does not."""

    def profile(parts):
        return sorted(Counter(np.concatenate(parts).tolist()).values())

    ours = [
        list(DistributedSampler(n, ranks, r, seed=5, drop_last=drop_last)) for r in range(ranks)
    ]
    theirs = [
        list(torch_data.DistributedSampler(range(n), ranks, r, seed=5, drop_last=drop_last))
        for r in range(ranks)
    ]
    assert [len(p) for p in ours] == [len(p) for p in theirs]
    assert profile(ours) == profile(theirs)
