"""BGE-M3 for LangChain: dense, sparse (Qdrant hybrid) and ColBERT rerank from one model.

:class:`EmbedPluginsBgeM3Embeddings` is a dense ``Embeddings`` over one
:class:`~embed_plugins.BgeM3Embedding`; :meth:`~EmbedPluginsBgeM3Embeddings.sparse_embeddings`
gives a ``langchain_qdrant.SparseEmbeddings`` and
:meth:`~EmbedPluginsBgeM3Embeddings.reranker` a document compressor (ColBERT MaxSim),
both on the same model: one load, and ``QdrantVectorStore``'s two requests for a
batch (dense, then sparse) run the encoder once::

    bge = EmbedPluginsBgeM3Embeddings()                      # BAAI/bge-m3
    store = QdrantVectorStore.from_documents(
        docs, embedding=bge, sparse_embedding=bge.sparse_embeddings(),
        retrieval_mode=RetrievalMode.HYBRID, location=":memory:", collection_name="docs",
    )
    retriever = ContextualCompressionRetriever(
        base_compressor=bge.reranker(top_n=3), base_retriever=store.as_retriever(k=20)
    )

The single-output classes take the name too (``EmbedPluginsEmbeddings``,
``EmbedPluginsSparseEmbeddings``, ``EmbedPluginsColbertRerank`` with
``model_name="BAAI/bge-m3"``), each with its own model load.  A pickled or deep-copied
sparse embedder or reranker rebuilds its source, so it no longer shares it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ...catalog.bge_m3 import BgeM3Spec
from ...models.bge_m3 import DEFAULT_BATCH_SIZE, BgeM3Embedding
from ...results import RerankResult
from .._bge_m3 import DEFAULT_CACHE_SIZE, SharedBgeM3, shared_bge_m3
from .._common import check_text, check_texts, missing_extra, to_float_list
from .._common import to_float_lists as _floats

try:
    from langchain_core.embeddings import Embeddings
    from pydantic import ConfigDict, Field, PrivateAttr

    from .._adapter import AdapterBase
    from .._fields import EngineFields
    from .rerankers import _RerankCompressor
except ImportError as exc:  # pragma: no cover - exercised with the extra uninstalled
    raise missing_extra("langchain", "langchain-core") from exc


class EmbedPluginsBgeM3Embeddings(AdapterBase, EngineFields, Embeddings):
    """BGE-M3's dense vectors (``[CLS]``, normalised) as LangChain ``Embeddings``,
    with the sparse embedder and ColBERT reranker of the same model at hand."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_name: str = Field(
        default=BgeM3Embedding.default_model,
        description="A BGE-M3 model (BgeM3Embedding.list_supported_models()) or folder name.",
    )
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, gt=0, description="Texts per call.")
    parallel: int | None = Field(default=None, ge=0, description="Worker processes, or None.")
    spec: BgeM3Spec | None = Field(default=None, description="A custom BGE-M3 description.")
    cache_size: int = Field(
        default=DEFAULT_CACHE_SIZE,
        ge=0,
        description="Recent texts whose dense and sparse results are kept for the other side.",
    )

    _shared: SharedBgeM3 = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        self._shared = shared_bge_m3(self, self.cache_size)
        self.model_name = self._shared.model.model_name

    @property
    def model(self) -> BgeM3Embedding:
        """The underlying :class:`~embed_plugins.BgeM3Embedding`."""
        return self._shared.model

    @property
    def shared(self) -> SharedBgeM3:
        return self._shared

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One dense vector per text, in order; ``[]`` for ``[]``."""
        return _floats(self._shared.dense(check_texts(texts, "embed_documents()")))

    def embed_query(self, text: str) -> list[float]:
        """The query's dense vector (BGE-M3 uses no query instruction)."""
        return to_float_list(
            self._shared.dense([check_text(text, "embed_query()", "the query")])[0]
        )

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        return await asyncio.to_thread(self.embed_query, text)

    def sparse_embeddings(self) -> Any:
        """A ``langchain_qdrant.SparseEmbeddings`` of BGE-M3's lexical weights on this model
        (index them without ``modifier=idf``: the weights are learned)."""
        from .bge_m3_sparse import BgeM3SparseEmbeddings  # needs langchain-qdrant

        return BgeM3SparseEmbeddings(self)

    def reranker(self, top_n: int | None = 3) -> EmbedPluginsBgeM3Rerank:
        """A document compressor ranking by ColBERT MaxSim on this model."""
        return EmbedPluginsBgeM3Rerank(source=self, top_n=top_n)

    def close(self) -> None:
        """Stop the worker pool, if ``parallel`` started one."""
        self._shared.model.close()


class EmbedPluginsBgeM3Rerank(_RerankCompressor):
    """Reranks documents by BGE-M3's ColBERT MaxSim, on the model of ``source``."""

    source: EmbedPluginsBgeM3Embeddings = Field(description="The adapter holding the model.")

    def model_post_init(self, context: Any, /) -> None:
        given = sorted(set(EngineFields.model_fields) & self.model_fields_set)
        if given or "parallel" in self.model_fields_set:
            raise ValueError(
                f"EmbedPluginsBgeM3Rerank uses the model of its source; set {given or 'parallel'} "
                "on the source (EmbedPluginsBgeM3Embeddings)"
            )

    def _rank(self, query: str, texts: list[str]) -> list[RerankResult]:
        return self.source.shared.rank(query, texts, self.top_n)
