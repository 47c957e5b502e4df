"""Batch planning and windowing: pure functions over lengths."""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import pytest

from embed_plugins.engine.batching import DEFAULT_TOKEN_BUDGET, plan_batches, windows


def check_plan(lengths: list[int], max_batch: int, budget: int) -> list[list[int]]:
    """Assert every invariant of a plan and return it as lists."""
    plan = [b.tolist() for b in plan_batches(lengths, max_batch, budget)]
    flat = [i for batch in plan for i in batch]
    assert sorted(flat) == list(range(len(lengths))), "every index exactly once"
    for batch in plan:
        assert 1 <= len(batch) <= max_batch
        longest = max(lengths[i] for i in batch)
        if len(batch) > 1:
            assert len(batch) * longest <= budget, (batch, longest)
    return plan


def test_empty() -> None:
    assert plan_batches([], 8) == []


def test_single_item() -> None:
    (batch,) = plan_batches([10_000], 8, 100)
    assert batch.tolist() == [0]


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize(("max_batch", "budget"), [(1, 1000), (3, 50), (32, 512), (256, 16_384)])
def test_random_plans_hold_every_invariant(seed: int, max_batch: int, budget: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 400)
    lengths = [rng.choice([rng.randint(1, 10), rng.randint(1, 600)]) for _ in range(n)]
    check_plan(lengths, max_batch, budget)


def test_max_batch_is_respected_when_budget_is_large() -> None:
    plan = check_plan([5] * 100, 8, 10**9)
    assert [len(b) for b in plan] == [8] * 12 + [4]


def test_token_budget_closes_batches() -> None:
    # 10 items of 100 tokens, budget 350: at most 3 rows per batch.
    plan = check_plan([100] * 10, 64, 350)
    assert [len(b) for b in plan] == [3, 3, 3, 1]


def test_long_single_item_gets_its_own_batch() -> None:
    lengths = [4, 4, 5000, 4, 4]
    plan = check_plan(lengths, 64, 1000)
    assert [2] in plan
    assert plan[0] == [2]  # longest first
    assert sorted(i for b in plan if b != [2] for i in b) == [0, 1, 3, 4]


def test_several_items_over_budget_are_each_alone() -> None:
    plan = check_plan([2000, 3, 3000, 2500], 64, 1000)
    assert plan[:3] == [[2], [3], [0]]
    assert plan[3] == [1]


def test_batches_group_similar_lengths_longest_first() -> None:
    lengths = [1, 100, 2, 99, 3, 98]
    plan = check_plan(lengths, 3, 10**6)
    # 3 and 2 share a batch; 1 is less than half of 3, so it starts its own.
    assert [sorted(b) for b in plan] == [[1, 3, 5], [2, 4], [0]]


def test_no_row_is_more_than_half_padding() -> None:
    rng = np.random.default_rng(3)
    lengths = rng.integers(1, 300, size=500).tolist()
    for batch in check_plan(lengths, 256, 10**9):
        sizes = [lengths[i] for i in batch]
        assert min(sizes) >= max(sizes) / 2


def test_stable_order_for_equal_lengths() -> None:
    plan = check_plan([7] * 6, 4, 10**6)
    assert plan == [[0, 1, 2, 3], [4, 5]]


def test_zero_lengths_do_not_divide_by_zero() -> None:
    check_plan([0, 0, 0], 2, 10)


def test_numpy_lengths_accepted() -> None:
    plan = plan_batches(np.array([3, 1, 2], dtype=np.int64), 2)
    assert sorted(i for b in plan for i in b.tolist()) == [0, 1, 2]


def test_default_budget() -> None:
    plan = check_plan([512] * 100, 256, DEFAULT_TOKEN_BUDGET)
    assert max(len(b) for b in plan) == DEFAULT_TOKEN_BUDGET // 512


@pytest.mark.parametrize("bad", [0, -1])
def test_bad_max_batch(bad: int) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        plan_batches([1, 2], bad)


# -- windows --------------------------------------------------------------------------


def test_windows_cover_input_in_order() -> None:
    chunks = list(windows(range(10), 3))
    assert chunks == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


def test_windows_of_short_list_and_empty_input() -> None:
    assert list(windows([1, 2], 5)) == [[1, 2]]
    assert list(windows([], 5)) == []
    assert list(windows(iter([]), 5)) == []


def test_windows_are_lazy_and_bounded() -> None:
    pulled = 0

    def endless() -> Iterator[int]:
        nonlocal pulled
        while True:
            pulled += 1
            yield pulled

    it = windows(endless(), 4)
    assert pulled == 0
    assert next(it) == [1, 2, 3, 4]
    assert pulled == 4
    assert next(it) == [5, 6, 7, 8]
    assert pulled == 8


@pytest.mark.parametrize("bad", [0, -3])
def test_windows_bad_size(bad: int) -> None:
    with pytest.raises(ValueError):
        list(windows([1], bad))
