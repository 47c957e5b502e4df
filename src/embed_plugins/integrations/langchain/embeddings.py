"""LangChain ``Embeddings`` over :class:`~embed_plugins.TextEmbedding`.

A drop-in for ``langchain_community.embeddings.FastEmbedEmbeddings``: the same
field names (``model_name``, ``max_length``, ``cache_dir``, ``threads``,
``doc_embed_type``, ``batch_size``, ``parallel``, ``providers``), so swapping is
a change of import and class name.  Differences, each on purpose:

* unknown fields are an error (``extra="forbid"``), not silently kept;
* ``doc_embed_type`` defaults to ``"passage"``, so a model's passage prefix
  (E5's ``"passage: "``) applies to documents as its card asks; ``"default"``
  embeds documents with no prefix, as FastEmbed's default does;
* ``max_length`` defaults to ``None``: the model's own truncation length (256 for
  all-MiniLM-L6-v2) rather than a fixed 512;
* async methods run in a worker thread and never block the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal

from ...catalog.spec import DenseSpec
from ...engine.session import Provider
from ...models.text_embedding import DEFAULT_BATCH_SIZE, TextEmbedding
from .._common import check_text, check_texts, missing_extra, to_float_list, to_float_lists

try:
    from langchain_core.embeddings import Embeddings
    from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

    from .._fields import PathStr
except ImportError as exc:  # pragma: no cover - exercised with the extra uninstalled
    raise missing_extra("langchain", "langchain-core") from exc

DocEmbedType = Literal["default", "passage"]


class EmbedPluginsEmbeddings(BaseModel, Embeddings):
    """Dense text embeddings from a local ONNX model, for LangChain.

    ``embed_documents`` uses ``passage_embed`` (or ``embed`` when
    ``doc_embed_type="default"``), ``embed_query`` uses ``query_embed``, so the
    model's query and passage prefixes apply.  Vectors are lists of plain Python
    floats.  One :class:`~embed_plugins.TextEmbedding` is built when the object is
    created and reused by every call (and by the worker pool when ``parallel`` is
    set).

    Example::

        from embed_plugins.integrations.langchain import EmbedPluginsEmbeddings

        embeddings = EmbedPluginsEmbeddings(model_name="BAAI/bge-small-en-v1.5")
        vectors = embeddings.embed_documents(["a document", "another one"])
        query = embeddings.embed_query("what is in the documents?")
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), frozen=False)

    model_name: str = TextEmbedding.default_model
    """Name of a supported model (``TextEmbedding.list_supported_models()``), or of
    a folder under ``$EMBED_PLUGINS_MODELS_DIR``.  Left unset with ``spec`` or
    ``model_path``, the spec's (or the folder's) name is used and stored here."""
    max_length: int | None = Field(default=None, gt=0)
    """Truncation length in tokens; ``None`` uses the model's own."""
    cache_dir: PathStr | None = None
    """Hugging Face cache folder for downloaded models (huggingface_hub's default when
    ``None``)."""
    threads: int | None = Field(default=None, gt=0)
    """Threads of one ONNX Runtime session; ``None`` lets embed_plugins choose."""
    doc_embed_type: DocEmbedType = "passage"
    """``"passage"``: documents get the model's passage prefix; ``"default"``: none."""
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, gt=0)
    """Texts per ONNX call (the engine also caps padded tokens per call)."""
    parallel: int | None = Field(default=None, ge=0)
    """``None``: embed in this process; ``N``: on a pool of N worker processes
    (``0``: one per core), started once and reused."""
    providers: Sequence[Provider] | None = None
    """ONNX Runtime execution providers, e.g. ``["CUDAExecutionProvider"]``."""
    cuda: bool = False
    """Shorthand for the CUDA provider (``device_ids`` picks the GPU)."""
    device_ids: list[int] | None = None
    device: str | None = None
    """``"cpu"``, ``"cuda"``, ``"cuda:1"``...; an alternative to ``providers``."""
    lazy_load: bool = False
    """Load the ONNX session on first use instead of at construction."""
    model_path: PathStr | None = None
    """A local folder holding the model's files (skips name resolution)."""
    local_files_only: bool = False
    """Never download; use the offline models directory and the cache only."""
    spec: DenseSpec | None = None
    """A custom model description (pooling, prefixes, dimension...)."""
    truncate_dim: int | None = Field(default=None, gt=0)
    """Cut vectors to this many dimensions (Matryoshka models), then renormalise as
    the model's spec says."""

    _model: TextEmbedding = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        # A name the user did not set must not override ``spec`` or ``model_path``.
        name = self.model_name if "model_name" in self.model_fields_set else None
        self._model = TextEmbedding(
            name,
            cache_dir=self.cache_dir,
            threads=self.threads,
            providers=self.providers,
            cuda=self.cuda,
            device_ids=self.device_ids,
            lazy_load=self.lazy_load,
            device=self.device,
            model_path=self.model_path,
            local_files_only=self.local_files_only,
            spec=self.spec,
            max_length=self.max_length,
            truncate_dim=self.truncate_dim,
        )
        self.model_name = self._model.model_name

    @property
    def model(self) -> TextEmbedding:
        """The underlying :class:`~embed_plugins.TextEmbedding`."""
        return self._model

    @property
    def embedding_size(self) -> int:
        """Length of every returned vector."""
        return self._model.embedding_size

    # -- sync -------------------------------------------------------------------
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order; ``[]`` for ``[]``."""
        items = check_texts(texts, "embed_documents()")
        if not items:
            return []
        method = self._model.passage_embed if self.doc_embed_type == "passage" else self._model.embed
        return to_float_lists(method(items, batch_size=self.batch_size, parallel=self.parallel))

    def embed_query(self, text: str) -> list[float]:
        """The query's vector, with the model's query prefix applied."""
        query = check_text(text, "embed_query()", "the query")
        vectors = list(self._model.query_embed([query], batch_size=1))
        return to_float_list(vectors[0])

    # -- async: the sync work in a worker thread -----------------------------------
    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """:meth:`embed_documents` in a worker thread (the event loop keeps running)."""
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        """:meth:`embed_query` in a worker thread (the event loop keeps running)."""
        return await asyncio.to_thread(self.embed_query, text)

    # -- lifecycle ----------------------------------------------------------------
    def close(self) -> None:
        """Stop the worker pool, if ``parallel`` started one."""
        self._model.close()
