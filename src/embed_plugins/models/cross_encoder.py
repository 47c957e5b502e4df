"""``TextCrossEncoder``: cross-encoder rerankers with fastembed's call shapes.

Return types, the one design decision a caller has to know:

* :meth:`TextCrossEncoder.rerank` ``(query, documents)`` yields one float score
  per document **in input order**, lazily, exactly as fastembed's
  ``TextCrossEncoder.rerank`` does.  Code written against fastembed
  (``for doc, score in zip(docs, model.rerank(q, docs))``) keeps working after
  the import changes; had ``rerank`` returned sorted results, that ``zip``
  would silently pair documents with other documents' scores.
* :meth:`TextCrossEncoder.rank` ``(query, documents, top_k=None)`` returns a
  **list** of :class:`~embed_plugins.results.RerankResult` sorted best first,
  each with the document's original ``index`` (and the ``document`` itself
  with ``return_documents=True``): the name and arguments of
  sentence-transformers' ``CrossEncoder.rank``.  Sorting needs every score, so
  it is a list, not an iterator.
* :meth:`TextCrossEncoder.rerank_pairs` ``(pairs)`` yields one score per
  (query, document) pair in input order, as fastembed's.

All three take ``parallel=`` (fastembed's ``rerank`` silently ignores it) and
``activation=``: ``"none"`` gives raw logits (fastembed's scores),
``"sigmoid"`` maps them to ``(0, 1)``; the model's default comes from the
constructor's ``activation=`` or else its spec (``"none"`` for the catalogue).
``show_progress=True`` shows a progress bar (a callable gets ``(done, total)``).

Bad input: a query or document that is not ``str`` (``None`` included) raises
:class:`~embed_plugins.errors.InputTypeError` naming the document or pair
index.  An empty query or empty document is scored like any other text (the
model sees ``[CLS] [SEP] document [SEP]``), as sentence-transformers and
fastembed score it; an empty document list gives no scores.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ..catalog.rerank import CrossEncoderSpec
from ..compat import cross_encoder_spec
from ..engine.progress import progress_for
from ..engine.runner import as_items, check_batch_size
from ..engine.session import Provider
from ..errors import ArgumentTypeError, InputTypeError, InvalidArgumentError
from ..families.rerank import (
    Pair,
    activate,
    build_cross_encoder,
    check_activation,
    rank_order,
    spec_from_folder,
)
from ..results import RerankResult
from .base import COMMON_INIT_KWARGS, ModelBase, reject_unknown

#: fastembed's default batch size for rerankers.
DEFAULT_BATCH_SIZE = 64
_RERANK_KWARGS = ("batch_size", "parallel", "activation", "show_progress")
_RANK_ONLY = ("top_k", "return_documents")


def _type_name(value: Any) -> str:
    return type(value).__name__


def check_query(query: Any) -> str:
    if isinstance(query, str):
        return query
    hint = " (decode bytes to str first)" if isinstance(query, (bytes, bytearray)) else ""
    raise InputTypeError(f"query must be str, got {_type_name(query)}{hint}")


def check_document_pair(item: Any, index: int) -> Pair:
    """Validator for ``rerank``: items are ``(query, document)`` with a checked query."""
    document = item[1]
    if isinstance(document, str):
        return (item[0], document)
    hint = " (decode bytes to str first)" if isinstance(document, (bytes, bytearray)) else ""
    raise InputTypeError(f"document {index}: expected str, got {_type_name(document)}{hint}")


def check_pair(item: Any, index: int) -> Pair:
    """Validator for ``rerank_pairs``: a tuple or list of two str."""
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise InputTypeError(
            f"pair {index}: expected a (query, document) tuple of two str, got "
            + (
                f"{_type_name(item)} of length {len(item)}"
                if isinstance(item, (tuple, list))
                else _type_name(item)
            )
        )
    query, document = item
    for role, value in (("query", query), ("document", document)):
        if not isinstance(value, str):
            raise InputTypeError(f"pair {index}: {role} must be str, got {_type_name(value)}")
    return (query, document)


def pair_size(pair: Pair) -> int:
    """Length hint used to sort pairs into similar-length chunks for workers."""
    return len(pair[0]) + len(pair[1])


def check_top_k(top_k: Any) -> int | None:
    """``None`` (every document) or a positive int; larger than the list means all."""
    if top_k is None:
        return None
    if isinstance(top_k, bool):
        raise ArgumentTypeError(f"top_k must be a positive int or None, got {top_k!r}")
    try:
        k = operator.index(top_k)
    except TypeError:
        raise ArgumentTypeError(f"top_k must be a positive int or None, got {top_k!r}") from None
    if k < 1:
        raise InvalidArgumentError(f"top_k must be a positive int or None, got {top_k!r}")
    return k


def _as_pairs(pairs: Any) -> Iterable[Any]:
    if isinstance(pairs, tuple) and len(pairs) == 2 and all(isinstance(p, str) for p in pairs):
        return [pairs]  # one bare (query, document) pair, as fastembed accepts
    if isinstance(pairs, str):
        raise InputTypeError(
            "pairs must be an iterable of (query, document) tuples, got a str; "
            "to score documents against one query use rerank(query, documents)"
        )
    if (
        pairs is None
        or isinstance(pairs, (bytes, bytearray, memoryview, dict))
        or not isinstance(pairs, Iterable)
    ):
        raise InputTypeError(
            f"pairs must be an iterable of (query, document) tuples, got {_type_name(pairs)}"
        )
    return pairs


def _activated(scores: Iterator[float], activation: str) -> Iterator[float]:
    for score in scores:
        yield activate(score, activation)


class TextCrossEncoder(ModelBase):
    """Cross-encoder reranking from an ONNX model; see the module docstring for return types.

    Example::

        model = TextCrossEncoder("Xenova/ms-marco-MiniLM-L-6-v2")
        scores = list(model.rerank("what is a panda?", docs))        # input order
        best = model.rank("what is a panda?", docs, top_k=3)          # sorted RerankResults
        pair_scores = list(model.rerank_pairs([("q1", "d1"), ("q2", "d2")]))
    """

    family: ClassVar[str] = "rerank"
    default_model: ClassVar[str] = "Xenova/ms-marco-MiniLM-L-6-v2"
    spec_type: ClassVar[type[CrossEncoderSpec]] = CrossEncoderSpec
    keyword_spec = staticmethod(cross_encoder_spec)
    build_pipeline = staticmethod(build_cross_encoder)
    spec: CrossEncoderSpec

    def __init__(
        self,
        model_name: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        providers: Sequence[Provider] | None = None,
        cuda: bool = False,
        device_ids: Sequence[int] | None = None,
        lazy_load: bool = False,
        *,
        device: str | None = None,
        model_path: str | os.PathLike[str] | None = None,
        specific_model_path: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        spec: CrossEncoderSpec | None = None,
        max_length: int | None = None,
        activation: str | None = None,
        graph_optimization: str = "all",
        optimize: bool = False,
        **kwargs: Any,
    ) -> None:
        reject_unknown("TextCrossEncoder()", kwargs, [*COMMON_INIT_KWARGS, "activation"])
        chosen = None if activation is None else check_activation(activation)
        super().__init__(
            model_name,
            cache_dir,
            threads,
            providers,
            cuda,
            device_ids,
            lazy_load=lazy_load,
            device=device,
            model_path=model_path,
            specific_model_path=specific_model_path,
            local_files_only=local_files_only,
            spec=spec,
            max_length=max_length,
            graph_optimization=graph_optimization,
            optimize=optimize,
            **kwargs,  # device_id, enable_cpu_mem_arena (checked above)
        )
        #: The activation applied when a call does not choose one.
        self.activation: str = chosen if chosen is not None else self.spec.activation

    @classmethod
    def spec_from_folder(cls, folder: Path, name: str) -> CrossEncoderSpec:
        return spec_from_folder(folder, name)

    def _activation(self, activation: str | None) -> str:
        return self.activation if activation is None else check_activation(activation)

    # -- scoring -----------------------------------------------------------------
    def rerank(
        self,
        query: str,
        documents: str | Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        *,
        activation: str | None = None,
        **kwargs: Any,
    ) -> Iterator[float]:
        """One score per document, in input order, lazily (fastembed's ``rerank``).

        For results sorted by score use :meth:`rank`.
        """
        misplaced = [k for k in _RANK_ONLY if k in kwargs]
        if misplaced:
            raise ArgumentTypeError(
                f"TextCrossEncoder.rerank() got {', '.join(map(repr, misplaced))}: rerank() yields "
                "scores in input order, as fastembed's does; use rank(query, documents, top_k=..., "
                "return_documents=...) for results sorted by score"
            )
        reject_unknown("TextCrossEncoder.rerank()", kwargs, _RERANK_KWARGS)
        q = check_query(query)
        act = self._activation(activation)
        docs = as_items(documents, what="documents")
        where = "TextCrossEncoder.rerank()"
        progress = progress_for(kwargs.get("show_progress"), docs, where, unit="doc", desc="rerank")
        scores: Iterator[float] = self._runner.run(
            ((q, d) for d in docs),
            batch_size=batch_size,
            task="document",
            validate=check_document_pair,
            parallel=parallel,
            size_hint=pair_size,
            progress=progress,
        )
        return scores if act == "none" else _activated(scores, act)

    def rank(
        self,
        query: str,
        documents: str | Iterable[str],
        top_k: int | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        return_documents: bool = False,
        activation: str | None = None,
        **kwargs: Any,
    ) -> list[RerankResult]:
        """Documents sorted by score, best first (sentence-transformers' ``CrossEncoder.rank``).

        Each :class:`RerankResult` holds the document's position in ``documents``
        (``index``), its ``score`` and, with ``return_documents=True``, the text.
        ``top_k`` keeps the best ``k`` (all of them when ``k`` exceeds the list);
        equal scores keep their input order.
        """
        reject_unknown(
            "TextCrossEncoder.rank()", kwargs, (*_RERANK_KWARGS, "top_k", "return_documents")
        )
        k = check_top_k(top_k)
        q = check_query(query)
        docs = list(as_items(documents, what="documents"))
        scores = list(
            self.rerank(
                q,
                docs,
                batch_size,
                parallel,
                activation=activation,
                show_progress=kwargs.get("show_progress"),
            )
        )
        return [
            RerankResult(index=i, score=scores[i], document=docs[i] if return_documents else None)
            for i in rank_order(scores, k)
        ]

    def rerank_pairs(
        self,
        pairs: Iterable[tuple[str, str]] | tuple[str, str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        *,
        activation: str | None = None,
        **kwargs: Any,
    ) -> Iterator[float]:
        """One score per (query, document) pair, in input order, lazily (fastembed's shape)."""
        where = "TextCrossEncoder.rerank_pairs()"
        reject_unknown(where, kwargs, _RERANK_KWARGS)
        act = self._activation(activation)
        items = _as_pairs(pairs)
        scores: Iterator[float] = self._runner.run(
            items,
            batch_size=batch_size,
            task="document",
            validate=check_pair,
            parallel=parallel,
            size_hint=pair_size,
            progress=progress_for(
                kwargs.get("show_progress"), items, where, unit="pair", desc="rerank_pairs"
            ),
        )
        return scores if act == "none" else _activated(scores, act)

    def token_count(
        self,
        pairs: Iterable[tuple[str, str]] | tuple[str, str],
        batch_size: int = 1024,
        **kwargs: Any,
    ) -> int:
        """Tokens the model sees for these pairs (after truncation, special tokens included)."""
        reject_unknown("TextCrossEncoder.token_count()", kwargs, ("batch_size",))
        check_batch_size(batch_size)
        items = [check_pair(p, i) for i, p in enumerate(_as_pairs(pairs))]
        pipeline: Any = self._runner.pipeline()
        total = 0
        for start in range(0, len(items), batch_size):
            total += int(pipeline.token_count(items[start : start + batch_size], "document"))
        return total
