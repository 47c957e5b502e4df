"""LlamaIndex adapters (extra ``llama-index``: ``pip install 'embed_plugins[llama-index]'``).

* :class:`EmbedPluginsEmbedding`: dense ``BaseEmbedding`` (a drop-in for
  ``FastEmbedEmbedding``).
* :class:`EmbedPluginsSparseEmbedding`: ``BaseSparseEmbedding`` with
  ``sparse_doc_fn`` / ``sparse_query_fn`` for ``QdrantVectorStore(enable_hybrid=True)``.
* :class:`EmbedPluginsRerank`, :class:`EmbedPluginsColbertRerank`: node
  postprocessors (cross-encoder, ColBERT MaxSim).
"""

from __future__ import annotations

from .embeddings import EmbedPluginsEmbedding
from .postprocessors import EmbedPluginsColbertRerank, EmbedPluginsRerank
from .sparse import EmbedPluginsSparseEmbedding

__all__ = [
    "EmbedPluginsColbertRerank",
    "EmbedPluginsEmbedding",
    "EmbedPluginsRerank",
    "EmbedPluginsSparseEmbedding",
]
