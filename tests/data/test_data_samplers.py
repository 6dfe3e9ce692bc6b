"""Samplers and the DataLoader options that use them: sampler, batch_sampler, generator,
collate_fn, drop_last, seeding from gg.manual_seed, num_workers refused."""

import json

import numpy as np
import pytest

import gradgate as gg
from gradgate.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
)


def _dataset(n=10):
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(np.stack([y * 10.0, y * 10.0 + 1], axis=1).astype(np.float32), y)


def _labels(loader):
    return [y.tolist() for _, y in loader.array_batches()]


def test_sequential_sampler_is_the_dataset_order():
    sampler = SequentialSampler(_dataset(5))
    assert list(sampler) == [0, 1, 2, 3, 4] and len(sampler) == 5


def test_random_sampler_without_replacement_is_a_fresh_permutation_each_epoch():
    sampler = RandomSampler(_dataset(20), generator=np.random.default_rng(0))
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == list(range(20)) and first != second
    assert len(sampler) == 20 and all(isinstance(i, int) for i in first)


def test_random_sampler_more_samples_than_examples_chains_whole_permutations():
    sampler = RandomSampler(_dataset(6), num_samples=15, generator=np.random.default_rng(1))
    drawn = list(sampler)
    assert len(drawn) == len(sampler) == 15
    assert sorted(drawn[:6]) == sorted(drawn[6:12]) == list(range(6))
    assert len(set(drawn[12:])) == 3  # the last permutation, cut short


def test_random_sampler_with_replacement_repeats_and_covers_uniformly():
    sampler = RandomSampler(
        _dataset(4), replacement=True, num_samples=40_000, generator=np.random.default_rng(2)
    )
    counts = np.bincount(list(sampler), minlength=4)
    assert counts.sum() == 40_000
    np.testing.assert_allclose(counts / 40_000, 0.25, atol=0.01)  # 5 standard deviations
    short = RandomSampler(_dataset(50), replacement=True, generator=np.random.default_rng(3))
    assert len(list(short)) == 50 and len(set(short)) < 50


def test_weighted_sampler_draws_in_proportion_and_never_a_zero_weight():
    weights = [1.0, 0.0, 3.0, 6.0]
    sampler = WeightedRandomSampler(weights, 50_000, generator=np.random.default_rng(4))
    counts = np.bincount(list(sampler), minlength=4)
    assert counts[1] == 0 and len(sampler) == 50_000
    np.testing.assert_allclose(counts / 50_000, [0.1, 0.0, 0.3, 0.6], atol=0.01)
    once = WeightedRandomSampler(weights, 3, replacement=False, generator=np.random.default_rng(5))
    assert sorted(once) == [0, 2, 3]


def test_batch_sampler_matches_torch_on_the_same_order():
    torch = pytest.importorskip("torch")
    order = [4, 1, 7, 0, 3, 9, 2]
    for drop_last in (False, True):
        ours = BatchSampler(order, 3, drop_last)
        theirs = torch.utils.data.BatchSampler(order, 3, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_loader_with_a_weighted_sampler_rebalances_classes():
    y = np.array([0] * 90 + [1] * 10)
    x = np.arange(100, dtype=np.float32)[:, None]
    weights = 1.0 / np.bincount(y)[y]  # each class weighs the same in total
    sampler = WeightedRandomSampler(weights, 10_000, generator=np.random.default_rng(6))
    loader = DataLoader(TensorDataset(x, y), batch_size=100, sampler=sampler)
    assert len(loader) == 100
    drawn = np.concatenate([yb for _, yb in loader.array_batches()])
    assert abs(drawn.mean() - 0.5) < 0.03
    for xb, yb in loader.array_batches():
        assert np.array_equal(xb[:, 0] >= 90, yb == 1)  # features stay with their labels


def test_loader_with_a_batch_sampler_takes_its_batches_as_they_are():
    batches = [[3, 1], [0], [2, 4, 5]]
    loader = DataLoader(_dataset(6), batch_sampler=batches)
    assert len(loader) == 3 and _labels(loader) == batches
    assert loader.batch_size is None
    pooled = DataLoader(
        _dataset(7), batch_sampler=BatchSampler(SequentialSampler(range(7)), 3, drop_last=True)
    )
    assert _labels(pooled) == [[0, 1, 2], [3, 4, 5]]


def test_loader_options_that_contradict_each_other_are_refused():
    data = _dataset()
    with pytest.raises(ValueError, match="excludes batch_size, shuffle, sampler and drop_last"):
        DataLoader(data, batch_size=4, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="excludes shuffle=True"):
        DataLoader(data, sampler=SequentialSampler(data), shuffle=True)
    with pytest.raises(ValueError, match="give seed or generator, not both"):
        DataLoader(data, shuffle=True, seed=0, generator=np.random.default_rng(0))
    with pytest.raises(TypeError, match="generator must be a numpy.random.Generator"):
        DataLoader(data, shuffle=True, generator=0)


@pytest.mark.parametrize("workers", [1, 4])
def test_num_workers_is_refused_not_ignored(workers):
    with pytest.raises(ValueError, match=f"num_workers={workers} is not supported"):
        DataLoader(_dataset(), num_workers=workers)
    assert DataLoader(_dataset(), num_workers=0).num_workers == 0


def test_shuffling_follows_gg_manual_seed_unless_a_generator_is_given():
    def epochs(**options):
        loader = DataLoader(_dataset(30), batch_size=7, shuffle=True, **options)
        return [_labels(loader) for _ in range(2)]

    gg.manual_seed(11)
    a = epochs()
    gg.manual_seed(11)
    assert epochs() == a
    gg.manual_seed(12)
    assert epochs() != a
    gg.manual_seed(11)
    given = epochs(generator=np.random.default_rng(99))
    assert given != a
    assert given == epochs(generator=np.random.default_rng(99))
    assert epochs(seed=99) == given  # seed=s is generator=np.random.default_rng(s)


def test_a_sampler_draws_from_gg_manual_seed_too():
    gg.manual_seed(3)
    first = list(RandomSampler(range(12)))
    gg.manual_seed(3)
    assert list(RandomSampler(range(12))) == first


def test_state_dict_captures_the_samplers_own_generator():
    sampler = RandomSampler(_dataset(25), generator=np.random.default_rng(8))
    run = DataLoader(_dataset(25), batch_size=4, sampler=sampler)
    _labels(run)
    state = json.loads(json.dumps(run.state_dict()))
    expected = [_labels(run) for _ in range(2)]
    fresh = RandomSampler(_dataset(25), generator=np.random.default_rng(0))
    resumed = DataLoader(_dataset(25), batch_size=4, sampler=fresh)
    resumed.load_state_dict(state)
    assert [_labels(resumed) for _ in range(2)] == expected


def test_collate_fn_gets_the_list_of_examples_and_its_result_is_yielded():
    seen = []

    def collate(examples):
        seen.append(len(examples))
        x, y = default_collate(examples)
        return {"x": x * 2, "y": y}

    loader = DataLoader(_dataset(5), batch_size=2, collate_fn=collate)
    batches = list(loader)
    assert seen == [2, 2, 1] and isinstance(batches[0], dict)
    assert batches[1]["x"].numpy().tolist() == [[40, 42], [60, 62]]
    assert batches[2]["y"].numpy().tolist() == [4]
    with pytest.raises(ValueError, match="has a collate_fn: iterate over the loader"):
        loader.array_batches()


def test_drop_last_with_shuffling_and_a_sampler():
    loader = DataLoader(_dataset(10), batch_size=3, shuffle=True, drop_last=True, seed=0)
    batches = _labels(loader)
    assert [len(b) for b in batches] == [3, 3, 3] and len(loader) == 3
    assert len({i for b in batches for i in b}) == 9


def test_a_plain_iterable_sampler_and_a_sampler_subclass():
    class Evens(Sampler):
        def __iter__(self):
            return iter([0, 2, 4, 6])

        def __len__(self):
            return 4

    assert _labels(DataLoader(_dataset(8), batch_size=3, sampler=Evens())) == [[0, 2, 4], [6]]
    assert _labels(DataLoader(_dataset(8), batch_size=2, sampler=[7, 5])) == [[7, 5]]


def test_default_collate_stacks_fields_into_tensors():
    x, y = default_collate([(np.ones(2), 1), (np.zeros(2), 0)])
    assert x.shape == (2, 2) and y.numpy().tolist() == [1, 0]
    (only,) = default_collate([np.ones(3), np.ones(3)])
    assert only.shape == (2, 3)
    with pytest.raises(ValueError, match="at least one example"):
        default_collate([])


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: RandomSampler(range(3), num_samples=0), "num_samples must be a positive"),
        (lambda: RandomSampler(range(3), replacement=1), "replacement must be True or False"),
        (lambda: WeightedRandomSampler([[1.0]], 2), "one dimension"),
        (lambda: WeightedRandomSampler([1.0, -1.0], 2), "finite, non-negative"),
        (lambda: WeightedRandomSampler([0.0, 0.0], 2), "not all zero"),
        (
            lambda: WeightedRandomSampler([1.0, 0.0], 2, replacement=False),
            "cannot exceed the number of non-zero weights",
        ),
        (lambda: BatchSampler(range(3), 0, False), "batch_size must be a positive integer"),
        (lambda: BatchSampler(range(3), 2, None), "drop_last must be True or False"),
        (lambda: list(RandomSampler([], replacement=True, num_samples=2)), "empty dataset"),
    ],
)
def test_sampler_arguments_are_checked(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_sampler_base_asks_for_len_and_a_generic_dataset_goes_through_getitem():
    with pytest.raises(NotImplementedError):
        len(Sampler())

    class Pairs(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return np.array([i, -i]), i

    loader = DataLoader(
        Pairs(),
        batch_size=3,
        sampler=WeightedRandomSampler([0, 1, 1, 0], 5, generator=np.random.default_rng(0)),
    )
    for x, y in loader.array_batches():
        assert set(y.tolist()) <= {1, 2} and np.array_equal(x[:, 1], -y)
