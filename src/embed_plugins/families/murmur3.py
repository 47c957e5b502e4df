"""MurmurHash3 x86 32-bit in pure Python and numpy, and BM25's token index.

``token_id(stem)`` is ``abs`` of the signed hash of the stem's UTF-8 bytes
(seed 0): fastembed 0.9.1's ``Bm25.compute_token_id`` (``abs(mmh3.hash(stem))``),
so the ``mmh3`` package is not needed.  The range is ``[0, 2**31]``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

__all__ = ["murmurhash3_32", "murmurhash3_32_many", "token_id", "token_ids_many"]

_MASK32 = 0xFFFFFFFF
_MAX_VECTOR_HASH_BYTES = 256


def murmurhash3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit of ``data`` as an unsigned int in ``[0, 2**32)``.

    Pure Python; the reference algorithm of Austin Appleby's ``MurmurHash3.cpp``
    (blocks read little-endian, as on x86).  ``mmh3.hash(data, seed,
    signed=False)`` gives the same number.
    """
    length = len(data)
    h = seed & _MASK32
    nblocks = length >> 2
    if nblocks:
        for k in struct.unpack_from(f"<{nblocks}I", data):
            k = (k * 0xCC9E2D51) & _MASK32
            k = ((k << 15) | (k >> 17)) & _MASK32
            k = (k * 0x1B873593) & _MASK32
            h ^= k
            h = ((h << 13) | (h >> 19)) & _MASK32
            h = (h * 5 + 0xE6546B64) & _MASK32
    tail = length & 3
    if tail:
        k = int.from_bytes(data[length - tail :], "little")
        k = (k * 0xCC9E2D51) & _MASK32
        k = ((k << 15) | (k >> 17)) & _MASK32
        k = (k * 0x1B873593) & _MASK32
        h ^= k
    h ^= length
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK32
    h ^= h >> 16
    return h


def murmurhash3_32_many(items: Sequence[bytes], seed: int = 0) -> np.ndarray:
    """:func:`murmurhash3_32` of many byte strings at once, as uint32.

    Vectorised with numpy over the items (uint32 arithmetic wraps like the C
    code); items longer than 256 bytes, which would make the padded block
    matrix large, go through :func:`murmurhash3_32` one by one.
    """
    if not set(map(type, items)) <= {bytes}:
        items = list(map(_as_bytes, items))
    out = np.empty(len(items), dtype=np.uint32)
    lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
    long_items = np.flatnonzero(lengths > _MAX_VECTOR_HASH_BYTES)
    for i in long_items.tolist():
        out[i] = murmurhash3_32(items[i], seed)
    if long_items.size:
        short_items = np.flatnonzero(lengths <= _MAX_VECTOR_HASH_BYTES)
        out[short_items] = _murmurhash3_32_short([items[i] for i in short_items.tolist()], seed)
    else:
        out[:] = _murmurhash3_32_short(items, seed)
    return out


def _as_bytes(item: object) -> bytes:
    """A bytes-like item (bytearray, memoryview, ...) as ``bytes``; anything else is an error."""
    try:
        return bytes(memoryview(item))  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"murmurhash3_32_many hashes bytes-like items, got {type(item).__name__}"
        ) from None


def _murmurhash3_32_short(items: Sequence[bytes], seed: int) -> np.ndarray:
    count = len(items)
    if count == 0:
        return np.zeros(0, dtype=np.uint32)
    lengths = np.fromiter(map(len, items), dtype=np.int64, count=count)
    width = int(lengths.max()) // 4 + 1  # whole blocks plus one word for the tail
    # A fixed-width bytes array is each item zero-padded to width * 4 bytes, built in C.
    buffer = np.array(items, dtype=f"S{width * 4}")
    words = buffer.view("<u4").reshape(count, width)  # little-endian blocks, zero-padded
    nblocks = lengths // 4
    c1, c2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)
    r13, r15, r16, r17, r19 = (np.uint32(n) for n in (13, 15, 16, 17, 19))
    h = np.full(count, seed & _MASK32, dtype=np.uint32)
    with np.errstate(over="ignore"):
        for j in range(width - 1):
            k = words[:, j] * c1
            k = ((k << r15) | (k >> r17)) * c2
            mixed = h ^ k
            mixed = ((mixed << r13) | (mixed >> r19)) * np.uint32(5) + np.uint32(0xE6546B64)
            h = np.where(nblocks > j, mixed, h)
        # The 1-3 tail bytes sit in word nblocks, zero above them (a zero word when no tail).
        k = words[np.arange(count), nblocks] * c1
        k = ((k << r15) | (k >> r17)) * c2
        h = np.where(lengths & 3, h ^ k, h)
        h ^= lengths.astype(np.uint32)
        h ^= h >> r16
        h *= np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h *= np.uint32(0xC2B2AE35)
        h ^= h >> r16
    return h


def token_ids_many(stems: Sequence[str]) -> np.ndarray:
    """:func:`token_id` of many stems at once, as int64."""
    encoded = list(map(str.encode, stems))  # UTF-8
    hashes = murmurhash3_32_many(encoded).astype(np.int64)
    return np.where(hashes < 0x80000000, hashes, 0x100000000 - hashes)


@lru_cache(maxsize=1 << 16)
def token_id(stem: str) -> int:
    """The sparse index of ``stem``: ``abs`` of its signed MurmurHash3 (seed 0).

    Equals fastembed 0.9.1's ``Bm25.compute_token_id``, ``abs(mmh3.hash(stem))``,
    for every stem; the range is ``[0, 2**31]``.
    """
    h = murmurhash3_32(stem.encode("utf-8"))
    # Signed reading is h - 2**32 for h >= 2**31; its absolute value is 2**32 - h.
    return h if h < 0x80000000 else 0x100000000 - h
