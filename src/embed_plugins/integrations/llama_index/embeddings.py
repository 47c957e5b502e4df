"""LlamaIndex ``BaseEmbedding`` over :class:`~embed_plugins.TextEmbedding`.

A drop-in for ``llama_index.embeddings.fastembed.FastEmbedEmbedding``: the same
field names (``model_name``, ``max_length``, ``doc_embed_type``, ``cache_dir``,
``threads``, ``providers``) and the fastembed options it passes on (``cuda``,
``device_ids``, ``lazy_load``, ``specific_model_path``), plus LlamaIndex's own
``embed_batch_size``.  Differences, each on purpose: unknown fields are an error;
``doc_embed_type`` defaults to ``"passage"`` (the model's passage prefix applies
to documents); ``embed_batch_size`` defaults to 64 (see :data:`DEFAULT_EMBED_BATCH_SIZE`).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from ...catalog.spec import DenseSpec
from ...models.text_embedding import TextEmbedding
from .._common import check_text, check_texts, missing_extra, to_float_list, to_float_lists
from .._progress import batch_progress, call_progress

try:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr

    from .._adapter import LlamaIndexAdapterBase
    from .._fields import EngineFields
except ImportError as exc:  # pragma: no cover - exercised with the extra uninstalled
    raise missing_extra("llama-index", "llama-index-core") from exc

DocEmbedType = Literal["default", "passage"]

#: Texts LlamaIndex hands the adapter per call: one callback event each (the
#: ``show_progress=True`` bar is the engine's: one bar over all the texts, advancing per
#: ONNX batch, with texts/s and an ETA).  Within a call the engine sorts the texts by
#: length and cuts ONNX batches by its padded-token budget (1,024 tokens), so an ONNX
#: call holds the same rows with 64 texts as with 256 (about 7 passages of 130 tokens);
#: on prose passages 64 costs 2.8% more padded tokens than 256.  With ``parallel``
#: workers raise it (e.g. 512): each call is split among them.
DEFAULT_EMBED_BATCH_SIZE = 64


class EmbedPluginsEmbedding(LlamaIndexAdapterBase, BaseEmbedding, EngineFields):
    """Dense text embeddings from a local ONNX model, for LlamaIndex.

    Documents go through ``passage_embed`` (``embed`` when
    ``doc_embed_type="default"``), queries through ``query_embed``, so the
    model's prefixes apply.  LlamaIndex cuts the texts into batches of
    ``embed_batch_size`` (64 by default: callbacks fire per batch; ``show_progress=True``
    shows one engine bar over all the texts, advancing per ONNX batch);
    each batch is one engine call, whose ONNX batches the engine cuts by length.
    Async methods run in a worker thread.  Pickling and ``copy.deepcopy`` rebuild
    the model from the fields on the other side (Ray, multiprocessing); so does
    ``model_validate(model_dump())``.  ``to_dict()``/``from_dict()`` round
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
            "A supported model or a folder under $EMBED_PLUGINS_MODELS_DIR. Left unset with "
            "spec or a folder (model_path / specific_model_path), the spec's (or the "
            "folder's) name is used and stored here."
        ),
    )
    embed_batch_size: int = Field(
        default=DEFAULT_EMBED_BATCH_SIZE,
        gt=0,
        le=2048,
        description="Texts per embedding call (one callback event each).",
    )
    doc_embed_type: DocEmbedType = Field(
        default="passage",
        description="'passage': documents get the model's passage prefix; 'default': none.",
    )
    parallel: int | None = Field(
        default=None, ge=0, description="Worker processes (0: one per core; None: in-process)."
    )
    spec: DenseSpec | None = Field(default=None, description="A custom model description.")
    truncate_dim: int | None = Field(
        default=None, gt=0, description="Cut vectors to this many dimensions (Matryoshka)."
    )
    prefixes: bool = Field(
        default=True,
        description="Apply the model card's query/passage prefixes (False: none, as fastembed).",
    )

    _model: TextEmbedding = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._model = TextEmbedding(
            self.chosen_name(),
            spec=self.spec,
            truncate_dim=self.truncate_dim,
            prefixes=self.prefixes,
            **self.engine_kwargs(),
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
        method = (
            self._model.passage_embed if self.doc_embed_type == "passage" else self._model.embed
        )
        return to_float_lists(
            method(
                items,
                batch_size=self.embed_batch_size,
                parallel=self.parallel,
                show_progress=call_progress(),
            )
        )

    def get_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[list[float]]:
        """Vectors of ``texts``, ``embed_batch_size`` at a time (``[]`` for ``[]``)."""
        items = check_texts(texts, "get_text_embedding_batch()")
        with batch_progress(show_progress, len(items)):  # the engine's bar, not LlamaIndex's
            result: list[list[float]] = super().get_text_embedding_batch(
                items, show_progress=False, **kwargs
            )
        return result

    async def aget_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[list[float]]:
        """:meth:`get_text_embedding_batch` with each batch in a worker thread."""
        items = check_texts(texts, "aget_text_embedding_batch()")
        with batch_progress(show_progress, len(items)):
            result: list[list[float]] = await super().aget_text_embedding_batch(
                items, show_progress=False, **kwargs
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
