"""BM25's text rules on strings: languages, stopwords, lower-casing and word splitting.

Rules 1 and 2 of :mod:`embed_plugins.families.bm25` (its docstring numbers and
explains them, with fastembed 0.9.1's sources), as plain functions on ``str``:

* the :data:`SUPPORTED_LANGUAGES` and their stopword lists (:func:`load_stopwords`,
  shipped under ``data/stopwords/``), and the check of a ``language`` argument;
* rule 1 -- lower-case, then cut at non-word characters -- for one
  whitespace-free chunk (:func:`_split_chunk`) and for many chunks at once
  (:func:`_split_chunks`: one regular-expression pass, or a ``bytes.translate``
  for ASCII), and the character sets those shortcuts rely on (a test checks
  them against the running Python's Unicode tables).

The per-token filters of rule 2 and the stemmer (rule 3) need an instance's
stemmer, stopwords and length limit, so they are methods of
:class:`~embed_plugins.families.bm25.Bm25` (in :mod:`.bm25_codes`); the batch
scanner applies rule 1 to ASCII bytes in :mod:`.bm25_scan`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from importlib import resources
from itertools import compress
from operator import not_

from embed_plugins.errors import InvalidInputError

__all__ = ["SUPPORTED_LANGUAGES", "load_stopwords"]

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


def load_stopwords(language: str) -> frozenset[str]:
    """The stopword list shipped for ``language`` (one word a line, UTF-8).

    Raises :class:`~embed_plugins.errors.InvalidInputError` for a language not in
    :data:`SUPPORTED_LANGUAGES`.
    """
    language = _check_language(language)
    path = resources.files("embed_plugins.families").joinpath("data").joinpath("stopwords")
    text = path.joinpath(f"{language}.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line)


def _split_chunk(chunk: str) -> list[str]:
    """Rule 1 for one whitespace-free chunk: its lower-cased word-character runs."""
    core = chunk.strip(_EDGE_PUNCTUATION).lower()
    if core.isalnum():  # the common case: one run, perhaps with punctuation around it
        return [core]
    return _split_inner(chunk)


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
            "(or pass a custom stemmer=..., or disable_stemmer=True to use no stemmer and "
            "no stopword list)"
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
