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
   language's stopword list, or if ``len(t) > token_max_length`` (40: longer
   tokens are dropped, not truncated).

3. **Stemming.**  Snowball, through ``py_rust_stemmers.SnowballStemmer``
   (the Rust ``rust-stemmers`` crate, the stemmer fastembed uses; the newer
   pure-Python ``snowballstemmer`` gives different stems for e.g. English
   ``added``, Dutch, German and Russian).  A token whose stem is empty is
   dropped.  ``disable_stemmer=True`` keeps the lower-cased token as is *and
   turns the stopword list off* (fastembed does both).

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
  ``(text, index)`` keys and one numpy expression; the vectors of a batch are
  read-only views of its two result arrays.

Calls with a handful of texts (a search query) take a plain-Python path over
the chunk dictionary instead, as numpy's fixed costs would dominate.  The
caches are bounded: the chunk and token dictionaries have two generations
each, the older one dropped when the younger fills up (frequent entries stay),
and the key tables start afresh past 262,144 entries; memory stays at some tens
of MB at most.  ``python benchmarks/bench_bm25.py`` measures the speed against
fastembed.

One instance may be shared by threads (the adapters' async methods do): a call
works on one generation of the caches, which are only ever extended with whole
entries, under short locks where an entry is more than one ``dict`` item, and
aged by publishing a new generation (:class:`_Caches`).  No lock is held while
a batch is scanned, stemmed or counted.
"""

from __future__ import annotations

import math
import re
import string
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from importlib import resources
from itertools import chain, compress, repeat
from operator import not_

import numpy as np
import numpy.typing as npt
from py_rust_stemmers import SnowballStemmer

from embed_plugins.errors import InvalidInputError
from embed_plugins.results import SPARSE_INDEX_DTYPE, SPARSE_VALUE_DTYPE, SparseVector

from .bm25_scan import (
    BoolArray,
    Int64Array,
    Keyed,
    KeyTable,
    scan_batch,
    strings_of_words,
    unique_keys,
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

DEFAULT_K = 1.2
DEFAULT_B = 0.75
DEFAULT_AVG_LEN = 256.0
#: fastembed's ``token_max_length``: longer tokens are dropped.
DEFAULT_TOKEN_MAX_LENGTH = 40

#: Languages with both a Snowball stemmer in ``py_rust_stemmers`` and a
#: stopword list under ``data/stopwords/`` (fastembed 0.9.1's list).  Tamil's
#: stopword file is empty on purpose: fastembed's ``Qdrant/bm25`` repository
#: has no Tamil list, so fastembed removes no Tamil stopwords.
SUPPORTED_LANGUAGES: tuple[str, ...] = (
    "arabic",
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "greek",
    "hungarian",
    "italian",
    "norwegian",
    "portuguese",
    "romanian",
    "russian",
    "spanish",
    "swedish",
    "tamil",
    "turkish",
)

# A run of word characters (rule 1) and the characters fastembed blanks before lower-casing.
_WORD = re.compile(r"\w+")
_NOT_WORD_NOR_SPACE = re.compile(r"[^\w\s]")
_NOT_WORD_NOR_NEWLINE = re.compile(r"[^\w\n]")
# Word characters whose str.lower() holds a non-word character: only "İ" (lower: "i" + U+0307)
# in the Unicode tables of CPython 3.10-3.13; a test checks the running Python's.
_LOWER_ADDS_NON_WORD = "\u0130"
# Common non-word characters around words ("dog.", "(the", "“quote”"): a chunk that is a run
# of letters and digits once these are stripped from its ends is one token.  Not "_": it is \w.
_EDGE_PUNCTUATION = "".join(c for c in string.punctuation if c != "_") + "‘’“”«»–—…"
# Rule 1 for ASCII as a byte table: letters lower-cased, digits and "_" kept, "\n" (our chunk
# separator) kept, every other byte (punctuation, controls) blanked.
_ASCII_RULE_1 = bytes(
    ord(chr(c).lower()) if chr(c).isalnum() or c in b"_\n" else 32 for c in range(256)
)

# Codes of the chunk cache besides an index (>= 0): _DROP for a chunk that keeps no token, and
# _FIRST_MULTI - j for the j-th chunk that keeps two or more tokens (see Bm25._multi).
_DROP = -1
_FIRST_MULTI = -2
_UNSEEN = -(1 << 62)  # lookup default: not in the cache

# Cache bounds.  Each cache has two generations: when the young one is full (checked between
# batches) it becomes the old one and the previous old one is dropped; a lookup that misses the
# young generation but hits the old one moves the entry back.  Frequent chunks stay; memory stays
# under two generations (some tens of MB at most).
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


# --------------------------------------------------------------------------- weights


def bm25_weights(
    tf: Sequence[int] | np.ndarray,
    doc_len: int,
    *,
    k: float = DEFAULT_K,
    b: float = DEFAULT_B,
    avg_len: float = DEFAULT_AVG_LEN,
) -> np.ndarray:
    """BM25 term-frequency weights ``tf*(k+1) / (tf + k*(1 - b + b*doc_len/avg_len))``.

    float64, in fastembed's operation order (so each value is bit-identical to
    fastembed's before the float32 rounding of :class:`~embed_plugins.results.SparseVector`).
    """
    counts = np.asarray(tf, dtype=np.float64)
    return (counts * (k + 1)) / (counts + k * (1 - b + b * doc_len / avg_len))


# --------------------------------------------------------------------------- stopwords


def load_stopwords(language: str) -> frozenset[str]:
    """The stopword list shipped for ``language`` (one word a line, UTF-8).

    Raises :class:`~embed_plugins.errors.InvalidInputError` for a language not in
    :data:`SUPPORTED_LANGUAGES`.
    """
    language = _check_language(language)
    path = resources.files("embed_plugins.families").joinpath("data").joinpath("stopwords")
    text = path.joinpath(f"{language}.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line)


def _split_inner(chunk: str) -> list[str]:
    """Rule 1 for a whitespace-free chunk with non-word characters inside it.

    fastembed blanks those characters *before* lower-casing.  That order matters
    only to ``str.lower``'s one context rule, final sigma (``Σ`` before ``.``
    and a letter is ``σ``, before a blank ``ς``), so the cheaper order --
    lower-case, then cut at non-word characters -- is used when there is no ``Σ``.
    """
    if "\u03a3" in chunk:
        return _WORD.findall(_NOT_WORD_NOR_SPACE.sub(" ", chunk).lower())
    return _WORD.findall(chunk.lower())


def _split_chunks(chunks: list[str]) -> list[list[str]]:
    """Rule 1 for many whitespace-free chunks at once: each chunk's lower-cased runs.

    Exactly fastembed's steps on a text (blank non-word characters, lower-case,
    blank what lower-casing made non-word), on the chunks joined by newlines --
    a newline stops every rule, final sigma included.  ASCII chunks take a
    ``bytes.translate`` shortcut with the same effect.
    """
    flags = list(map(str.isascii, chunks))
    if all(flags):
        return _split_ascii(chunks)
    if not any(flags):
        return _split_unicode(chunks)
    result: list[list[str]] = [[] for _ in chunks]
    for split, keep in ((_split_ascii, flags), (_split_unicode, list(map(not_, flags)))):
        positions = list(compress(range(len(chunks)), keep))
        for position, tokens in zip(positions, split([chunks[i] for i in positions]), strict=True):
            result[position] = tokens
    return result


def _split_ascii(chunks: list[str]) -> list[list[str]]:
    if not chunks:
        return []
    text = "\n".join(chunks).encode("ascii").translate(_ASCII_RULE_1).decode("ascii")
    return list(map(str.split, text.split("\n")))


def _split_unicode(chunks: list[str]) -> list[list[str]]:
    if not chunks:
        return []
    joined = "\n".join(chunks)
    text = _NOT_WORD_NOR_SPACE.sub(" ", joined).lower()
    if any(char in joined for char in _LOWER_ADDS_NON_WORD):
        text = _NOT_WORD_NOR_NEWLINE.sub(" ", text)
    return list(map(str.split, text.split("\n")))


def _check_language(language: object) -> str:
    if not isinstance(language, str):
        raise InvalidInputError(
            f"language must be a str, got {type(language).__name__}; "
            f"supported: {', '.join(SUPPORTED_LANGUAGES)}"
        )
    name = language.strip().lower()
    if name not in SUPPORTED_LANGUAGES:
        raise InvalidInputError(
            f"BM25 has no stemmer and stopword list for language {language!r}; "
            f"supported: {', '.join(SUPPORTED_LANGUAGES)} "
            "(or pass disable_stemmer=True to use no stemmer and no stopwords)"
        )
    return name


def _check_texts(texts: object, what: str) -> list[str]:
    """``texts`` as a list, every item checked to be a ``str`` (fail before any work)."""
    if isinstance(texts, (str, bytes)):
        raise InvalidInputError(
            f"{what} must be a sequence of str, got a single {type(texts).__name__}; "
            "wrap it in a list"
        )
    if not isinstance(texts, Iterable):
        raise InvalidInputError(f"{what} must be a sequence of str, got {type(texts).__name__}")
    texts = list(texts)
    if set(map(type, texts)) <= {str}:  # the common case, checked in C
        return texts
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidInputError(
                f"{what}[{i}] is {type(text).__name__}, not str; BM25 embeds text only"
            )
    return texts


# --------------------------------------------------------------------------- the model


class Bm25:
    """fastembed-compatible BM25 sparse vectors for documents and queries.

    Args:
        language: one of :data:`SUPPORTED_LANGUAGES` (case-insensitive).  Not
            checked when ``disable_stemmer`` is true, since it is then unused.
        k: term-frequency saturation, ``>= 0``.
        b: document-length normalisation, in ``[0, 1]``.
        avg_len: the corpus's average document length in tokens, ``> 0``.
        token_max_length: tokens longer than this (characters) are dropped.
        disable_stemmer: keep lower-cased tokens unstemmed and remove no stopwords.

    Instances cache per-chunk results.  One instance may be shared by threads that
    embed at the same moment: each call works on one consistent generation of the
    caches, whose entries are only ever added whole (see :class:`_Caches`), so every
    thread gets exactly the vectors a single-threaded instance gives.
    """

    def __init__(
        self,
        language: str = "english",
        k: float = DEFAULT_K,
        b: float = DEFAULT_B,
        avg_len: float = DEFAULT_AVG_LEN,
        token_max_length: int = DEFAULT_TOKEN_MAX_LENGTH,
        disable_stemmer: bool = False,
    ) -> None:
        if not (isinstance(k, (int, float)) and math.isfinite(k) and k >= 0):
            raise InvalidInputError(f"k must be a finite number >= 0, got {k!r}")
        if not (isinstance(b, (int, float)) and 0 <= b <= 1):
            raise InvalidInputError(f"b must be a number in [0, 1], got {b!r}")
        if not (isinstance(avg_len, (int, float)) and math.isfinite(avg_len) and avg_len > 0):
            raise InvalidInputError(f"avg_len must be a finite number > 0, got {avg_len!r}")
        if isinstance(token_max_length, bool) or not isinstance(token_max_length, int):
            raise InvalidInputError(
                f"token_max_length must be an int, got {type(token_max_length).__name__}"
            )
        if token_max_length < 1:
            raise InvalidInputError(f"token_max_length must be >= 1, got {token_max_length}")

        self.disable_stemmer = bool(disable_stemmer)
        if self.disable_stemmer:
            if not isinstance(language, str):
                raise InvalidInputError(f"language must be a str, got {type(language).__name__}")
            self.language = language.strip().lower()
            self._stemmer: SnowballStemmer | None = None
            self._stopwords: frozenset[str] = frozenset()
        else:
            self.language = _check_language(language)
            self._stemmer = SnowballStemmer(self.language)
            self._stopwords = load_stopwords(self.language)
        # ASCII tokens that rule 2 drops, given the scanner's length check: see _ascii_token_codes
        self._drop_if_ascii = self._stopwords | {"_"}
        self.k = float(k)
        self.b = float(b)
        self.avg_len = float(avg_len)
        self.token_max_length = token_max_length

        # Every cache, as one generation (see _Caches): replaced whole, never changed in place.
        self._caches = _Caches.empty()
        self._aging = threading.Lock()  # one thread at a time starts a new generation

    def __repr__(self) -> str:
        return (
            f"Bm25(language={self.language!r}, k={self.k}, b={self.b}, "
            f"avg_len={self.avg_len}, token_max_length={self.token_max_length}, "
            f"disable_stemmer={self.disable_stemmer})"
        )

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

    @property
    def stopwords(self) -> frozenset[str]:
        """The stopwords in force (empty when the stemmer is disabled)."""
        return self._stopwords

    # ------------------------------------------------------------------ rules

    def _stem(self, token: str) -> str:
        """Rules 2 and 3 for one lower-cased word-character run: its stem, or ``""``."""
        if not self._stem_input(token):
            return ""
        lowered = token.lower()
        return lowered if self._stemmer is None else self._stemmer.stem_word(lowered)

    @staticmethod
    def _split_chunk(chunk: str) -> list[str]:
        """Rule 1 for one whitespace-free chunk: its lower-cased word-character runs."""
        core = chunk.strip(_EDGE_PUNCTUATION).lower()
        if core.isalnum():  # the common case: one run, perhaps with punctuation around it
            return [core]
        return _split_inner(chunk)

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
        limit, stopwords = self.token_max_length, self._stopwords
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
        stems = tokens if self._stemmer is None else self._stemmer.stem_words(tokens)
        ids = token_ids_many(stems)
        ids[np.fromiter(map(len, stems), dtype=np.int64, count=len(stems)) == 0] = _DROP
        return ids

    def _stem_input(self, token: str) -> bool:
        """Rule 2: whether a lower-cased token survives the filters and goes to the stemmer."""
        if len(token) == 1 and unicodedata.category(token)[0] == "P":
            return False
        return len(token) <= self.token_max_length and token.lower() not in self._stopwords

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
        """The caches for one batch or small call: the current generation, or a new one
        where it is full.  A call keeps the generation it got until it returns (its codes
        stay valid there), so ageing only ever happens between one call's batches."""
        caches = self._caches
        if caches.full():
            with self._aging:  # two threads that find it full start one new generation
                caches = self._caches
                if caches.full():
                    caches = self._caches = caches.aged()
        return caches

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
        scan = scan_batch(texts, self.token_max_length)
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

    def tokenize(self, text: str) -> list[str]:
        """The stems of ``text`` in order, after every filter (rules 1-3)."""
        if not isinstance(text, str):
            raise InvalidInputError(f"text is {type(text).__name__}, not str")
        stems: list[str] = []
        for chunk in text.split():
            for token in self._split_chunk(chunk):
                stem = self._stem(token)
                if stem:
                    stems.append(stem)
        return stems

    def token_count(self, texts: Iterable[str]) -> int:
        """Total number of tokens of ``texts`` before any filter, as fastembed counts them."""
        return sum(
            len(self._split_chunk(chunk))
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


class _Caches:
    """One generation of a :class:`Bm25`'s caches, safe to share between threads.

    * ``codes``: chunk -> index, ``_DROP`` or a multi code of ``multi``;
      ``old_codes`` the previous generation's (its multi codes are not valid here);
    * ``token_ids``: lower-cased token -> index or ``_DROP``; ``old_token_ids``;
    * ``keyed_tokens``: ASCII token bytes -> index or ``_DROP``; ``keyed_runs``:
      non-ASCII run bytes -> chunk code (multi codes of ``multi``), see :mod:`.bm25_scan`.

    How concurrent calls stay exact: the attributes are never rebound.  A call takes one
    generation (:meth:`Bm25._current_caches`) and uses only it, so the multi codes it
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
    in ``codes`` (bounded by ``_MAX_CACHED_CHARS``), goes with ``codes`` and counts
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

    def full(self) -> bool:
        """Whether a cache has reached its bound (then :meth:`aged` starts a new generation)."""
        return (
            len(self.codes) > _MAX_CACHED_CHUNKS
            or self.chars.value > _MAX_CACHED_CHARS
            or len(self.token_ids) > _MAX_CACHED_TOKENS
            or len(self.keyed_tokens) > _MAX_KEYED
            or len(self.keyed_runs) > _MAX_KEYED
        )

    def aged(self) -> _Caches:
        """The next generation: new young dictionaries where full (the full ones become the
        old), key tables started afresh where full.  ``self`` is left as it is."""
        codes, old_codes, multi = self.codes, self.old_codes, self.multi
        chars, keyed_runs = self.chars, self.keyed_runs
        if len(codes) > _MAX_CACHED_CHUNKS or chars.value > _MAX_CACHED_CHARS:
            codes, old_codes, multi, chars = {}, codes, _MultiTable(), _Count()
            keyed_runs = KeyTable()  # its multi codes point into the dropped table
        token_ids, old_token_ids = self.token_ids, self.old_token_ids
        if len(token_ids) > _MAX_CACHED_TOKENS:
            token_ids, old_token_ids = {}, token_ids
        keyed_tokens = self.keyed_tokens
        if len(keyed_tokens) > _MAX_KEYED:
            keyed_tokens = KeyTable()
        if len(keyed_runs) > _MAX_KEYED:
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
