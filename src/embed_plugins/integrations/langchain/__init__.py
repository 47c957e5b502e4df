"""LangChain adapters (extra ``langchain``: ``pip install 'embed_plugins[langchain]'``).

* :class:`EmbedPluginsEmbeddings`: dense ``Embeddings`` (a drop-in for
  ``FastEmbedEmbeddings``).
"""

from __future__ import annotations

from .embeddings import EmbedPluginsEmbeddings

__all__ = ["EmbedPluginsEmbeddings"]
