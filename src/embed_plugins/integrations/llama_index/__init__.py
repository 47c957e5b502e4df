"""LlamaIndex adapters (extra ``llama-index``: ``pip install 'embed_plugins[llama-index]'``).

* :class:`EmbedPluginsEmbedding`: dense ``BaseEmbedding`` (a drop-in for
  ``FastEmbedEmbedding``).
* :class:`EmbedPluginsMultiModalEmbedding`: ``MultiModalEmbedding`` (text and image
  towers of CLIP and kin) for ``MultiModalVectorStoreIndex(image_embed_model=...)``.
* :class:`EmbedPluginsSparseEmbedding`: ``BaseSparseEmbedding`` with
  ``sparse_doc_fn`` / ``sparse_query_fn`` for ``QdrantVectorStore(enable_hybrid=True)``.
* :class:`EmbedPluginsRerank`, :class:`EmbedPluginsColbertRerank`,
  :class:`EmbedPluginsColPaliRerank`: node postprocessors (cross-encoder, ColBERT
  MaxSim over texts, ColPali MaxSim over page images).
* :class:`EmbedPluginsBgeM3Embedding`: BGE-M3's dense vectors, with its lexical weights
  (``sparse_doc_fn`` / ``sparse_query_fn``) and a ColBERT reranker
  (:class:`EmbedPluginsBgeM3Rerank`) on the same model.
"""

from __future__ import annotations

from .bge_m3 import EmbedPluginsBgeM3Embedding, EmbedPluginsBgeM3Rerank
from .embeddings import EmbedPluginsEmbedding
from .multimodal import EmbedPluginsMultiModalEmbedding
from .postprocessors import (
    EmbedPluginsColbertRerank,
    EmbedPluginsColPaliRerank,
    EmbedPluginsRerank,
)
from .sparse import EmbedPluginsSparseEmbedding

__all__ = [
    "EmbedPluginsBgeM3Embedding",
    "EmbedPluginsBgeM3Rerank",
    "EmbedPluginsColPaliRerank",
    "EmbedPluginsColbertRerank",
    "EmbedPluginsEmbedding",
    "EmbedPluginsMultiModalEmbedding",
    "EmbedPluginsRerank",
    "EmbedPluginsSparseEmbedding",
]
