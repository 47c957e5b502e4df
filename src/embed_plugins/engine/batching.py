"""Batch planning: sort by length, cut by a token budget, restore order.

Pure functions over lengths; nothing here knows about models.  Sorting a window
of inputs by token length before cutting batches keeps padding small, which is
where most of the speed over a fixed ``batch_size`` of padded rows comes from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError

T = TypeVar("T")

#: Default padded-token budget of one ONNX call (rows x longest row).  Measured on a
#: 2-core x86 CPU with all-MiniLM-L6-v2 (benchmarks/bench_dense.py): 1,024 tokens per
#: call ran 1.37x faster than 16,384 (the attention tensors stay in cache) and held peak
#: memory flat at ~275 MB, where 16,384 needed 200 MB for one attention tensor.
DEFAULT_TOKEN_BUDGET = 1_024

#: The same default for a session on a GPU (CUDA / TensorRT), where a call costs a fixed
#: launch overhead and larger batches keep the device busy: 16,384 padded tokens (32 rows of
#: 512, 64 of 256).  NOT MEASURED YET: chosen as the size sentence-transformers runs at
#: (batch 32 x 512); benchmarks/gpu_check.py times it against 4,096 and 65,536.
GPU_TOKEN_BUDGET = 16_384


def device_token_budget(token_budget: int, on_gpu: bool) -> int:
    """A family's token budget for its device: on a GPU the CPU default becomes
    :data:`GPU_TOKEN_BUDGET`; a budget a family chose itself (SPLADE's, sized by the
    vocabulary-wide output it copies back) is kept."""
    return GPU_TOKEN_BUDGET if on_gpu and token_budget == DEFAULT_TOKEN_BUDGET else token_budget


def plan_batches(
    lengths: Sequence[int] | npt.NDArray[np.int64],
    max_batch: int,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
) -> list[npt.NDArray[np.intp]]:
    """Group item indices into batches of similar length.

    Items are taken longest first; a batch closes when it holds ``max_batch``
    items, when one more would make ``rows * longest`` exceed ``token_budget``,
    or when the next item is less than half as long as the batch's longest (so
    no row is more than half padding).  A single item longer than the budget
    gets its own batch.
    """
    if max_batch < 1:
        raise InvalidArgumentError(f"batch_size must be >= 1, got {max_batch}")
    n = len(lengths)
    if n == 0:
        return []
    if n == 1:
        return [np.zeros(1, dtype=np.intp)]
    arr = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-arr, kind="stable")
    negated = -arr[order]  # ascending
    batches: list[npt.NDArray[np.intp]] = []
    start = 0
    while start < n:
        longest = max(int(arr[order[start]]), 1)
        similar = int(np.searchsorted(negated, -longest / 2, side="right")) - start
        rows = max(1, min(max_batch, token_budget // longest, similar))
        batches.append(order[start : start + rows])
        start += rows
    return batches


def validated_windows(
    items: Iterable[Any], size: int, validate: Callable[[Any, int], Any]
) -> Iterator[list[Any]]:
    """:func:`windows`, each item passed through ``validate(item, absolute index)``."""
    offset = 0
    for window in windows(items, size):
        yield [validate(item, offset + i) for i, item in enumerate(window)]
        offset += len(window)


def windows(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items (memory stays bounded by ``size``)."""
    if size < 1:
        raise InvalidArgumentError(f"window size must be >= 1, got {size}")
    if isinstance(items, list) and len(items) <= size:
        if items:
            yield items
        return
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
