"""``langchain_qdrant.SparseEmbeddings`` of BGE-M3's lexical weights on a shared model
(see :mod:`.bge_m3`; this module needs ``langchain-qdrant``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .._common import check_text, check_texts, missing_extra, sparse_lists

try:
    from langchain_qdrant.sparse_embeddings import SparseEmbeddings, SparseVector
except ImportError as exc:  # pragma: no cover - exercised with the extra uninstalled
    raise missing_extra("langchain", "langchain-qdrant") from exc

if TYPE_CHECKING:
    from .bge_m3 import EmbedPluginsBgeM3Embeddings


class BgeM3SparseEmbeddings(SparseEmbeddings):
    """BGE-M3's lexical weights (indices are token ids) from the model of ``source``.

    Built by :meth:`EmbedPluginsBgeM3Embeddings.sparse_embeddings`.  The weights are
    learned, not term frequencies: index them without ``modifier=idf``.
    """

    def __init__(self, source: EmbedPluginsBgeM3Embeddings) -> None:
        self.source = source

    def embed_documents(self, texts: list[str]) -> list[SparseVector]:
        """One sparse vector per text, in order (served from the dense pass when the
        same texts were just embedded)."""
        items = check_texts(texts, "embed_documents()")
        return [_to_langchain(v) for v in self.source.shared.sparse(items)]

    def embed_query(self, text: str) -> SparseVector:
        query = check_text(text, "embed_query()", "the query")
        return _to_langchain(self.source.shared.sparse([query])[0])

    async def aembed_documents(self, texts: list[str]) -> list[SparseVector]:
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> SparseVector:
        return await asyncio.to_thread(self.embed_query, text)


def _to_langchain(vector: Any) -> SparseVector:
    indices, values = sparse_lists(vector)
    return SparseVector(indices=indices, values=values)
