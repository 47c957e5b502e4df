"""BM25's batch scanner: a batch of texts cut into word runs as bytes, in numpy.

:class:`~embed_plugins.families.bm25.Bm25` turns text into tokens by the rules in
its module docstring.  For ASCII those rules are a byte table: letters and
digits lower-cased, ``_`` kept, every other ASCII byte a separator.  So a batch
is joined, UTF-8 encoded and translated with :data:`RULE_1_BYTES` in C, and the
runs between separator bytes are found with numpy.  A separator is a separator
under the Unicode rules as well (ASCII punctuation and whitespace are never
``\\w``), and the case-mapping context of a run (final sigma) never reaches
past one, so cutting there changes nothing.  A run is then one of:

* an **ASCII token** (:attr:`BatchScan.tokens`): ASCII only and at most
  ``min(32, token_max_length)`` bytes.  It is exactly one token, lower-cased by the
  table, and its bytes are its identity;
* a **keyed run** (:attr:`BatchScan.runs`): it holds a byte of 0x80 or more
  and is at most 32 bytes long.  Its word boundaries, case mapping and filters
  need the Unicode rules, so the caller resolves it as a string once; after
  that its original (untranslated) bytes identify it;
* **dropped**: ASCII only and longer than ``token_max_length`` (rule 2; it
  does not count towards the document length);
* a **chunk** (:attr:`BatchScan.chunks`): anything else (an ASCII run between
  the two limits, a longer non-ASCII run), returned as its original ``str``.

Identity by bytes: a run's bytes are read as four little-endian uint64 *words*
(zero above its end; runs hold no NUL byte, so the words are unique to the
run).  Its *key* is the first word itself when the run has at most 8 bytes, and
otherwise a 64-bit mix of the words (not a cryptographic one: collisions can be
built on purpose, and only cost speed).  Keys only find candidates:
:func:`unique_keys` and :class:`KeyTable` compare the words too, and report a
*clash* (same key, other words) instead of merging, so nothing is ever merged by
a hash collision.  The caller sends clashing runs down the chunk path.

Texts are UTF-8 encoded with ``surrogatepass``: a lone surrogate becomes three
bytes of 0x80 or more and decodes back unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "KEY_BYTES",
    "RULE_1_BYTES",
    "BatchScan",
    "KeyTable",
    "Keyed",
    "scan_batch",
    "strings_of_words",
    "unique_keys",
]

_SPACE = 0x20
#: Rule 1 as a byte table: ASCII letters lower-cased, digits and ``_`` kept, every other
#: ASCII byte a space; bytes of 0x80 and more (UTF-8 sequences) kept as they are.  (bm25_text's
#: ``_ASCII_RULE_1`` is the same rule for its chunk path, which splits at newlines and only
#: sees ASCII text, so it keeps ``\n`` and has no use for high bytes.)
RULE_1_BYTES = bytes(
    (ord(chr(c).lower()) if chr(c).isalnum() or c == 0x5F else _SPACE) if c < 0x80 else c
    for c in range(256)
)
#: Runs of at most this many bytes are identified by their bytes (four uint64 words).
KEY_BYTES = 32
_WORDS = KEY_BYTES // 8
#: ``_LOW_BYTES[n]`` keeps the low ``n`` bytes of a uint64.
_LOW_BYTES = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)
_MIX = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5],
    dtype=np.uint64,
)
_SHIFT = np.uint64(31)
#: Bytes after the last text: room for an unaligned 8-byte read at every word of a run.
_PAD = b" " * (KEY_BYTES + 8)

Int64Array = npt.NDArray[np.int64]
UInt64Array = npt.NDArray[np.uint64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Keyed:
    """Runs identified by their bytes.

    ``keys[i]`` and ``first_words[i]`` (the run's first 8 bytes) for every run,
    ``texts[i]`` the number of the text it belongs to; the words 1-3 of the runs
    of more than 8 bytes (whose key is a mix, not the bytes) are rows of
    ``long_words``, run ``i``'s at ``long_row[i]`` (-1 for a short run).  Most
    runs are short, so per-run work stays one-dimensional.
    """

    keys: UInt64Array
    first_words: UInt64Array
    texts: Int64Array
    long_words: UInt64Array
    long_row: Int64Array

    def words(self, runs: Int64Array) -> UInt64Array:
        """The four words of each of ``runs`` (row numbers), as an ``(len(runs), 4)`` array."""
        out = np.zeros((runs.size, _WORDS), dtype=np.uint64)
        out[:, 0] = self.first_words.take(runs)
        if self.long_words.shape[0]:
            rows = self.long_row.take(runs)
            long = np.flatnonzero(rows >= 0)
            out[long, 1:] = self.long_words.take(rows[long], axis=0)
        return out


@dataclass(frozen=True)
class BatchScan:
    """The runs of one batch, by kind (see the module docstring), each in text order."""

    tokens: Keyed
    runs: Keyed
    chunks: list[str]
    chunk_texts: Int64Array  #: the text each chunk belongs to


def mix_words(words: UInt64Array) -> UInt64Array:
    """The key of runs longer than 8 bytes: a 64-bit mix of their four words (rows)."""
    with np.errstate(over="ignore"):
        mixed = (words * _MIX).sum(axis=1, dtype=np.uint64)
        return mixed ^ (mixed >> _SHIFT)  # type: ignore[no-any-return]


def _keyed(
    data: npt.NDArray[np.uint8], starts: Int64Array, lengths: Int64Array, texts: Int64Array
) -> Keyed:
    """Words and keys of the runs ``data[start : start + length]`` (each <= 32 bytes)."""
    reads = np.ndarray((data.size - 7,), dtype="<u8", buffer=data, strides=(1,))
    first_words = reads.take(starts) & _LOW_BYTES[np.minimum(lengths, 8)]
    keys = first_words.copy()
    long = np.flatnonzero(lengths > 8)
    long_words = np.zeros((long.size, _WORDS - 1), dtype=np.uint64)
    if long.size:
        long_starts, long_lengths = starts[long], lengths[long]
        for j in range(1, _WORDS):
            rows = np.flatnonzero(long_lengths > 8 * j)
            tail = np.minimum(long_lengths[rows] - 8 * j, 8)
            long_words[rows, j - 1] = reads.take(long_starts[rows] + 8 * j) & _LOW_BYTES[tail]
        full = np.concatenate((first_words[long, None], long_words), axis=1)
        keys[long] = mix_words(full)
    long_row = np.full(keys.size, -1, dtype=np.int64)
    long_row[long] = np.arange(long.size, dtype=np.int64)
    return Keyed(keys, first_words, texts, long_words, long_row)


def scan_batch(texts: Sequence[str], token_max_length: int) -> BatchScan:
    """Cut ``texts`` into runs (see the module docstring).

    ASCII runs of at most ``min(32, token_max_length)`` bytes are tokens; ASCII
    runs longer than ``token_max_length`` are dropped; non-ASCII runs of at most
    32 bytes are keyed runs; every other run is a chunk.
    """
    joined = " ".join(texts)
    ascii_only = joined.isascii()
    sizes = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    if ascii_only:
        raw = joined.encode("ascii")
    else:  # the UTF-8 sizes of the texts that are not ASCII
        raw = joined.encode("utf-8", "surrogatepass")
        wide = np.flatnonzero(
            ~np.fromiter(map(str.isascii, texts), dtype=np.bool_, count=sizes.size)
        )
        sizes[wide] = [len(texts[i].encode("utf-8", "surrogatepass")) for i in wide.tolist()]
    # One space in front, so that run starts and ends are both edges of the is-word mask.
    data = np.frombuffer(b"".join((b" ", raw.translate(RULE_1_BYTES), _PAD)), dtype=np.uint8)
    is_word = data != _SPACE
    edges = np.flatnonzero(is_word[1:] != is_word[:-1]) + 1
    starts, ends = edges[0::2], edges[1::2]
    lengths = ends - starts
    # Text t occupies data[first[t] : first[t] + sizes[t]]; the single spaces between texts
    # and the one in front are separators, so every run lies inside one text, in order.
    first = np.cumsum(sizes + 1) - sizes
    runs_before = np.searchsorted(starts, first)
    run_texts = np.repeat(
        np.arange(sizes.size, dtype=np.int64), np.diff(runs_before, append=starts.size)
    )

    token = lengths <= min(token_max_length, KEY_BYTES)
    chunk = lengths <= token_max_length
    keyed_run = np.zeros(0, dtype=np.bool_)
    if not ascii_only:  # runs holding a byte >= 0x80 follow the Unicode rules
        unicode = np.zeros(starts.size, dtype=np.bool_)
        unicode[np.searchsorted(starts, np.flatnonzero(data >= 0x80), side="right") - 1] = True
        token &= ~unicode
        keyed_run = unicode & (lengths <= KEY_BYTES)
        chunk = (chunk | unicode) & ~keyed_run
    chunk &= ~token

    tokens = _keyed(data, starts[token], lengths[token], run_texts[token])
    if keyed_run.any():
        original = np.frombuffer(b"".join((b" ", raw, _PAD)), dtype=np.uint8)
        runs = _keyed(original, starts[keyed_run], lengths[keyed_run], run_texts[keyed_run])
    else:
        runs = _keyed(data, starts[:0], lengths[:0], run_texts[:0])
    chunks = _cut(raw, starts[chunk] - 1, lengths[chunk])  # data offsets - 1 = raw offsets
    return BatchScan(tokens, runs, chunks, run_texts[chunk])


def _cut(raw: bytes, starts: Int64Array, lengths: Int64Array) -> list[str]:
    """``raw[start : start + length]`` of each run, decoded, in one pass.

    The runs' bytes are gathered with a newline after each (runs hold no ASCII
    separator, and a newline is one), decoded once and split at the newlines.
    """
    if starts.size == 0:
        return []
    spans = lengths + 1
    total = int(spans.sum())
    source = np.frombuffer(raw + b"\n", dtype=np.uint8)
    offsets = np.cumsum(spans) - spans
    gathered = source.take(np.repeat(starts - offsets, spans) + np.arange(total))
    gathered[offsets + lengths] = 0x0A
    return gathered.tobytes().decode("utf-8", "surrogatepass").split("\n")[:-1]


def strings_of_words(words: UInt64Array, ascii_only: bool) -> list[str]:
    """The runs (as ``str``) whose bytes are ``words`` (rows of four little-endian uint64)."""
    packed = np.ascontiguousarray(words, dtype="<u8").view(f"S{KEY_BYTES}").ravel()
    if ascii_only:
        return packed.astype(f"U{KEY_BYTES}").tolist()  # type: ignore[no-any-return]
    return [item.decode("utf-8", "surrogatepass") for item in packed.tolist()]


def unique_keys(keyed: Keyed) -> tuple[UInt64Array, Int64Array, Int64Array, BoolArray]:
    """The distinct keys of ``keyed``, sorted.

    Returns ``(unique, representative, inverse, clash)``: ``keys[representative[j]]
    == unique[j]``, ``unique[inverse[i]] == keys[i]``, and ``clash[i]`` marks the
    runs whose bytes differ from their key's representative's (a hash collision
    with a long run: practically never, but such runs must not be merged, so the
    caller sends them down the chunk path).
    """
    keys = keyed.keys
    order = np.argsort(keys)
    ordered = keys[order]
    new = np.empty(ordered.size, dtype=np.bool_)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(keys.size, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    representative = order[new]
    clash = np.zeros(keys.size, dtype=np.bool_)
    if keyed.long_words.shape[0]:
        # Two short runs with one key are the same run.  A short run clashes exactly when its
        # group's representative is long; a long run is compared with it word for word.
        rep_rows = keyed.long_row.take(representative).take(inverse)
        clash = rep_rows >= 0
        long = np.flatnonzero(keyed.long_row >= 0)
        reps = representative.take(inverse.take(long))
        rep_long = rep_rows.take(long)
        same = (rep_long >= 0) & (keyed.first_words.take(long) == keyed.first_words.take(reps))
        same[same] = (keyed.long_words[same] == keyed.long_words.take(rep_long[same], axis=0)).all(
            axis=1
        )
        clash[long] = ~same
    return ordered[new], representative, inverse, clash


class _Level:
    """Distinct keys, sorted, with one row each: the four words and the code's int64 bits.

    Never changed after it is built (:class:`KeyTable` builds new levels), so threads
    may read it while another builds the next one.
    """

    def __init__(self, keys: UInt64Array, rows: UInt64Array) -> None:
        self.keys = keys
        self.rows = rows

    @classmethod
    def empty(cls) -> _Level:
        return cls(np.zeros(0, dtype=np.uint64), np.zeros((0, _WORDS + 1), dtype=np.uint64))

    def holds(self, keys: UInt64Array) -> BoolArray:
        """Which of ``keys`` this level holds (whatever their words)."""
        if self.keys.size == 0:
            return np.zeros(keys.size, dtype=np.bool_)
        at = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
        return self.keys.take(at) == keys  # type: ignore[no-any-return]

    def lookup(
        self, keys: UInt64Array, words: UInt64Array
    ) -> tuple[Int64Array, BoolArray, BoolArray]:
        if self.keys.size == 0:
            absent = np.zeros(keys.size, dtype=np.bool_)
            return np.zeros(keys.size, dtype=np.int64), absent, absent.copy()
        at = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
        same_key = self.keys.take(at) == keys
        rows = self.rows.take(at, axis=0)
        same_words = (rows[:, :_WORDS] == words).all(axis=1)
        return rows[:, _WORDS].view(np.int64), same_key & same_words, same_key & ~same_words


class KeyTable:
    """A map from a run's key (with its words) to an int64 code, looked up in bulk.

    Two sorted levels: a large one, and a small one that takes the new keys
    (``np.insert``, cheap at its size) and is merged into the large one when it
    reaches a quarter of it, so the total work of adding ``n`` keys stays
    ``O(n log n)``.  A key present with *other* words is a clash:
    :meth:`lookup` reports it, and :meth:`add` does not store it.

    Safe to share between threads: the levels are never changed in place, and
    the pair is published as one tuple (a lookup reads the pair once, so it
    never sees a merged main level with the recent level it was merged from
    already emptied, or the reverse); :meth:`add` builds the new pair under a
    lock, so two threads adding at once cannot drop each other's keys, and skips
    keys another thread added since the caller's lookup, so keys stay distinct.
    """

    def __init__(self) -> None:
        self._levels = (_Level.empty(), _Level.empty())  # (main, recent)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        main, recent = self._levels
        return int(main.keys.size + recent.keys.size)

    @property
    def keys(self) -> UInt64Array:
        """Every key held (unsorted across the two levels)."""
        main, recent = self._levels
        return np.concatenate((main.keys, recent.keys))

    def lookup(
        self, keys: UInt64Array, words: UInt64Array
    ) -> tuple[Int64Array, BoolArray, BoolArray]:
        """For distinct ``keys``: ``(codes, found, clash)``; ``codes[i]`` is valid where
        ``found[i]``, and ``clash[i]`` marks a key held for other words."""
        main, recent = self._levels
        codes, found, clash = main.lookup(keys, words)
        rest = np.flatnonzero(~(found | clash))
        if rest.size and recent.keys.size:
            codes[rest], found[rest], clash[rest] = recent.lookup(keys[rest], words[rest])
        return codes, found, clash

    def add(self, keys: UInt64Array, words: UInt64Array, codes: Int64Array) -> None:
        """Add distinct sorted ``keys`` that :meth:`lookup` found in neither level (keys
        that another thread has added since are left as they are)."""
        with self._lock:
            main, recent = self._levels
            held = main.holds(keys) | recent.holds(keys)
            if held.any():  # only when threads add at once: keep one entry per key
                keys, words, codes = keys[~held], words[~held], codes[~held]
            positions = np.searchsorted(recent.keys, keys)
            rows = np.concatenate((words, codes.view(np.uint64)[:, None]), axis=1)
            recent = _Level(
                np.insert(recent.keys, positions, keys),
                np.insert(recent.rows, positions, rows, axis=0),
            )
            if recent.keys.size > max(4096, main.keys.size // 4):
                merged_keys = np.concatenate((main.keys, recent.keys))
                order = np.argsort(merged_keys)
                merged_rows = np.concatenate((main.rows, recent.rows))
                main, recent = _Level(merged_keys[order], merged_rows[order]), _Level.empty()
            self._levels = (main, recent)
