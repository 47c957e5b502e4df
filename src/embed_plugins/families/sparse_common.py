"""What the sparse families share: the blank-text rule and vector construction.

The blank-text rule: a text that is empty or whitespace only has no terms, so
every sparse model embeds it to the empty :class:`SparseVector` without
running a model (SPLADE would otherwise expand ``[CLS] [SEP]`` into a vector
that matches unrelated queries).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from ..engine.pipeline import Task
from ..errors import InferenceError
from ..results import SparseVector

Process = Callable[[Sequence[str], int, Task], list[SparseVector]]


def is_blank(text: str) -> bool:
    """True for ``""`` and whitespace-only text (``str.isspace``)."""
    return not text or text.isspace()


def blank_aware_process(
    process: Process, items: Sequence[str], batch_size: int, task: Task
) -> list[SparseVector]:
    """``process`` on the non-blank items; blank ones get the empty vector, order kept."""
    keep = [i for i, text in enumerate(items) if not is_blank(text)]
    if len(keep) == len(items):
        return process(items, batch_size, task)
    results = [SparseVector.empty() for _ in items]
    if keep:
        try:
            vectors = process([items[i] for i in keep], batch_size, task)
        except InferenceError as exc:  # name the inputs as the caller numbers them
            raise exc.relocated(keep) from exc.__cause__
        for i, vector in zip(keep, vectors, strict=True):
            results[i] = vector
    return results


def frozen_vector(indices: npt.NDArray[np.int64], values: npt.NDArray[np.float32]) -> SparseVector:
    """A read-only :class:`SparseVector` from arrays that are already int64/float32,
    unique and ascending (skips :meth:`SparseVector.create`'s sort and checks)."""
    indices.setflags(write=False)
    values.setflags(write=False)
    return SparseVector(indices=indices, values=values)
