"""What every adapter shares, with no framework imported: input checks, list conversion.

The adapters own no inference logic: they check what the host framework hands
them, call one long-lived embed_plugins model and turn numpy results into the
plain Python types the host expects.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from ..errors import EmbedPluginsError, InputTypeError

T = TypeVar("T")

#: The sparse adapters' default model, in LangChain and LlamaIndex alike (and
#: ``langchain_qdrant.FastEmbedSparse``'s): BM25, no ONNX model, nothing to download.
DEFAULT_SPARSE_MODEL = "Qdrant/bm25"


class MissingExtraError(EmbedPluginsError, ImportError):
    """An optional dependency is missing; the message names the extra that installs it."""


def missing_extra(extra: str, package: str) -> MissingExtraError:
    """The error for a missing optional ``package``: raise it ``from`` the ImportError."""
    return MissingExtraError(
        f"{package} is not installed; it comes with the {extra!r} extra: "
        f"{sys.executable} -m pip install 'embed_plugins[{extra}]'"
    )


def check_texts(texts: Any, where: str) -> list[str]:
    """``texts`` as a list of str, or a clear :class:`InputTypeError`.

    A bare string is refused (iterating it would embed characters); an empty
    list is fine and gives an empty result.
    """
    if isinstance(texts, str):
        raise InputTypeError(
            f"{where} expects a list of str, got one str; wrap it in a list "
            "(or embed a single query with the query method)"
        )
    if (
        texts is None
        or isinstance(texts, (bytes, bytearray, memoryview, dict))
        or not isinstance(texts, Iterable)
    ):
        raise InputTypeError(f"{where} expects a list of str, got {type(texts).__name__}")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise InputTypeError(
                f"{where}: texts[{i}] must be str, got {type(text).__name__}"
                + (" (decode bytes to str first)" if isinstance(text, (bytes, bytearray)) else "")
            )
    return out


def check_objects(items: Any, kind: type[T], where: str, what: str) -> list[T]:
    """``items`` as a list of ``kind`` objects (LangChain ``Document``, LlamaIndex
    ``NodeWithScore``), or an :class:`InputTypeError` naming the first bad index.

    ``None``, a string, bytes, a dict or a non-iterable is refused as a whole; an
    empty list is fine.
    """
    name = kind.__name__
    if (
        items is None
        or isinstance(items, (str, bytes, bytearray, memoryview, dict))
        or not isinstance(items, Iterable)
    ):
        raise InputTypeError(f"{where} expects a list of {name}, got {type(items).__name__}")
    out = list(items)
    for i, item in enumerate(out):
        if not isinstance(item, kind):
            nested = " (pass one flat list)" if isinstance(item, (list, tuple)) else ""
            raise InputTypeError(
                f"{where}: {what}[{i}] must be a {name}, got {type(item).__name__}{nested}"
            )
    return out


def check_text(text: Any, where: str, what: str = "text") -> str:
    """``text`` itself if it is a str, else a clear :class:`InputTypeError`."""
    if isinstance(text, str):
        return text
    hint = (
        " (pass one str; use the documents method for a list)"
        if isinstance(text, (list, tuple))
        else ""
    )
    raise InputTypeError(f"{where} expects {what} as a str, got {type(text).__name__}{hint}")


def to_float_lists(vectors: Iterable[npt.NDArray[np.floating[Any]]]) -> list[list[float]]:
    """Numpy vectors as lists of plain Python floats (``ndarray.tolist`` does the casting)."""
    return [np.asarray(v, dtype=np.float64).tolist() for v in vectors]


def to_float_list(vector: npt.NDArray[np.floating[Any]]) -> list[float]:
    out: list[float] = np.asarray(vector, dtype=np.float64).tolist()
    return out


def sparse_lists(vector: Any) -> tuple[list[int], list[float]]:
    """A :class:`~embed_plugins.SparseVector` as plain Python ``(indices, values)`` lists."""
    indices: list[int] = vector.indices.tolist()
    values: list[float] = vector.values.astype(np.float64).tolist()
    return indices, values
