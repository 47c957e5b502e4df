"""LangChain adapters (extra ``langchain``: ``pip install 'embed_plugins[langchain]'``).

* :class:`EmbedPluginsEmbeddings`: dense ``Embeddings`` (a drop-in for
  ``FastEmbedEmbeddings``).
* :class:`EmbedPluginsSparseEmbeddings`: ``langchain_qdrant.SparseEmbeddings``
  (BM25, SPLADE, BM42; a drop-in for ``FastEmbedSparse``).
* :class:`EmbedPluginsRerank`, :class:`EmbedPluginsColbertRerank`: document
  compressors (cross-encoder, ColBERT MaxSim).
* :class:`EmbedPluginsCrossEncoder`: ``BaseCrossEncoder`` for ``CrossEncoderReranker``.
* :class:`EmbedPluginsBgeM3Embeddings`: BGE-M3's dense ``Embeddings``, with its sparse
  embedder (``sparse_embeddings()``) and ColBERT reranker (``reranker()``) on the same
  model.

The sparse class needs ``langchain-qdrant`` and is imported on first use, so
the others work without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bge_m3 import EmbedPluginsBgeM3Embeddings, EmbedPluginsBgeM3Rerank
from .embeddings import EmbedPluginsEmbeddings
from .rerankers import EmbedPluginsColbertRerank, EmbedPluginsCrossEncoder, EmbedPluginsRerank

if TYPE_CHECKING:
    from .sparse import EmbedPluginsSparseEmbeddings

__all__ = [
    "EmbedPluginsBgeM3Embeddings",
    "EmbedPluginsBgeM3Rerank",
    "EmbedPluginsColbertRerank",
    "EmbedPluginsCrossEncoder",
    "EmbedPluginsEmbeddings",
    "EmbedPluginsRerank",
    "EmbedPluginsSparseEmbeddings",
]


def __getattr__(name: str) -> Any:
    if name == "EmbedPluginsSparseEmbeddings":
        from .sparse import EmbedPluginsSparseEmbeddings

        return EmbedPluginsSparseEmbeddings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
