"""``LateInteractionTextEmbedding``: ColBERT multi-vector embeddings with fastembed's shapes."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ..catalog.late_interaction import ColbertSpec
from ..compat import colbert_spec
from ..engine.pipeline import Task
from ..engine.runner import as_items, check_text
from ..engine.session import Provider
from ..errors import ArgumentTypeError, InputTypeError
from ..families.bge_m3 import BgeM3Pipeline
from ..families.colbert_folder import colbert_spec_from_folder
from ..families.late_interaction import (
    LateInteractionPipeline,
    build_late_interaction,
    check_top_k,
    maxsim,
    rank_documents,
)
from ..results import RerankResult
from .base import COMMON_INIT_KWARGS, ModelBase, reject_unknown

FloatArray = npt.NDArray[np.float32]

DEFAULT_BATCH_SIZE = 256
_CALL_KWARGS = ("batch_size", "parallel", "show_progress")
_RANK_ONLY = ("top_k", "return_documents")
#: Documents scored together by one vectorised ``maxsim`` call in ``rerank``.
_SCORE_CHUNK = 256


def check_query(query: Any) -> str:
    if isinstance(query, str):
        return query
    hint = " (decode bytes to str first)" if isinstance(query, (bytes, bytearray)) else ""
    raise InputTypeError(f"query must be str, got {type(query).__name__}{hint}")


def maxsim_scores(query_vectors: FloatArray, doc_vectors: Iterable[FloatArray]) -> Iterator[float]:
    """MaxSim scores of streamed document vectors, chunk by chunk (a generator: lazy)."""
    chunk: list[FloatArray] = []
    for vectors in doc_vectors:
        chunk.append(vectors)
        if len(chunk) == _SCORE_CHUNK:
            yield from maxsim(query_vectors, chunk).tolist()
            chunk = []
    if chunk:
        yield from maxsim(query_vectors, chunk).tolist()


def _scores(
    model: LateInteractionTextEmbedding, query: str, doc_vectors: Iterator[FloatArray]
) -> Iterator[float]:
    """Embed the query on first ``next()``, then score the documents (lazy)."""
    (query_vectors,) = model.query_embed([query])
    yield from maxsim_scores(query_vectors, doc_vectors)


class LateInteractionTextEmbedding(ModelBase):
    """ColBERT-style late interaction: one L2-normalised vector per token.

    ``embed`` / ``passage_embed`` return one float32 ``(n_tokens, dim)`` array
    per document (``[CLS]``, the document marker, the text's tokens without
    punctuation, ``[SEP]``); ``query_embed`` one ``(query_length, dim)`` array
    per query (the query padded with ``[MASK]`` to the model's query length;
    models without query expansion, LateOn and mLateOn, keep the query's own
    tokens only).  Queries are embedded in batches, like documents.
    ``"BAAI/bge-m3"`` gives BGE-M3's ColBERT vectors (no markers, no skip-list,
    every token after ``[CLS]``; see :class:`~embed_plugins.BgeM3Embedding`).

    Scoring has the shapes of :class:`TextCrossEncoder`: :meth:`rerank` yields
    one MaxSim score per document in input order, :meth:`rank` returns
    :class:`RerankResult` s sorted best first (``top_k``, ``return_documents``).
    Precomputed vectors are scored with :func:`embed_plugins.maxsim`.

    Example::

        model = LateInteractionTextEmbedding("colbert-ir/colbertv2.0")
        docs = list(model.embed(["Paris is in France.", "Berlin is in Germany."]))
        (query,) = model.query_embed("where is Paris?")
        scores = maxsim(query, docs)                      # float32, one per document
        best = model.rank("where is Paris?", ["Paris is in France.", "Berlin..."], top_k=1)
    """

    family: ClassVar[str] = "late_interaction"
    default_model: ClassVar[str] = "colbert-ir/colbertv2.0"
    spec_type: ClassVar[type[ColbertSpec]] = ColbertSpec
    keyword_spec = staticmethod(colbert_spec)
    build_pipeline = staticmethod(build_late_interaction)
    spec: ColbertSpec

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
        spec: ColbertSpec | None = None,
        max_length: int | None = None,
        graph_optimization: str = "all",
        optimize: bool = False,
        **kwargs: Any,
    ) -> None:
        reject_unknown("LateInteractionTextEmbedding()", kwargs, COMMON_INIT_KWARGS)
        super().__init__(
            model_name,
            cache_dir,
            threads,
            providers,
            cuda,
            device_ids,
            lazy_load,
            device=device,
            model_path=model_path,
            specific_model_path=specific_model_path,
            local_files_only=local_files_only,
            spec=spec,
            max_length=max_length,
            graph_optimization=graph_optimization,
            optimize=optimize,
            **kwargs,  # any other common keyword the base class accepts
        )

    @classmethod
    def spec_from_folder(cls, folder: Path, name: str) -> ColbertSpec:
        return colbert_spec_from_folder(folder, name)

    @property
    def embedding_size(self) -> int:
        """Length of every token vector."""
        return self.spec.dim

    # -- embedding -------------------------------------------------------------
    def embed(
        self,
        documents: str | Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[FloatArray]:
        """One float32 ``(n_tokens, dim)`` array per document, in input order."""
        return self._embed_texts("embed", "document", documents, batch_size, parallel, kwargs)

    def passage_embed(
        self,
        texts: str | Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[FloatArray]:
        """Same as :meth:`embed` (ColBERT encodes every passage as a document)."""
        return self._embed_texts("passage_embed", "passage", texts, batch_size, parallel, kwargs)

    def query_embed(
        self,
        query: str | Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[FloatArray]:
        """One float32 ``(query_length, dim)`` array per query, embedded in batches
        (``(n_tokens, dim)`` for models without query expansion: LateOn, BGE-M3)."""
        return self._embed_texts("query_embed", "query", query, batch_size, parallel, kwargs)

    # -- scoring -------------------------------------------------------------------
    def rerank(
        self,
        query: str,
        documents: str | Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[float]:
        """One MaxSim score per document, in input order, lazily.

        The same shape as :meth:`TextCrossEncoder.rerank`; for results sorted
        by score use :meth:`rank`.  The query is embedded once; documents
        stream through :meth:`embed` (``parallel`` applies to them).
        """
        misplaced = [k for k in _RANK_ONLY if k in kwargs]
        if misplaced:
            raise ArgumentTypeError(
                f"LateInteractionTextEmbedding.rerank() got {', '.join(map(repr, misplaced))}: "
                "rerank() yields scores in input order; use rank(query, documents, top_k=..., "
                "return_documents=...) for results sorted by score"
            )
        reject_unknown("LateInteractionTextEmbedding.rerank()", kwargs, _CALL_KWARGS)
        q = check_query(query)
        doc_vectors = self.embed(
            documents,
            batch_size=batch_size,
            parallel=parallel,
            show_progress=kwargs.get("show_progress"),
        )
        return _scores(self, q, doc_vectors)

    def rank(
        self,
        query: str,
        documents: str | Iterable[str],
        top_k: int | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        return_documents: bool = False,
        **kwargs: Any,
    ) -> list[RerankResult]:
        """Documents sorted by MaxSim score, best first (the shape of ``TextCrossEncoder.rank``).

        Each :class:`RerankResult` holds the document's position in ``documents``
        (``index``), its ``score`` and, with ``return_documents=True``, the text.
        ``top_k=None`` keeps all, a ``top_k`` above the number of documents
        returns them all, ``0`` or a negative one is a ``ValueError``; equal
        scores keep input order.  An empty list gives an empty result.
        """
        reject_unknown("LateInteractionTextEmbedding.rank()", kwargs, (*_CALL_KWARGS, *_RANK_ONLY))
        k = check_top_k(top_k)
        q = check_query(query)
        docs = list(as_items(documents))
        scores = self.rerank(
            q, docs, batch_size, parallel, show_progress=kwargs.get("show_progress")
        )
        return rank_documents(scores, docs, k, return_documents)

    # -- counting ------------------------------------------------------------------
    def token_count(
        self,
        texts: str | Iterable[str],
        batch_size: int = 1024,
        *,
        is_doc: bool = True,
        include_extension: bool = False,
        **kwargs: Any,
    ) -> int:
        """Tokens the model reads for ``texts``: ``[CLS]``, the marker, the (truncated)
        text and ``[SEP]``.  For queries (``is_doc=False``) ``include_extension``
        counts the ``[MASK]`` padding too, i.e. ``query_length`` per query (models
        without query expansion add none)."""
        reject_unknown("LateInteractionTextEmbedding.token_count()", kwargs, ("batch_size",))
        items = [check_text(t, i) for i, t in enumerate(as_items(texts))]
        pipeline = self._runner.pipeline()
        if not isinstance(pipeline, (LateInteractionPipeline, BgeM3Pipeline)):  # pragma: no cover
            raise RuntimeError(f"unexpected pipeline {type(pipeline).__name__}")
        task: Task = "document" if is_doc else "query"
        total = 0
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            total += pipeline.count_tokens(chunk, task, include_extension)
        return total
