"""LlamaIndex adapters (extra ``llama-index``: ``pip install 'embed_plugins[llama-index]'``).

* :class:`EmbedPluginsEmbedding`: dense ``BaseEmbedding`` (a drop-in for
  ``FastEmbedEmbedding``).
"""

from __future__ import annotations

from .embeddings import EmbedPluginsEmbedding

__all__ = ["EmbedPluginsEmbedding"]
