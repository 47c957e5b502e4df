"""How a :class:`~embed_plugins.families.bm25.Bm25` turns text into indices, fast.

Rules 1-3 and 6 of :mod:`embed_plugins.families.bm25` (words, filters, stemming,
hashing), applied through the instance's caches (:mod:`.bm25_cache`) so that each
distinct chunk or token goes through them once.  :class:`_Bm25Codes` is the part of
``Bm25`` that does it; ``Bm25`` adds the arguments, the weights and the public methods.

fastembed does Python work per token.  Here a batch of texts (up to 1,024
texts and about a million characters) is handled as a whole, by :mod:`.bm25_scan`:

* It joins the batch, UTF-8 encodes it and applies rule 1 for ASCII as a byte
  table (``bytes.translate``), then finds the runs between ASCII separators
  with numpy.  A run of at most 32 bytes is identified by its bytes (read as
  four uint64 words; a 64-bit key to sort and search by, with the words
  compared too, so a key collision can never merge two runs).
* An ASCII run is exactly one token.  The batch's distinct tokens (one sort)
  are looked up in a per-instance key table (``searchsorted``); only tokens
  never seen before are decoded and go through rules 2, 3 and 6 in bulk: one
  ``stem_words`` call and one vectorised hash.
* A run with a non-ASCII character needs the Unicode rules (word boundaries,
  case mapping).  It is resolved once, as a string, by the chunk path below,
  and its code is then kept in a second key table under its original bytes.
* *Chunks* -- longer runs, and runs whose key clashed -- go through a
  per-instance dictionary that maps a chunk straight to its index, to
  "nothing kept", or to a code for a short list of indices (``"naïve—ok"``).
  New chunks go through the rules in bulk (one regular expression pass).
* Counting, document lengths and weights are one ``np.unique`` over packed
  ``(text, index)`` keys (:meth:`_Bm25Codes._unique_counts`) and one numpy
  expression (in ``Bm25``); the vectors of a batch are read-only views of its
  two result arrays (:func:`_split_vectors`).

Calls with a handful of texts (a search query) take a plain-Python path over
the chunk dictionary instead (:meth:`_Bm25Codes._counts_one`), as numpy's fixed
costs would dominate.  The caches are bounded; memory stays at some tens of MB at
most (see :mod:`.bm25_cache`).  ``python benchmarks/bench_bm25.py`` measures the
speed against fastembed.

One instance may be shared by threads (the adapters' async methods do): a call
works on one generation of the caches, which are only ever extended with whole
entries, under short locks where an entry is more than one ``dict`` item, and
aged by publishing a new generation (:class:`~.bm25_cache._Caches`).  No lock is
held while a batch is scanned, stemmed or counted.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from itertools import chain, compress, repeat
from operator import not_

import numpy as np
import numpy.typing as npt
from py_rust_stemmers import SnowballStemmer

from embed_plugins.results import SparseVector

from .bm25_cache import _DROP, _FIRST_MULTI, _UNSEEN, _Caches
from .bm25_options import Stemmer, stem_of
from .bm25_scan import (
    BoolArray,
    Int64Array,
    Keyed,
    KeyTable,
    scan_batch,
    strings_of_words,
    unique_keys,
)
from .bm25_text import _EDGE_PUNCTUATION, _split_chunks
from .murmur3 import token_ids_many


class _Bm25Codes:
    """Rules 1-3 and 6 of one :class:`~embed_plugins.families.bm25.Bm25`, through its caches.

    Codes: an index (``>= 0``), ``_DROP`` (nothing kept) or a multi code (several
    indices, in the generation's :class:`~.bm25_cache._MultiTable`).
    """

    # Set by Bm25.__init__.
    _token_max_length: int
    _stemmer: SnowballStemmer | Stemmer | None  # Snowball, a custom stemmer, or none
    _stopwords: frozenset[str]
    _drop_if_ascii: frozenset[str]  # ASCII tokens that rule 2 drops: see _ascii_token_codes

    # ------------------------------------------------------------------ rules

    def _stem(self, token: str) -> str:
        """Rules 2 and 3 for one lower-cased word-character run: its stem, or ``""``."""
        if not self._stem_input(token):
            return ""
        lowered = token.lower()
        return lowered if self._stemmer is None else stem_of(self._stemmer, lowered)

    def _add_tokens(self, caches: _Caches, tokens: set[str]) -> None:
        """Rules 2, 3 and 6 for tokens not in ``caches.token_ids``: stems and hashes in bulk.

        Tokens come from lower-cased text and ``str.lower`` is idempotent, so
        fastembed's ``token.lower() in stopwords`` is ``token in stopwords`` here.
        """
        token_ids, old = caches.token_ids, caches.old_token_ids
        if old:
            for token in old.keys() & tokens:
                token_ids[token] = old[token]
                tokens.discard(token)
        limit, stopwords = self._token_max_length, self._stopwords
        kept = [
            token
            for token in tokens
            if len(token) <= limit
            and token not in stopwords
            and not (len(token) == 1 and unicodedata.category(token)[0] == "P")
        ]
        token_ids.update(dict.fromkeys(tokens.difference(kept), _DROP))
        if kept:
            token_ids.update(zip(kept, self._stem_ids(kept).tolist(), strict=True))

    def _stem_ids(self, tokens: list[str]) -> Int64Array:
        """Rules 3 and 6 for tokens that passed rule 2: each stem's index, ``_DROP`` if empty."""
        stemmer = self._stemmer
        if stemmer is None:
            stems = tokens
        elif isinstance(stemmer, SnowballStemmer):
            stems = stemmer.stem_words(tokens)
        else:  # fastembed's Stemmer protocol has stem_word only
            stems = list(map(stem_of, repeat(stemmer), tokens))
        ids = token_ids_many(stems)
        ids[np.fromiter(map(len, stems), dtype=np.int64, count=len(stems)) == 0] = _DROP
        return ids

    def _stem_input(self, token: str) -> bool:
        """Rule 2: whether a lower-cased token survives the filters and goes to the stemmer."""
        if len(token) == 1 and unicodedata.category(token)[0] == "P":
            return False
        return len(token) <= self._token_max_length and token.lower() not in self._stopwords

    def _resolve(self, caches: _Caches, chunks: set[str]) -> None:
        """Store the code of every chunk in ``chunks`` (none of them in the young generation)."""
        codes, old = caches.codes, caches.old_codes
        if old:
            for chunk in old.keys() & chunks:
                code = old[chunk]
                if code >= _DROP:  # old multi codes point into a dropped table: redo those
                    codes[chunk] = code
                    chunks.discard(chunk)
        if not chunks:
            return
        token_ids = caches.token_ids
        ordered = list(chunks)
        # Most chunks are one run of letters and digits with punctuation around it ("dog.").
        cores = list(map(str.lower, map(str.strip, ordered, repeat(_EDGE_PUNCTUATION))))
        simple = list(map(str.isalnum, cores))
        new_tokens = set(compress(cores, simple)).difference(token_ids)
        others = list(compress(ordered, map(not_, simple)))
        token_lists = _split_chunks(others)
        new_tokens.update(chain.from_iterable(token_lists))
        self._add_tokens(caches, new_tokens.difference(token_ids))

        index_of = token_ids.__getitem__
        codes.update(
            zip(compress(ordered, simple), map(index_of, compress(cores, simple)), strict=True)
        )
        if others:
            codes.update(
                zip(others, self._codes_of_many(caches, token_lists).tolist(), strict=True)
            )
        caches.chars.add(sum(map(len, ordered)))

    def _codes_of_many(self, caches: _Caches, token_lists: list[list[str]]) -> np.ndarray:
        """Codes of chunks given their tokens: the one kept index, _DROP, or a new multi code."""
        count = len(token_lists)
        sizes = np.fromiter(map(len, token_lists), dtype=np.int64, count=count)
        flat_tokens = list(chain.from_iterable(token_lists))
        ids = np.fromiter(
            map(caches.token_ids.__getitem__, flat_tokens), dtype=np.int64, count=len(flat_tokens)
        )
        chunk_of = np.repeat(np.arange(count), sizes)
        kept = ids != _DROP
        kept_ids, kept_chunk = ids[kept], chunk_of[kept]
        kept_count = np.bincount(kept_chunk, minlength=count)
        result = np.full(count, _DROP, dtype=np.int64)
        one = kept_count == 1
        result[one] = kept_ids[(np.cumsum(kept_count) - kept_count)[one]]
        several = kept_count >= 2
        if several.any():
            result[several] = caches.multi.add_block(
                kept_ids[several[kept_chunk]], kept_count[several]
            )
        return result

    def _current_caches(self) -> _Caches:
        """The caches for one batch or small call (``Bm25`` ages them by its bounds)."""
        raise NotImplementedError

    def _chunk_codes(self, caches: _Caches, chunks: list[str]) -> Int64Array:
        """The code of every chunk (an index, ``_DROP`` or a multi code), via the chunk cache."""
        codes_dict = caches.codes
        codes = np.fromiter(
            map(codes_dict.get, chunks, repeat(_UNSEEN)), dtype=np.int64, count=len(chunks)
        )
        unseen = codes == _UNSEEN
        if unseen.any():  # chunks not in the young cache: resolve each once, then fill them in
            flags = unseen.tolist()
            self._resolve(caches, set(compress(chunks, flags)))
            codes[unseen] = np.fromiter(
                map(codes_dict.__getitem__, compress(chunks, flags)),
                dtype=np.int64,
                count=int(np.count_nonzero(unseen)),
            )
        return codes

    def _ascii_token_codes(self, tokens: list[str]) -> Int64Array:
        """The index (or ``_DROP``) of each distinct new ASCII token: rules 2, 3 and 6 in bulk.

        These tokens are lower-cased and within the length limit already (the
        scanner saw to both), and ``_`` is the one ASCII word character that is
        punctuation, so of rule 2 only the stopwords and ``_`` remain.  No token
        cache: the key table holds the result.
        """
        dropped = np.fromiter(
            map(self._drop_if_ascii.__contains__, tokens), dtype=np.bool_, count=len(tokens)
        )
        codes = np.full(len(tokens), _DROP, dtype=np.int64)
        kept = list(compress(tokens, map(not_, dropped.tolist())))
        if kept:
            codes[~dropped] = self._stem_ids(kept)
        return codes

    def _keyed_codes(
        self,
        table: KeyTable,
        keyed: Keyed,
        resolve: Callable[[list[str]], Int64Array],
        ascii_only: bool,
    ) -> tuple[Int64Array, BoolArray]:
        """Codes of the runs in ``keyed``, via ``table``; runs not in it are decoded and
        ``resolve``-d (then added).  Also returns where a key clashed (see :mod:`.bm25_scan`):
        those runs' codes are not valid, and they must take the chunk path."""
        unique, first, inverse, clash = unique_keys(keyed)
        words = keyed.words(first)
        codes, found, clash_in_table = table.lookup(unique, words)
        missing = np.flatnonzero(~(found | clash_in_table))
        if missing.size:
            new_codes = resolve(strings_of_words(words[missing], ascii_only))
            codes[missing] = new_codes
            table.add(unique[missing], words[missing], new_codes)
        return codes[inverse], clash | clash_in_table[inverse]

    def _batch_codes(self, texts: Sequence[str]) -> tuple[Int64Array, Int64Array]:
        """Every kept token of ``texts`` as ``(index, text number)`` arrays (rules 1-3, 6)."""
        caches = self._current_caches()
        scan = scan_batch(texts, self._token_max_length)
        chunks, chunk_texts = scan.chunks, scan.chunk_texts
        parts: list[tuple[Int64Array, Int64Array]] = []
        for table, keyed, resolve, ascii_only in (
            (caches.keyed_tokens, scan.tokens, self._ascii_token_codes, True),
            (caches.keyed_runs, scan.runs, partial(self._chunk_codes, caches), False),
        ):
            if keyed.keys.size == 0:
                continue
            codes, clash = self._keyed_codes(table, keyed, resolve, ascii_only)
            if clash.any():  # hash collisions: these runs' own strings take the chunk path
                chunks = chunks + strings_of_words(keyed.words(np.flatnonzero(clash)), ascii_only)
                chunk_texts = np.concatenate((chunk_texts, keyed.texts[clash]))
                codes, text_of = codes[~clash], keyed.texts[~clash]
            else:
                text_of = keyed.texts
            parts.append((codes, text_of))
        if chunks:
            parts.append((self._chunk_codes(caches, chunks), chunk_texts))
        if not parts:
            return chunk_texts[:0], chunk_texts[:0]
        codes = np.concatenate([codes for codes, _ in parts])
        text_of = np.concatenate([text_of for _, text_of in parts])
        multi = np.flatnonzero(codes <= _FIRST_MULTI)
        if multi.size:  # runs such as "naïve—ok" or "3,14" stand for several indices
            extra, counts = caches.multi.expand(_FIRST_MULTI - codes[multi])
            codes = np.concatenate((codes, extra))
            text_of = np.concatenate((text_of, np.repeat(text_of[multi], counts)))
        kept = codes >= 0
        return codes[kept], text_of[kept]

    def _unique_counts(
        self, texts: Sequence[str]
    ) -> tuple[Int64Array, Int64Array, Int64Array, Int64Array]:
        """For a batch: sorted ``(text, index)`` pairs, their counts, per-text sizes and lengths.

        Returns ``(indices, tf, sizes, doc_lens)``: ``indices`` and ``tf`` hold every
        text's distinct indices (ascending) and term frequencies back to back,
        ``sizes[t]`` how many belong to text ``t``, ``doc_lens[t]`` its length (rule 4).
        """
        codes, text_of = self._batch_codes(texts)
        ntexts = len(texts)
        # Indices are < 2**32, so (text, index) packs into one int64 that sorts text-major.
        keys, tf = np.unique((text_of << 32) | codes, return_counts=True)
        return (
            keys & 0xFFFFFFFF,
            tf,
            np.bincount(keys >> 32, minlength=ntexts),
            np.bincount(text_of, minlength=ntexts),
        )

    def _counts_one(self, caches: _Caches, text: str) -> Counter[int]:
        """``{index: tf}`` of one text, in plain Python (no numpy: cheaper for a few texts)."""
        chunks = text.split()
        codes_dict = caches.codes
        codes = list(map(codes_dict.get, chunks, repeat(_UNSEEN)))
        if _UNSEEN in codes:
            self._resolve(
                caches,
                {chunk for chunk, code in zip(chunks, codes, strict=True) if code == _UNSEEN},
            )
            codes = list(map(codes_dict.__getitem__, chunks))
        counts = Counter(codes)
        counts.pop(_DROP, None)
        for code in [code for code in counts if code <= _FIRST_MULTI]:
            occurrences = counts.pop(code)
            for index in caches.multi.ids(code):
                counts[index] += occurrences
        return counts


def _split_vectors(
    indices: Int64Array, values: npt.NDArray[np.float32], sizes: Int64Array
) -> list[SparseVector]:
    """Cut batch-wide arrays (each text's run sorted, distinct) into one vector per text.

    The vectors are read-only views of the two batch arrays (copying each piece
    would cost more than the rest of a short document's embedding); a kept
    vector keeps its batch's arrays alive, a few hundred kB at most.
    """
    indices.setflags(write=False)
    values.setflags(write=False)
    ends = np.cumsum(sizes).tolist()
    pieces = list(map(slice, [0, *ends[:-1]], ends))
    return list(
        map(SparseVector, map(indices.__getitem__, pieces), map(values.__getitem__, pieces))
    )
