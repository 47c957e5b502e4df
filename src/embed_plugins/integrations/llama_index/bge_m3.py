"""BGE-M3 for LlamaIndex: dense, sparse (Qdrant hybrid) and ColBERT rerank from one model.

:class:`EmbedPluginsBgeM3Embedding` is a dense ``BaseEmbedding`` over one
:class:`~embed_plugins.BgeM3Embedding`, and carries on the same model the two
callables ``QdrantVectorStore`` takes for hybrid search and a node postprocessor
ranking by ColBERT MaxSim::

    bge = EmbedPluginsBgeM3Embedding()                       # BAAI/bge-m3
    Settings.embed_model = bge
    store = QdrantVectorStore(
        "docs", client=client, enable_hybrid=True,
        sparse_doc_fn=bge.sparse_doc_fn, sparse_query_fn=bge.sparse_query_fn,
    )
    engine = index.as_query_engine(similarity_top_k=10, node_postprocessors=[bge.reranker(3)])

One model load serves all three.  The sparse side is served from the dense pass for the
texts embedded last (``cache_size`` of them), so a text indexed in both spaces is
encoded once when LlamaIndex hands both sides the same text; when the texts differ
(metadata included in one and not the other, say) each side runs its own pass.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ...catalog.bge_m3 import BgeM3Spec
from ...models.bge_m3 import BgeM3Embedding
from ...results import RerankResult
from .._bge_m3 import DEFAULT_CACHE_SIZE, SharedBgeM3, shared_bge_m3
from .._common import check_text, check_texts, missing_extra, to_float_list, to_float_lists

try:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr

    from .._adapter import LlamaIndexAdapterBase
    from .._fields import EngineFields
    from .embeddings import DEFAULT_EMBED_BATCH_SIZE
    from .postprocessors import _RerankPostprocessor
    from .sparse import BatchSparseEncoding, _as_batch
except ImportError as exc:  # pragma: no cover - exercised with the extra uninstalled
    raise missing_extra("llama-index", "llama-index-core") from exc


class EmbedPluginsBgeM3Embedding(LlamaIndexAdapterBase, BaseEmbedding, EngineFields):
    """BGE-M3's dense vectors for LlamaIndex, with its lexical weights and ColBERT
    reranking on the same model (``sparse_doc_fn``, ``sparse_query_fn``, ``reranker``)."""

    model_config = ConfigDict(
        extra="forbid", protected_namespaces=("pydantic_model_",), arbitrary_types_allowed=True
    )

    model_name: str = Field(
        default=BgeM3Embedding.default_model,
        description="A BGE-M3 model (BgeM3Embedding.list_supported_models()) or folder name.",
    )
    embed_batch_size: int = Field(
        default=DEFAULT_EMBED_BATCH_SIZE, gt=0, le=2048, description="Texts per call."
    )
    parallel: int | None = Field(default=None, ge=0, description="Worker processes, or None.")
    spec: BgeM3Spec | None = Field(default=None, description="A custom BGE-M3 description.")
    cache_size: int = Field(
        default=DEFAULT_CACHE_SIZE,
        ge=0,
        description="Recent texts whose dense and sparse results are kept for the other side.",
    )

    _shared: SharedBgeM3 = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._shared = shared_bge_m3(self, self.cache_size)
        self.model_name = self._shared.model.model_name

    @classmethod
    def class_name(cls) -> str:
        return "EmbedPluginsBgeM3Embedding"

    @property
    def model(self) -> BgeM3Embedding:
        """The underlying :class:`~embed_plugins.BgeM3Embedding`."""
        return self._shared.model

    @property
    def shared(self) -> SharedBgeM3:
        return self._shared

    # -- dense ------------------------------------------------------------------------------
    def _get_query_embedding(self, query: str) -> list[float]:
        text = check_text(query, "get_query_embedding()", "the query")
        return to_float_list(self._shared.dense([text])[0])

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([check_text(text, "get_text_embedding()")])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return to_float_lists(self._shared.dense(check_texts(texts, "get_text_embedding_batch()")))

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await asyncio.to_thread(self._get_query_embedding, query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return await asyncio.to_thread(self._get_text_embedding, text)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)

    # -- QdrantVectorStore(enable_hybrid=True) ---------------------------------------------
    def sparse_doc_fn(self, texts: list[str]) -> BatchSparseEncoding:
        """Lexical weights as ``(indices per text, values per text)``: ``sparse_doc_fn``."""
        return _as_batch(self._shared.sparse(check_texts(texts, "sparse_doc_fn()")))

    def sparse_query_fn(self, texts: list[str]) -> BatchSparseEncoding:
        """The same for queries (BGE-M3 encodes them alike): ``sparse_query_fn``."""
        return _as_batch(self._shared.sparse(check_texts(texts, "sparse_query_fn()")))

    def reranker(self, top_n: int | None = 2) -> EmbedPluginsBgeM3Rerank:
        """A node postprocessor ranking by ColBERT MaxSim on this model."""
        return EmbedPluginsBgeM3Rerank(source=self, top_n=top_n)

    def close(self) -> None:
        """Stop the worker pool, if ``parallel`` started one."""
        self._shared.model.close()


class EmbedPluginsBgeM3Rerank(_RerankPostprocessor):
    """Reranks nodes by BGE-M3's ColBERT MaxSim, on the model of ``source``."""

    model_name: str = Field(default=BgeM3Embedding.default_model, description="Set from source.")
    source: EmbedPluginsBgeM3Embedding = Field(description="The adapter holding the model.")

    def model_post_init(self, context: Any, /) -> None:
        given = sorted((set(EngineFields.model_fields) | {"parallel"}) & self.model_fields_set)
        if given:
            raise ValueError(
                f"EmbedPluginsBgeM3Rerank uses the model of its source; set {given} on the "
                "source (EmbedPluginsBgeM3Embedding)"
            )
        self.model_name = self.source.model_name

    @classmethod
    def class_name(cls) -> str:
        return "EmbedPluginsBgeM3Rerank"

    def _rank(self, query: str, documents: list[Any]) -> list[RerankResult]:
        return self.source.shared.rank(query, documents, self.top_n)
