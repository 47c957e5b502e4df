"""LangChain and LlamaIndex adapters (optional extras).

Nothing here is imported by ``import embed_plugins``; import the adapter you
need directly::

    from embed_plugins.integrations.langchain import EmbedPluginsEmbeddings
    from embed_plugins.integrations.llama_index import EmbedPluginsEmbedding

Each adapter module imports its framework at import time and, when that
framework is missing, raises :class:`MissingExtraError` naming the extra to
install (``pip install 'embed_plugins[langchain]'``).
"""

from __future__ import annotations

from ._common import MissingExtraError

__all__ = ["MissingExtraError"]
