"""LlamaIndex ``BaseEmbedding`` over :class:`~embed_plugins.TextEmbedding`.

A drop-in for ``llama_index.embeddings.fastembed.FastEmbedEmbedding``: the same
field names (``model_name``, ``max_length``, ``doc_embed_type``, ``cache_dir``,
``threads``, ``providers``), plus LlamaIndex's own ``embed_batch_size``.
Differences, each on purpose: unknown fields are an error; ``doc_embed_type``
defaults to ``"passage"`` (the model's passage prefix applies to documents);
``embed_batch_size`` defaults to 256 (local inference gains from large batches;
the engine sorts by length and caps padded tokens per call).
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
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr

    from .._fields import PathStr
except ImportError as exc:  # pragma: no cover - exercised with the extra uninstalled
    raise missing_extra("llama-index", "llama-index-core") from exc

DocEmbedType = Literal["default", "passage"]


class EmbedPluginsEmbedding(BaseEmbedding):  # type: ignore[misc]
    """Dense text embeddings from a local ONNX model, for LlamaIndex.

    Documents go through ``passage_embed`` (``embed`` when
    ``doc_embed_type="default"``), queries through ``query_embed``, so the
    model's prefixes apply.  LlamaIndex cuts the texts into batches of
    ``embed_batch_size``; each batch is one engine call with that batch size.
    Async methods run in a worker thread.  ``to_dict()``/``from_dict()`` round
    trip: the model is rebuilt from the fields.

    Example::

        from llama_index.core import Settings
        from embed_plugins.integrations.llama_index import EmbedPluginsEmbedding

        Settings.embed_model = EmbedPluginsEmbedding(model_name="BAAI/bge-small-en-v1.5")
    """

    model_config = ConfigDict(
        extra="forbid", protected_namespaces=("pydantic_model_",), arbitrary_types_allowed=True
    )

    model_name: str = Field(
        default=TextEmbedding.default_model,
        description=(
            "A supported model name, or a folder under $EMBED_PLUGINS_MODELS_DIR; left unset "
            "with spec or model_path, the spec's (or folder's) name is used."
        ),
    )
    embed_batch_size: int = Field(
        default=DEFAULT_BATCH_SIZE, gt=0, le=2048, description="Texts per embedding call."
    )
    max_length: int | None = Field(
        default=None, gt=0, description="Truncation length in tokens; None: the model's own."
    )
    doc_embed_type: DocEmbedType = Field(
        default="passage",
        description="'passage': documents get the model's passage prefix; 'default': none.",
    )
    cache_dir: PathStr | None = Field(default=None, description="Hugging Face cache folder.")
    threads: int | None = Field(default=None, gt=0, description="ONNX Runtime threads.")
    providers: Sequence[Provider] | None = Field(
        default=None, description="ONNX Runtime execution providers."
    )
    parallel: int | None = Field(
        default=None, ge=0, description="Worker processes (0: one per core; None: in-process)."
    )
    cuda: bool = Field(default=False, description="Use the CUDA provider.")
    device_ids: list[int] | None = Field(default=None, description="GPU ids with cuda=True.")
    device: str | None = Field(default=None, description="'cpu', 'cuda', 'cuda:1'...")
    lazy_load: bool = Field(default=False, description="Load the session on first use.")
    model_path: PathStr | None = Field(default=None, description="A local model folder.")
    local_files_only: bool = Field(default=False, description="Never download.")
    spec: DenseSpec | None = Field(default=None, description="A custom model description.")
    truncate_dim: int | None = Field(
        default=None, gt=0, description="Cut vectors to this many dimensions (Matryoshka)."
    )

    _model: TextEmbedding = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
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

    @classmethod
    def class_name(cls) -> str:
        return "EmbedPluginsEmbedding"

    @property
    def model(self) -> TextEmbedding:
        """The underlying :class:`~embed_plugins.TextEmbedding`."""
        return self._model

    # -- sync -------------------------------------------------------------------
    def _get_query_embedding(self, query: str) -> list[float]:
        text = check_text(query, "get_query_embedding()", "the query")
        return to_float_list(next(iter(self._model.query_embed([text], batch_size=1))))

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([check_text(text, "get_text_embedding()")])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        items = check_texts(texts, "get_text_embedding_batch()")
        if not items:
            return []
        method = self._model.passage_embed if self.doc_embed_type == "passage" else self._model.embed
        return to_float_lists(
            method(items, batch_size=self.embed_batch_size, parallel=self.parallel)
        )

    def get_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[list[float]]:
        """Vectors of ``texts``, ``embed_batch_size`` at a time (``[]`` for ``[]``)."""
        items = check_texts(texts, "get_text_embedding_batch()")
        result: list[list[float]] = super().get_text_embedding_batch(
            items, show_progress=show_progress, **kwargs
        )
        return result

    async def aget_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[list[float]]:
        """:meth:`get_text_embedding_batch` with each batch in a worker thread."""
        items = check_texts(texts, "aget_text_embedding_batch()")
        result: list[list[float]] = await super().aget_text_embedding_batch(
            items, show_progress=show_progress, **kwargs
        )
        return result

    # -- async: the sync work in a worker thread -----------------------------------
    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await asyncio.to_thread(self._get_query_embedding, query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return await asyncio.to_thread(self._get_text_embedding, text)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)

    def close(self) -> None:
        """Stop the worker pool, if ``parallel`` started one."""
        self._model.close()
