"""``langchain_qdrant.SparseEmbeddings`` over :class:`~embed_plugins.SparseTextEmbedding`.

A drop-in for ``langchain_qdrant.FastEmbedSparse``: the same constructor names
(``model_name`` defaulting to ``"Qdrant/bm25"``, ``batch_size``, ``cache_dir``,
``threads``, ``providers``, ``parallel``, and the ``SparseTextEmbedding``
options it passes on: ``cuda``, ``device_ids``, ``lazy_load``,
``specific_model_path``, BM25/BM42's ``k``, ``b``, ``avg_len``, ``language``...),
as keywords, so a hybrid Qdrant store switches by changing the import and class
name (the LlamaIndex adapter defaults to BM25 too)::

    from langchain_qdrant import QdrantVectorStore, RetrievalMode
    from embed_plugins.integrations.langchain import (
        EmbedPluginsEmbeddings,
        EmbedPluginsSparseEmbeddings,
    )

    sparse = EmbedPluginsSparseEmbeddings(model_name="Qdrant/bm25")
    store = QdrantVectorStore.from_documents(
        docs,
        embedding=EmbedPluginsEmbeddings(model_name="sentence-transformers/all-MiniLM-L6-v2"),
        sparse_embedding=sparse,
        sparse_vector_params=sparse.sparse_vector_params(),  # modifier=idf for BM25 / BM42
        retrieval_mode=RetrievalMode.HYBRID,
        location=":memory:",
        collection_name="docs",
    )

BM25 and BM42 vectors carry no IDF: the collection's sparse index must have
``modifier=idf``, which QdrantVectorStore does not set by itself;
:meth:`EmbedPluginsSparseEmbeddings.sparse_vector_params` gives the setting.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ...catalog.sparse import SparseSpec
from ...models.sparse_embedding import DEFAULT_BATCH_SIZE, SparseTextEmbedding
from .._common import DEFAULT_SPARSE_MODEL, check_text, check_texts, missing_extra, sparse_lists

try:
    from langchain_qdrant.sparse_embeddings import SparseEmbeddings, SparseVector
    from pydantic import ConfigDict, Field, PrivateAttr

    from .._adapter import AdapterBase
    from .._fields import EngineFields, SparseOptions
except ImportError as exc:  # pragma: no cover - exercised with the extra uninstalled
    raise missing_extra("langchain", "langchain-qdrant") from exc


class EmbedPluginsSparseEmbeddings(AdapterBase, EngineFields, SparseOptions, SparseEmbeddings):
    """Sparse embeddings (BM25, SPLADE, BM42) for ``QdrantVectorStore`` hybrid retrieval.

    ``embed_documents`` uses ``embed`` (document weights), ``embed_query`` uses
    ``query_embed`` (for BM25/BM42 each query term once with weight 1.0, scored
    against the documents' weights and Qdrant's IDF).  Results are
    ``langchain_qdrant.SparseVector`` with plain Python ints and floats.  Pickling
    and ``copy.deepcopy`` rebuild the model from the fields on the other side.
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_name: str = Field(
        default=DEFAULT_SPARSE_MODEL,
        description="A supported sparse model (SparseTextEmbedding.list_supported_models()); "
        "BM25 by default, as FastEmbedSparse and the LlamaIndex adapter.",
    )
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, gt=0, description="Texts per ONNX call.")
    parallel: int | None = Field(
        default=None, ge=0, description="None: in this process; N: N worker processes."
    )
    spec: SparseSpec | None = Field(
        default=None, description="A custom SpladeSpec, Bm25Spec or Bm42Spec."
    )
    show_progress: bool = Field(
        default=False, description="A progress bar (texts/s, ETA) while embed_documents runs."
    )

    _model: SparseTextEmbedding = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        self._model = SparseTextEmbedding(
            self.chosen_name(), spec=self.spec, **self.engine_kwargs(), **self.sparse_options()
        )
        self.model_name = self._model.model_name

    @property
    def model(self) -> SparseTextEmbedding:
        """The underlying :class:`~embed_plugins.SparseTextEmbedding`."""
        return self._model

    @property
    def requires_idf(self) -> bool:
        """Whether the vectors need a Qdrant sparse index with ``modifier=idf`` (BM25, BM42)."""
        return bool(self._model.spec.requires_idf)

    def sparse_vector_params(self) -> dict[str, Any]:
        """``QdrantVectorStore.from_texts(sparse_vector_params=...)`` for this model:
        ``{"modifier": Modifier.IDF}`` when :attr:`requires_idf`, else ``{}``."""
        if not self.requires_idf:
            return {}
        from qdrant_client import models

        return {"modifier": models.Modifier.IDF}

    def embed_documents(self, texts: list[str]) -> list[SparseVector]:
        """One sparse vector per text, in order; ``[]`` for ``[]``."""
        items = check_texts(texts, "embed_documents()")
        if not items:
            return []
        vectors = self._model.embed(
            items,
            batch_size=self.batch_size,
            parallel=self.parallel,
            show_progress=self.show_progress,
        )
        return [_to_langchain(v) for v in vectors]

    def embed_query(self, text: str) -> SparseVector:
        """The query's sparse vector."""
        query = check_text(text, "embed_query()", "the query")
        return _to_langchain(next(iter(self._model.query_embed([query], batch_size=1))))

    async def aembed_documents(self, texts: list[str]) -> list[SparseVector]:
        """:meth:`embed_documents` in a worker thread (the event loop keeps running)."""
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> SparseVector:
        """:meth:`embed_query` in a worker thread (the event loop keeps running)."""
        return await asyncio.to_thread(self.embed_query, text)

    def close(self) -> None:
        """Stop the worker pool, if ``parallel`` started one."""
        self._model.close()


def _to_langchain(vector: Any) -> SparseVector:
    indices, values = sparse_lists(vector)
    return SparseVector(indices=indices, values=values)
