"""BM25's caches: one generation object, bounded, aged whole, shared safely by threads.

A :class:`~embed_plugins.families.bm25.Bm25` instance remembers what it has already
worked out (see :mod:`.bm25_codes`): each chunk's *code*, each token's index, and
the codes of the runs its batch scanner identifies by their bytes
(:class:`~.bm25_scan.KeyTable`).  All of that is one :class:`_Caches` generation.

* **Codes.**  A code is an index (``>= 0``), :data:`_DROP` for a chunk that keeps
  no token, or ``_FIRST_MULTI - j`` for the ``j``-th chunk that keeps two or more
  tokens, whose indices :class:`_MultiTable` holds.
* **Bounds.**  The token and chunk dictionaries have two generations each: when the
  young one is full (checked between batches, against :class:`_CacheBounds`) it
  becomes the old one and the previous old one is dropped; a lookup that misses
  the young one but hits the old one moves the entry back, so frequent entries
  stay.  The key tables start afresh when full.  Memory stays at some tens of MB
  at most.  The bounds themselves are ``bm25.py``'s ``_MAX_CACHED_*`` and
  ``_MAX_KEYED``.
* **Threads.**  A call works on one generation; entries are only ever added whole,
  and ageing publishes a new generation (:meth:`_Caches.aged`) without touching
  the old one.  :class:`_Caches` says why every thread then gets exact results.
* **Settings.**  What a chunk or token resolves to depends on the instance's
  vocabulary: language, ``disable_stemmer``, a custom ``stemmer``, ``stopwords``
  and ``token_max_length``.  The caches belong to one instance (nothing here is
  module-level), whose vocabulary settings are fixed at construction and
  read-only, so the entries need no settings in their keys: two models with
  different settings in one process never see each other's entries.  The one
  process-wide cache, :func:`~.murmur3.token_id`'s, maps a stem to its hash,
  whatever produced the stem.  ``k``, ``b`` and ``avg_len`` weigh the counts
  after the caches and may change.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np

from .bm25_scan import Int64Array, KeyTable

# Codes of the chunk cache besides an index (>= 0): _DROP for a chunk that keeps no token, and
# _FIRST_MULTI - j for the j-th chunk that keeps two or more tokens (see _MultiTable).
_DROP = -1
_FIRST_MULTI = -2
_UNSEEN = -(1 << 62)  # lookup default: not in the cache


class _CacheBounds(NamedTuple):
    """How far the caches may grow before :meth:`_Caches.aged` starts a new generation."""

    chunks: int  # entries of ``codes``
    chars: int  # characters of the chunks in ``codes``
    tokens: int  # entries of ``token_ids``
    keyed: int  # entries of each key table


class _Caches:
    """One generation of a :class:`~.bm25.Bm25`'s caches, safe to share between threads.

    * ``codes``: chunk -> index, ``_DROP`` or a multi code of ``multi``;
      ``old_codes`` the previous generation's (its multi codes are not valid here);
    * ``token_ids``: lower-cased token -> index or ``_DROP``; ``old_token_ids``;
    * ``keyed_tokens``: ASCII token bytes -> index or ``_DROP``; ``keyed_runs``:
      non-ASCII run bytes -> chunk code (multi codes of ``multi``), see :mod:`.bm25_scan`.

    How concurrent calls stay exact: the attributes are never rebound.  A call takes one
    generation (:meth:`.bm25.Bm25._current_caches`) and uses only it, so the multi codes it
    reads or makes always belong to the ``multi`` it expands them with; ageing publishes
    a *new* generation (:meth:`aged`) with one attribute assignment and never touches
    the old one, which the calls still running on it finish with.  (Those calls may still
    add entries to dictionaries that the new generation holds as ``old_codes`` or
    ``old_token_ids``: harmless, as only indices and ``_DROP`` are taken from the old
    ones.)  Within a generation the caches are only ever extended: the dictionaries gain
    whole entries (one ``dict`` operation each, atomic; two threads resolving one chunk
    store equal values, or two multi codes for the same index list) and are never
    emptied, so an entry a call has seen or stored is still there when it reads it back;
    :class:`_MultiTable` and :class:`~.bm25_scan.KeyTable` add entries under their own
    short locks and publish their arrays whole.  ``chars``, the characters of the chunks
    in ``codes`` (bounded by :attr:`_CacheBounds.chars`), goes with ``codes`` and counts
    under a lock.
    """

    __slots__ = (
        "chars",
        "codes",
        "keyed_runs",
        "keyed_tokens",
        "multi",
        "old_codes",
        "old_token_ids",
        "token_ids",
    )

    def __init__(
        self,
        codes: dict[str, int],
        old_codes: dict[str, int],
        multi: _MultiTable,
        chars: _Count,
        token_ids: dict[str, int],
        old_token_ids: dict[str, int],
        keyed_tokens: KeyTable,
        keyed_runs: KeyTable,
    ) -> None:
        self.codes = codes
        self.old_codes = old_codes
        self.multi = multi
        self.chars = chars
        self.token_ids = token_ids
        self.old_token_ids = old_token_ids
        self.keyed_tokens = keyed_tokens
        self.keyed_runs = keyed_runs

    @classmethod
    def empty(cls) -> _Caches:
        return cls({}, {}, _MultiTable(), _Count(), {}, {}, KeyTable(), KeyTable())

    def full(self, bounds: _CacheBounds) -> bool:
        """Whether a cache has reached its bound (then :meth:`aged` starts a new generation)."""
        return (
            len(self.codes) > bounds.chunks
            or self.chars.value > bounds.chars
            or len(self.token_ids) > bounds.tokens
            or len(self.keyed_tokens) > bounds.keyed
            or len(self.keyed_runs) > bounds.keyed
        )

    def aged(self, bounds: _CacheBounds) -> _Caches:
        """The next generation: new young dictionaries where full (the full ones become the
        old), key tables started afresh where full.  ``self`` is left as it is."""
        codes, old_codes, multi = self.codes, self.old_codes, self.multi
        chars, keyed_runs = self.chars, self.keyed_runs
        if len(codes) > bounds.chunks or chars.value > bounds.chars:
            codes, old_codes, multi, chars = {}, codes, _MultiTable(), _Count()
            keyed_runs = KeyTable()  # its multi codes point into the dropped table
        token_ids, old_token_ids = self.token_ids, self.old_token_ids
        if len(token_ids) > bounds.tokens:
            token_ids, old_token_ids = {}, token_ids
        keyed_tokens = self.keyed_tokens
        if len(keyed_tokens) > bounds.keyed:
            keyed_tokens = KeyTable()
        if len(keyed_runs) > bounds.keyed:
            keyed_runs = KeyTable()
        return _Caches(
            codes,
            old_codes,
            multi,
            chars,
            token_ids,
            old_token_ids,
            keyed_tokens,
            keyed_runs,
        )


class _Count:
    """A counter that threads add to under a lock (``+=`` on an attribute can lose counts)."""

    __slots__ = ("_lock", "value")

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self.value += count


class _MultiTable:
    """The index lists of chunks that keep two or more tokens, as numpy arrays.

    Chunk ``j`` (code ``_FIRST_MULTI - j``) owns ``flat[offsets[j] : offsets[j] + sizes[j]]``.
    The table only grows: :meth:`add_block` builds the three longer arrays under a lock
    and publishes them as one tuple, and readers take that tuple once, so a code handed
    out is valid in every later state and a reader never sees arrays of two states.
    """

    def __init__(self) -> None:
        empty = np.zeros(0, dtype=np.int64)
        self._arrays: tuple[Int64Array, Int64Array, Int64Array] = (empty, empty, empty)
        self._lock = threading.Lock()

    def add_block(self, flat: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """Add ``len(sizes)`` lists stored back to back in ``flat``; return their codes."""
        with self._lock:
            all_flat, offsets, all_sizes = self._arrays
            first = all_sizes.size
            self._arrays = (
                np.concatenate((all_flat, flat)),
                np.concatenate((offsets, all_flat.size + np.cumsum(sizes) - sizes)),
                np.concatenate((all_sizes, sizes)),
            )
        return _FIRST_MULTI - (first + np.arange(sizes.size, dtype=np.int64))

    def ids(self, code: int) -> list[int]:
        flat, offsets, sizes = self._arrays
        number = _FIRST_MULTI - code
        offset = int(offsets[number])
        return flat[offset : offset + int(sizes[number])].tolist()  # type: ignore[no-any-return]

    def expand(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The indices of chunks ``numbers`` back to back, and how many each chunk has."""
        flat, offsets, sizes = self._arrays
        counts = sizes[numbers]
        ends = np.cumsum(counts)
        within = np.arange(int(ends[-1]), dtype=np.int64) - np.repeat(ends - counts, counts)
        return flat[np.repeat(offsets[numbers], counts) + within], counts
