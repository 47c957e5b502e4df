"""LlamaIndex sparse embeddings over :class:`~embed_plugins.SparseTextEmbedding`.

:class:`EmbedPluginsSparseEmbedding` is a ``BaseSparseEmbedding`` (a drop-in for
``llama_index.sparse_embeddings.fastembed.FastEmbedSparseEmbedding``, same field
names) and also carries the two callables ``QdrantVectorStore`` takes for
hybrid search.  Its default model is ``"Qdrant/bm25"``, as LangChain's
``EmbedPluginsSparseEmbeddings`` and ``langchain_qdrant.FastEmbedSparse``
(``FastEmbedSparseEmbedding`` defaults to SPLADE++; pass
``model_name="prithivida/Splade_PP_en_v1"`` for it)::

    from llama_index.vector_stores.qdrant import QdrantVectorStore

    sparse = EmbedPluginsSparseEmbedding(model_name="Qdrant/bm25")
    store = QdrantVectorStore(
        "docs",
        client=client,
        enable_hybrid=True,
        sparse_doc_fn=sparse.sparse_doc_fn,
        sparse_query_fn=sparse.sparse_query_fn,
        sparse_config=sparse.sparse_vector_params(),  # modifier=idf for BM25 / BM42
    )
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from ...catalog.sparse import SparseSpec
from ...models.sparse_embedding import SparseTextEmbedding
from .._common import (
    DEFAULT_SPARSE_MODEL,
    MissingExtraError,
    check_text,
    check_texts,
    missing_extra,
    sparse_lists,
)
from .._progress import batch_progress, call_progress

try:
    from llama_index.core.base.embeddings.base_sparse import BaseSparseEmbedding
    from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr

    from .._adapter import LlamaIndexAdapterBase
    from .._fields import EngineFields, SparseOptions
    from .embeddings import DEFAULT_EMBED_BATCH_SIZE
except ImportError as exc:  # pragma: no cover - exercised with the extra uninstalled
    raise missing_extra("llama-index", "llama-index-core") from exc

SparseEmbedding = dict[int, float]
#: What ``QdrantVectorStore``'s ``sparse_doc_fn`` / ``sparse_query_fn`` return.
BatchSparseEncoding = tuple[list[list[int]], list[list[float]]]


class EmbedPluginsSparseEmbedding(
    LlamaIndexAdapterBase, BaseSparseEmbedding, EngineFields, SparseOptions
):
    """Sparse embeddings (SPLADE, BM25, BM42) for LlamaIndex, as ``{index: weight}`` dicts.

    Documents use ``embed`` (document weights), queries ``query_embed`` (for
    BM25/BM42 each query term once with weight 1.0).  ``sparse_doc_fn`` and
    ``sparse_query_fn`` give the same vectors in ``QdrantVectorStore``'s
    ``(indices, values)`` shape.  ``model_name`` defaults to ``"Qdrant/bm25"``
    (no ONNX model: its stopword lists ship with embed_plugins, nothing to download).
    """

    model_config = ConfigDict(
        extra="forbid", protected_namespaces=("pydantic_model_",), arbitrary_types_allowed=True
    )

    model_name: str = Field(
        default=DEFAULT_SPARSE_MODEL,
        description="A supported sparse model (SparseTextEmbedding.list_supported_models()); "
        "BM25 by default, as LangChain's adapter and FastEmbedSparse.",
    )
    embed_batch_size: int = Field(
        default=DEFAULT_EMBED_BATCH_SIZE,
        gt=0,
        le=2048,
        description="Texts per embedding call.",
    )
    parallel: int | None = Field(default=None, ge=0, description="Worker processes, or None.")
    spec: SparseSpec | None = Field(
        default=None, description="A custom SpladeSpec, Bm25Spec or Bm42Spec."
    )

    _model: SparseTextEmbedding = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._model = SparseTextEmbedding(
            self.chosen_name(), spec=self.spec, **self.engine_kwargs(), **self.sparse_options()
        )
        self.model_name = self._model.model_name

    @classmethod
    def class_name(cls) -> str:
        return "EmbedPluginsSparseEmbedding"

    @property
    def model(self) -> SparseTextEmbedding:
        """The underlying :class:`~embed_plugins.SparseTextEmbedding`."""
        return self._model

    @property
    def requires_idf(self) -> bool:
        """Whether the vectors need a Qdrant sparse index with ``modifier=idf`` (BM25, BM42)."""
        return bool(self._model.spec.requires_idf)

    # -- BaseSparseEmbedding ------------------------------------------------------------
    def _get_query_embedding(self, query: str) -> SparseEmbedding:
        text = check_text(query, "get_query_embedding()", "the query")
        return _as_dict(next(iter(self._model.query_embed([text], batch_size=1))))

    def _get_text_embedding(self, text: str) -> SparseEmbedding:
        return self._get_text_embeddings([check_text(text, "get_text_embedding()")])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[SparseEmbedding]:
        return [_as_dict(v) for v in self._document_vectors(texts, "get_text_embedding_batch()")]

    async def _aget_query_embedding(self, query: str) -> SparseEmbedding:
        return await asyncio.to_thread(self._get_query_embedding, query)

    async def _aget_text_embedding(self, text: str) -> SparseEmbedding:
        return await asyncio.to_thread(self._get_text_embedding, text)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[SparseEmbedding]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)

    def get_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[SparseEmbedding]:
        """Vectors of ``texts``, ``embed_batch_size`` at a time (``[]`` for ``[]``)."""
        items = check_texts(texts, "get_text_embedding_batch()")
        with batch_progress(show_progress, len(items)):  # the engine's bar, not LlamaIndex's
            result: list[SparseEmbedding] = super().get_text_embedding_batch(
                items, show_progress=False, **kwargs
            )
        return result

    async def aget_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[SparseEmbedding]:
        """:meth:`get_text_embedding_batch` with each batch in a worker thread."""
        items = check_texts(texts, "aget_text_embedding_batch()")
        with batch_progress(show_progress, len(items)):
            result: list[SparseEmbedding] = await super().aget_text_embedding_batch(
                items, show_progress=False, **kwargs
            )
        return result

    # -- QdrantVectorStore(enable_hybrid=True) ---------------------------------------------
    def sparse_doc_fn(self, texts: list[str]) -> BatchSparseEncoding:
        """Document vectors as ``(indices per text, values per text)``: ``sparse_doc_fn``."""
        return _as_batch(self._document_vectors(texts, "sparse_doc_fn()"))

    def sparse_query_fn(self, texts: list[str]) -> BatchSparseEncoding:
        """Query vectors as ``(indices per text, values per text)``: ``sparse_query_fn``."""
        items = check_texts(texts, "sparse_query_fn()")
        return _as_batch(self._model.query_embed(items, batch_size=self.embed_batch_size))

    def sparse_vector_params(self) -> Any:
        """``qdrant_client`` ``SparseVectorParams`` for this model: ``modifier=IDF`` when
        :attr:`requires_idf` (pass it as ``QdrantVectorStore(sparse_config=...)``)."""
        try:
            from qdrant_client.http import models as rest
        except ImportError as exc:
            raise MissingExtraError(
                "qdrant-client is not installed: "
                f"{sys.executable} -m pip install llama-index-vector-stores-qdrant"
            ) from exc
        return rest.SparseVectorParams(
            index=rest.SparseIndexParams(),
            modifier=rest.Modifier.IDF if self.requires_idf else None,
        )

    def _document_vectors(self, texts: Any, where: str) -> list[Any]:
        items = check_texts(texts, where)
        if not items:
            return []
        return list(
            self._model.embed(
                items,
                batch_size=self.embed_batch_size,
                parallel=self.parallel,
                show_progress=call_progress(),
            )
        )

    def close(self) -> None:
        """Stop the worker pool, if ``parallel`` started one."""
        self._model.close()


def _as_dict(vector: Any) -> SparseEmbedding:
    indices, values = sparse_lists(vector)
    return dict(zip(indices, values, strict=True))


def _as_batch(vectors: Any) -> BatchSparseEncoding:
    indices: list[list[int]] = []
    values: list[list[float]] = []
    for vector in vectors:
        i, v = sparse_lists(vector)
        indices.append(i)
        values.append(v)
    return indices, values
