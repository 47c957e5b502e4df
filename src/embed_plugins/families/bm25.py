"""BM25 as sparse vectors, identical to fastembed 0.9.1's ``Qdrant/bm25``.

No ONNX and no multiprocessing here: pure functions and one small class,
:class:`Bm25`.  The vectors are meant for a Qdrant sparse index with the
``idf`` modifier: the document side carries the BM25 term-frequency part, the
query side marks each query term with 1.0, and Qdrant supplies the IDF.

The rules (read from fastembed 0.9.1, ``fastembed/sparse/bm25.py``,
``fastembed/sparse/utils/tokenizer.py`` and ``fastembed/common/utils.py``)
--------------------------------------------------------------------------

1. **Words.**  fastembed replaces every character that is neither a word
   character nor whitespace (``[^\\w\\s]``, Python ``re``) with a space, then
   lower-cases the whole text (``str.lower``), replaces every non-word
   character with a space, and splits.  So a token is a maximal run of ``\\w``
   characters (Unicode letters, digits -- any ``str.isalnum`` character -- and
   ``_``) of the lower-cased text.  Consequences kept here on purpose:

   * punctuation splits words: ``don't`` -> ``don``, ``t``; ``3.14`` -> ``3``,
     ``14``; ``e-mail`` -> ``e``, ``mail``; ``_`` joins: ``snake_case`` stays
     one token;
   * combining marks (Unicode category ``M``: Arabic harakat, Indic vowel
     signs, a decomposed accent) are not ``\\w``, so they split a word:
     ``தமிழ்`` -> ``தம``, ``ழ``.  (fastembed's main branch has since changed
     this; 0.9.1, the released version, splits, and so do we);
   * ``İ`` lower-cases to ``i`` + U+0307 (a combining mark), so ``İstanbul``
     -> ``i``, ``stanbul``; a final ``Σ`` lower-cases to ``ς``.
   * CJK text has no spaces, so a run of Han characters is one token.

2. **Filters**, in fastembed's order, on each lower-cased token ``t``:
   drop it if it is a single punctuation character (Unicode category ``P*``;
   among word characters only ``_`` is), if ``t.lower()`` is in the
   stopword list (the language's, or the ``stopwords`` given), or if
   ``len(t) > token_max_length`` (40: longer tokens are dropped, not truncated).

3. **Stemming.**  Snowball, through ``py_rust_stemmers.SnowballStemmer``
   (the Rust ``rust-stemmers`` crate, the stemmer fastembed uses; the newer
   pure-Python ``snowballstemmer`` gives different stems for e.g. English
   ``added``, Dutch, German and Russian).  A token whose stem is empty is
   dropped.  ``disable_stemmer=True`` keeps the lower-cased token as is *and
   turns the language's stopword list off* (fastembed does both); a custom
   ``stemmer``'s ``stem_word`` replaces Snowball (see :mod:`.bm25_options`).

4. **Document length** ``len`` is the number of tokens left after steps 2
   and 3 (stopwords, over-long tokens and lone ``_`` do not count).

5. **Term weight** of a stem occurring ``tf`` times::

       tf * (k + 1) / (tf + k * (1 - b + b * len / avg_len))

   with ``k=1.2``, ``b=0.75``, ``avg_len=256.0`` by default, evaluated in
   float64 in exactly fastembed's operation order, then stored as float32.

6. **Index** of a stem: MurmurHash3 x86 32-bit of its UTF-8 bytes, seed 0,
   read as a *signed* int32 (``mmh3.hash``), and its absolute value.  fastembed
   0.9.1 takes ``abs`` of a Python ``int``, so the hash ``-2**31`` (the token
   ``ad1u66pi``) gives index ``2**31`` on both its document and query paths
   (its test ``tests/test_bm25_query_index_overflow.py`` pins this; an int32
   index would overflow there).  Our indices are int64 with the same values,
   ``0 <= index <= 2**31``, so they equal fastembed 0.9.1's everywhere.  The
   hash is computed here in pure Python / numpy (:func:`murmurhash3_32`,
   :func:`murmurhash3_32_many`), once per distinct token; ``mmh3`` is not needed.

7. **Queries** get the same tokens and stems; each distinct index appears
   once with value 1.0.

Where we differ from fastembed 0.9.1, on purpose
-------------------------------------------------

* ``abs`` maps the hashes ``h`` and ``-h`` to one index, so two different
  stems can share an index (unstemmed, ``kitchens`` and ``prostaglandins``
  hash to 358434922 and -358434922).  When both occur in one document,
  fastembed 0.9.1 writes the weight of each stem in turn to the shared index,
  so the stem whose first occurrence comes last wins and the other is lost
  (the result depends on word order).  We count both towards the shared
  index, as one term with ``tf = tf1 + tf2`` -- the order-independent reading,
  and the one the index can see.  Only documents holding such a pair differ
  (for 100 distinct stems, about 2 documents in a million).
* Values are float32 (fastembed returns float64); indices are sorted ascending
  (fastembed keeps first-occurrence order).  Each value is fastembed's float64
  value rounded to float32.
* Bad input is an error: non-``str`` items raise
  :class:`~embed_plugins.errors.InvalidInputError` naming the index.

Speed
-----

fastembed does Python work per token; here a batch of texts is handled as a
whole, with numpy, and an instance caches what each chunk and token resolves
to, so each goes through the rules once.  The code is in four modules beside
this one: :mod:`.bm25_codes` (text to indices, per batch and per short call:
how, and why it is fast), :mod:`.bm25_scan` (the numpy batch scanner),
:mod:`.bm25_cache` (the bounded caches, which threads share safely: no lock is
held while a batch is scanned, stemmed or counted), :mod:`.bm25_text`
(rules 1 and 2 on strings: languages, stopwords, word splitting) and
:mod:`.bm25_options` (the constructor's options and their errors).
``python benchmarks/bench_bm25.py`` measures the speed against fastembed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

import numpy as np
from py_rust_stemmers import SnowballStemmer

from embed_plugins.errors import InvalidInputError
from embed_plugins.results import SPARSE_INDEX_DTYPE, SPARSE_VALUE_DTYPE, SparseVector

from .bm25_cache import _CacheBounds, _Caches
from .bm25_codes import _Bm25Codes, _split_vectors
from .bm25_options import (
    DEFAULT_AVG_LEN,
    DEFAULT_B,
    DEFAULT_K,
    DEFAULT_TOKEN_MAX_LENGTH,
    Stemmer,
    bm25_weights,
    check_parameters,
    check_stemmer,
    stopword_set,
)
from .bm25_scan import KeyTable
from .bm25_text import _EDGE_PUNCTUATION as _EDGE_PUNCTUATION  # re-exported: tests read
from .bm25_text import _LOWER_ADDS_NON_WORD as _LOWER_ADDS_NON_WORD
from .bm25_text import (
    SUPPORTED_LANGUAGES,
    _check_language,
    _check_texts,
    _split_chunk,
    load_stopwords,
)
from .murmur3 import murmurhash3_32, murmurhash3_32_many, token_id, token_ids_many
from .sparse_common import frozen_vector

__all__ = [
    "DEFAULT_AVG_LEN",
    "DEFAULT_B",
    "DEFAULT_K",
    "DEFAULT_TOKEN_MAX_LENGTH",
    "SUPPORTED_LANGUAGES",
    "Bm25",
    "bm25_weights",
    "load_stopwords",
    "murmurhash3_32",
    "murmurhash3_32_many",
    "token_id",
    "token_ids_many",
]

# Cache bounds (read at each call by Bm25._current_caches; see bm25_cache.py).  Each cache has
# two generations: when the young one is full (checked between batches) it becomes the old one
# and the previous old one is dropped; a lookup that misses the young generation but hits the old
# one moves the entry back.  Frequent chunks stay; memory stays under two generations (some tens
# of MB at most).
_MAX_CACHED_CHUNKS = 1 << 17
_MAX_CACHED_CHARS = 1 << 22
_MAX_CACHED_TOKENS = 1 << 17
# The key tables (bm25_scan.KeyTable, 48 bytes an entry) start afresh past this size; their
# entries are rebuilt from the token and chunk caches.
_MAX_KEYED = 1 << 18
# Documents and characters per numpy pass (bound the memory of one pass, not the result).
# Calls with at most _SMALL_CALL texts (a search query) skip numpy, whose fixed costs would
# dominate.
_BATCH_DOCS = 1024
_BATCH_CHARS = 1 << 20
_SMALL_CALL = 8


# --------------------------------------------------------------------------- the model


class Bm25(_Bm25Codes):
    """fastembed-compatible BM25 sparse vectors for documents and queries.

    Args:
        language: one of :data:`SUPPORTED_LANGUAGES` (case-insensitive): its
            Snowball stemmer and stopword list.  Any string is accepted with
            ``disable_stemmer`` or a custom ``stemmer`` (no stopword list then
            unless the language has one).
        k: term-frequency saturation, ``>= 0``.
        b: document-length normalisation, in ``[0, 1]``.
        avg_len: the corpus's average document length in tokens, ``> 0``.
        token_max_length: tokens longer than this (characters) are dropped.
        disable_stemmer: keep lower-cased tokens unstemmed, and use no stopword list
            (``stopwords`` still apply).  Cannot be combined with ``stemmer``.
        stemmer: a custom stemmer instead of Snowball: any object with a
            ``stem_word(word) -> str`` method (:class:`~.bm25_options.Stemmer`);
            it gets lower-cased tokens after the filters, and an empty stem drops
            the token.  Results are cached: ``stem_word`` must be a pure function.
        stopwords: words to drop instead of the language's list (lower-cased;
            an empty set drops none).

    The options are fastembed 0.9.1's, with its errors (:mod:`.bm25_options`).
    They fix the vocabulary, so they are read-only after construction: the
    caches, which belong to one instance, never mix two settings.  (``k``, ``b``
    and ``avg_len`` only weigh the counts, and are not cached.)

    Instances cache per-chunk results.  One instance may be shared by threads that
    embed at the same moment: each call works on one consistent generation of the
    caches, whose entries are only ever added whole (see :class:`~.bm25_cache._Caches`), so
    every thread gets exactly the vectors a single-threaded instance gives.
    """

    def __init__(
        self,
        language: str = "english",
        k: float = DEFAULT_K,
        b: float = DEFAULT_B,
        avg_len: float = DEFAULT_AVG_LEN,
        token_max_length: int = DEFAULT_TOKEN_MAX_LENGTH,
        disable_stemmer: bool = False,
        *,
        stemmer: Stemmer | None = None,
        stopwords: Iterable[str] | None = None,
    ) -> None:
        check_parameters(k, b, avg_len, token_max_length)
        self._disable_stemmer = bool(disable_stemmer)
        if self._disable_stemmer and stemmer is not None:
            raise InvalidInputError("stemmer cannot be supplied with disable_stemmer=True")
        check_stemmer(stemmer, "Bm25", picklable=False)  # the spec, which is pickled, checks that
        if self._disable_stemmer or stemmer is not None:
            if not isinstance(language, str):
                raise InvalidInputError(f"language must be a str, got {type(language).__name__}")
            self._language = language.strip().lower()
            self._stemmer: SnowballStemmer | Stemmer | None = stemmer
            known = not self._disable_stemmer and self._language in SUPPORTED_LANGUAGES
            default_stopwords = load_stopwords(self._language) if known else frozenset()
        else:
            self._language = _check_language(language)
            self._stemmer = SnowballStemmer(self._language)
            default_stopwords = load_stopwords(self._language)
        self._custom_stemmer = stemmer
        custom_stopwords = stopword_set(stopwords, "Bm25")
        self._stopwords_given = custom_stopwords is not None
        self._stopwords = default_stopwords if custom_stopwords is None else custom_stopwords
        # ASCII tokens that rule 2 drops, given the scanner's length check: see _ascii_token_codes
        self._drop_if_ascii = self._stopwords | {"_"}
        self.k = float(k)
        self.b = float(b)
        self.avg_len = float(avg_len)
        self._token_max_length = token_max_length

        # Every cache, as one generation (see _Caches): replaced whole, never changed in place.
        self._caches = _Caches.empty()
        self._aging = threading.Lock()  # one thread at a time starts a new generation

    def __repr__(self) -> str:
        custom = (f", stemmer={self._stemmer!r}" if self.stemmer is not None else "") + (
            f", stopwords=<{len(self._stopwords)} words>" if self._stopwords_given else ""
        )
        return (
            f"Bm25(language={self.language!r}, k={self.k}, b={self.b}, "
            f"avg_len={self.avg_len}, token_max_length={self.token_max_length}, "
            f"disable_stemmer={self.disable_stemmer}{custom})"
        )

    # The settings that fix the vocabulary (and so the caches' entries): read-only.
    @property
    def language(self) -> str:
        return self._language

    @property
    def disable_stemmer(self) -> bool:
        return self._disable_stemmer

    @property
    def token_max_length(self) -> int:
        return self._token_max_length

    @property
    def stemmer(self) -> Stemmer | None:
        """The custom stemmer, or ``None`` (Snowball for :attr:`language`, or none)."""
        return self._custom_stemmer

    @property
    def stopwords(self) -> frozenset[str]:
        """The stopwords in force: ``stopwords`` if given, else the language's list
        (empty when the stemmer is disabled)."""
        return self._stopwords

    # The current generation's caches, for inspection (tests, debugging).
    @property
    def _codes(self) -> dict[str, int]:
        return self._caches.codes

    @property
    def _keyed_tokens(self) -> KeyTable:
        return self._caches.keyed_tokens

    @property
    def _keyed_runs(self) -> KeyTable:
        return self._caches.keyed_runs

    def _current_caches(self) -> _Caches:
        """The caches for one batch or small call: the current generation, or a new one
        where it is full.  A call keeps the generation it got until it returns (its codes
        stay valid there), so ageing only ever happens between one call's batches."""
        bounds = _CacheBounds(_MAX_CACHED_CHUNKS, _MAX_CACHED_CHARS, _MAX_CACHED_TOKENS, _MAX_KEYED)
        caches = self._caches
        if caches.full(bounds):
            with self._aging:  # two threads that find it full start one new generation
                caches = self._caches
                if caches.full(bounds):
                    caches = self._caches = caches.aged(bounds)
        return caches

    def tokenize(self, text: str) -> list[str]:
        """The stems of ``text`` in order, after every filter (rules 1-3)."""
        if not isinstance(text, str):
            raise InvalidInputError(f"text is {type(text).__name__}, not str")
        stems: list[str] = []
        for chunk in text.split():
            for token in _split_chunk(chunk):
                stem = self._stem(token)
                if stem:
                    stems.append(stem)
        return stems

    def token_count(self, texts: Iterable[str]) -> int:
        """Total number of tokens of ``texts`` before any filter, as fastembed counts them."""
        return sum(
            len(_split_chunk(chunk))
            for text in _check_texts(texts, "texts")
            for chunk in text.split()
        )

    def embed_documents(self, texts: Iterable[str]) -> list[SparseVector]:
        """One BM25 document vector per text (rule 5 weights, float32, sorted indices)."""
        checked = _check_texts(texts, "texts")
        if len(checked) <= _SMALL_CALL:
            caches = self._current_caches()
            return [self._document_one(caches, text) for text in checked]
        k, b, avg_len = self.k, self.b, self.avg_len
        vectors: list[SparseVector] = []
        for batch in _batches(checked):
            indices, tf, sizes, doc_lens = self._unique_counts(batch)
            tf_f = tf.astype(np.float64)
            lens_f = np.repeat(doc_lens.astype(np.float64), sizes)
            # bm25_weights' expression, element-wise: the same float64 operations in the same order.
            values = ((tf_f * (k + 1)) / (tf_f + k * (1 - b + b * lens_f / avg_len))).astype(
                SPARSE_VALUE_DTYPE
            )
            vectors.extend(_split_vectors(indices, values, sizes))
        return vectors

    def embed_queries(self, texts: Iterable[str]) -> list[SparseVector]:
        """One query vector per text: each distinct index once, with value 1.0."""
        checked = _check_texts(texts, "texts")
        if len(checked) <= _SMALL_CALL:
            caches = self._current_caches()
            return [self._query_one(caches, text) for text in checked]
        vectors: list[SparseVector] = []
        for batch in _batches(checked):
            indices, _, sizes, _ = self._unique_counts(batch)
            values = np.ones(indices.size, dtype=SPARSE_VALUE_DTYPE)
            vectors.extend(_split_vectors(indices, values, sizes))
        return vectors

    def _document_one(self, caches: _Caches, text: str) -> SparseVector:
        counts = self._counts_one(caches, text)
        indices = sorted(counts)
        k, b, avg_len = self.k, self.b, self.avg_len
        # bm25_weights' expression with Python floats: the same float64 operations.
        norm = k * (1 - b + b * sum(counts.values()) / avg_len)
        values = [counts[i] * (k + 1) / (counts[i] + norm) for i in indices]
        return frozen_vector(
            np.array(indices, dtype=SPARSE_INDEX_DTYPE), np.array(values, dtype=SPARSE_VALUE_DTYPE)
        )

    def _query_one(self, caches: _Caches, text: str) -> SparseVector:
        indices = sorted(self._counts_one(caches, text))
        return frozen_vector(
            np.array(indices, dtype=SPARSE_INDEX_DTYPE), np.ones(len(indices), SPARSE_VALUE_DTYPE)
        )


def _batches(texts: list[str]) -> Iterator[list[str]]:
    """``texts`` in batches of at most ``_BATCH_DOCS`` texts and (unless one text is longer)
    ``_BATCH_CHARS`` characters, which bounds the memory of one numpy pass."""
    ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
    first, consumed = 0, 0
    while first < len(texts):
        fits = int(np.searchsorted(ends, consumed + _BATCH_CHARS, side="right"))
        end = min(max(fits, first + 1), first + _BATCH_DOCS, len(texts))
        yield texts[first:end]
        first, consumed = end, int(ends[end - 1])
