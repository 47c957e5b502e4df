"""Frozen, typed result types shared by every family."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

#: The one index dtype of every sparse vector: int64 holds every 32-bit hash
#: (signed or unsigned) and every vocabulary id without overflow.
SPARSE_INDEX_DTYPE = np.int64
SPARSE_VALUE_DTYPE = np.float32


@dataclass(frozen=True, eq=False)
class SparseVector:
    """A sparse vector: parallel ``indices`` (int64) and ``values`` (float32) arrays.

    Indices are unique and sorted ascending.  Construct with
    :meth:`SparseVector.create` to get the dtypes and ordering enforced.
    """

    indices: npt.NDArray[np.int64]
    values: npt.NDArray[np.float32]

    @classmethod
    def create(cls, indices: npt.ArrayLike, values: npt.ArrayLike) -> SparseVector:
        idx = np.asarray(indices, dtype=SPARSE_INDEX_DTYPE).reshape(-1)
        val = np.asarray(values, dtype=SPARSE_VALUE_DTYPE).reshape(-1)
        if idx.shape != val.shape:
            raise ValueError(f"indices {idx.shape} and values {val.shape} differ in length")
        order = np.argsort(idx, kind="stable")
        idx, val = idx[order], val[order]
        if idx.size > 1 and np.any(idx[1:] == idx[:-1]):
            raise ValueError("indices must be unique")
        idx.setflags(write=False)
        val.setflags(write=False)
        return cls(indices=idx, values=val)

    @classmethod
    def empty(cls) -> SparseVector:
        return cls.create(np.empty(0, SPARSE_INDEX_DTYPE), np.empty(0, SPARSE_VALUE_DTYPE))

    def __len__(self) -> int:
        return int(self.indices.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SparseVector):
            return NotImplemented
        return bool(
            np.array_equal(self.indices, other.indices)
            and np.array_equal(self.values, other.values)
        )

    @classmethod
    def from_dict(cls, data: dict[int, float]) -> SparseVector:
        """From ``{index: value}`` (fastembed's ``SparseEmbedding.from_dict``)."""
        return cls.create(
            np.fromiter(data.keys(), SPARSE_INDEX_DTYPE, len(data)),
            np.fromiter(data.values(), SPARSE_VALUE_DTYPE, len(data)),
        )

    def as_dict(self) -> dict[int, float]:
        """``{index: value}`` with plain Python numbers."""
        return {int(i): float(v) for i, v in zip(self.indices, self.values, strict=True)}

    def as_object(self) -> dict[str, list[int] | list[float]]:
        """``{"indices": [...], "values": [...]}`` with plain Python numbers (Qdrant's shape)."""
        return {"indices": self.indices.tolist(), "values": self.values.tolist()}


#: fastembed's name for the sparse result: the same type, so ``isinstance`` checks and
#: ``as_object()`` / ``as_dict()`` / ``from_dict()`` keep working after the import swap.
#: Construct it by keyword or with :meth:`SparseVector.create`: the field order is
#: ``indices, values`` (fastembed's is ``values, indices``).
SparseEmbedding = SparseVector


@dataclass(frozen=True)
class RerankResult:
    """One reranked document: its position in the input, its score and (optionally) the
    document itself: the text, or for image ranking the image input as it was given."""

    index: int
    score: float
    document: Any = None
