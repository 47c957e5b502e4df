"""BM25's constructor options, checked: fastembed 0.9.1's ``Bm25`` arguments and their errors.

fastembed 0.9.1's ``Bm25(model_name, cache_dir, k, b, avg_len, language,
token_max_length, disable_stemmer, specific_model_path, stemmer, stopwords)``
decides its vocabulary -- which stemmer and which stopwords -- like this
(``fastembed/sparse/bm25.py``), and so does :class:`~.bm25.Bm25` here:

* ``stemmer`` with ``disable_stemmer=True`` is a ``ValueError``;
* without a custom ``stemmer`` and with the stemmer enabled, a language that
  has no Snowball stemmer is a ``ValueError``;
* the stemmer is the custom one, else none with ``disable_stemmer=True``,
  else Snowball for ``language``;
* the stopwords are ``stopwords`` (lower-cased) when given -- even with
  ``disable_stemmer=True``, and an empty set means none -- else none with
  ``disable_stemmer=True``, else the list shipped for ``language`` (none for a
  language without one, e.g. with a custom stemmer for another language);
* a custom stemmer's ``stem_word`` gets each lower-cased token that passed the
  stopword, length and punctuation filters, and returns its stem; an empty
  (falsy) stem drops the token.

Two differences, on purpose: our ``language`` is case-insensitive
(``"German"`` is ``"german"``) where fastembed matches it exactly; and a custom
stemmer must be picklable at construction, where fastembed finds out only when
``parallel=N`` sends it to worker processes.  Every model's spec travels to the
workers pickled, so :func:`check_stemmer` pickles the stemmer once and names the
reason when that fails, rather than letting a worker fail later.

The module also holds the numeric parameters' defaults and checks and the weight
formula (:func:`bm25_weights`).  It imports no stemmer, so the catalogue
(:class:`~embed_plugins.Bm25Spec`) can use its checks cheaply.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

from embed_plugins.errors import ArgumentTypeError, InvalidInputError

__all__ = [
    "DEFAULT_AVG_LEN",
    "DEFAULT_B",
    "DEFAULT_K",
    "DEFAULT_TOKEN_MAX_LENGTH",
    "Stemmer",
    "bm25_weights",
    "check_parameters",
    "check_stemmer",
    "stem_of",
    "stopword_set",
]

DEFAULT_K = 1.2
DEFAULT_B = 0.75
DEFAULT_AVG_LEN = 256.0
#: fastembed's ``token_max_length``: longer tokens are dropped.
DEFAULT_TOKEN_MAX_LENGTH = 40


class Stemmer(Protocol):
    """fastembed 0.9.1's protocol for a custom BM25 stemmer: an object with ``stem_word``.

    ``stem_word`` gets one lower-cased word and returns its stem; an empty string
    drops the word.  It must be a pure function of the word (results are cached per
    model), safe to call from several threads if the model is shared by threads,
    and the object must pickle (see :func:`check_stemmer`).
    """

    def stem_word(self, word: str) -> str: ...


def check_stemmer(stemmer: object, where: str, *, picklable: bool = True) -> None:
    """Raise :class:`~embed_plugins.errors.ArgumentTypeError` unless ``stemmer`` is ``None``
    or an object with a callable ``stem_word`` that (if ``picklable``) survives a pickle
    round trip."""
    if stemmer is None:
        return
    if not callable(getattr(stemmer, "stem_word", None)):
        raise ArgumentTypeError(
            f"{where}: stemmer must have a stem_word(word: str) -> str method (fastembed's "
            f"Stemmer protocol), got {type(stemmer).__name__}"
        )
    if not picklable:
        return
    try:
        pickle.loads(pickle.dumps(stemmer, pickle.HIGHEST_PROTOCOL))
    except Exception as error:
        name = f"{type(stemmer).__module__}.{type(stemmer).__qualname__}"
        snowball = type(stemmer).__name__ == "SnowballStemmer"
        raise ArgumentTypeError(
            f"{where}: the stemmer ({name}) cannot be pickled ({type(error).__name__}: {error}). "
            "The BM25 settings, stemmer included, are pickled to the worker processes of "
            "parallel embedding, so a custom stemmer must be picklable: define its class at "
            "the top level of an importable module, and give it __getstate__/__setstate__ "
            "(or __reduce__) when it holds something that does not pickle"
            + (
                ". py_rust_stemmers.SnowballStemmer does not pickle: for a stock Snowball "
                "stemmer pass language=... instead, or wrap it in a class that rebuilds it "
                "from its language when unpickled"
                if snowball
                else ""
            )
        ) from error


def stopword_set(stopwords: object, where: str) -> frozenset[str] | None:
    """``stopwords`` as fastembed keeps them: ``{word.lower() for word in stopwords}``.

    ``None`` stays ``None`` (the language's own list); a ``str`` (which would be read
    as its characters) or a non-``str`` word raises
    :class:`~embed_plugins.errors.ArgumentTypeError`.
    """
    if stopwords is None:
        return None
    if isinstance(stopwords, (str, bytes)) or not isinstance(stopwords, Iterable):
        raise ArgumentTypeError(
            f"{where}: stopwords must be a set of words (str), got "
            f"{type(stopwords).__name__}"
            + ("; wrap it: {word}" if isinstance(stopwords, str) else "")
        )
    words = list(stopwords)
    wrong = [word for word in words if not isinstance(word, str)]
    if wrong:
        raise ArgumentTypeError(
            f"{where}: stopwords must be str, got {type(wrong[0]).__name__} ({wrong[0]!r})"
        )
    return frozenset(word.lower() for word in words)


def stem_of(stemmer: Stemmer, word: str) -> str:
    """``stemmer.stem_word(word)``, ``""`` for a falsy stem (fastembed drops the word),
    and :class:`~embed_plugins.errors.InvalidInputError` for a stem that is not a ``str``."""
    stem = stemmer.stem_word(word)
    if isinstance(stem, str):
        return stem
    if not stem:
        return ""
    raise InvalidInputError(
        f"the BM25 stemmer's stem_word({word!r}) returned {type(stem).__name__}, not str"
    )


def check_parameters(k: object, b: object, avg_len: object, token_max_length: object) -> None:
    """Raise :class:`~embed_plugins.errors.InvalidInputError` for a BM25 parameter out of range."""
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
