"""LangChain ``Embeddings`` over :class:`~embed_plugins.TextEmbedding`.

A drop-in for ``langchain_community.embeddings.FastEmbedEmbeddings``: the same
field names (``model_name``, ``max_length``, ``cache_dir``, ``threads``,
``doc_embed_type``, ``batch_size``, ``parallel``, ``providers``) and fastembed's
model options (``cuda``, ``device_ids``, ``lazy_load``, ``specific_model_path``),
so swapping is a change of import and class name.  Differences, each on purpose:

* unknown fields are an error (``extra="forbid"``), not silently kept;
* ``doc_embed_type`` defaults to ``"passage"``, so a model's passage prefix
  (E5's ``"passage: "``) applies to documents as its card asks; ``"default"``
  embeds documents with no prefix, as FastEmbed's default does;
* ``max_length`` defaults to ``None``: the model's own truncation length (256 for
  all-MiniLM-L6-v2) rather than a fixed 512;
* async methods run in a worker thread and never block the event loop;
* it pickles (Ray, multiprocessing) and deep-copies: the copy builds its own
  model from the fields, the ONNX session itself is never pickled.

Built with an image model as well (``image_model_name=``, a CLIP-style vision
tower sharing the text model's space), it has ``embed_image(uris)``: the
duck-typed method LangChain's multimodal stores (Chroma's ``add_images``,
LanceDB...) call, while texts and queries go through the paired text model.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from ...catalog.spec import DenseSpec
from ...models.image_embedding import ImageEmbedding
from ...models.text_embedding import DEFAULT_BATCH_SIZE, TextEmbedding
from .._common import check_text, check_texts, missing_extra, to_float_list, to_float_lists

try:
    from langchain_core.embeddings import Embeddings
    from pydantic import ConfigDict, Field, PrivateAttr

    from .._adapter import AdapterBase
    from .._fields import EngineFields, ImageFields
except ImportError as exc:  # pragma: no cover - exercised with the extra uninstalled
    raise missing_extra("langchain", "langchain-core") from exc

DocEmbedType = Literal["default", "passage"]


class EmbedPluginsEmbeddings(AdapterBase, EngineFields, ImageFields, Embeddings):
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

        clip = EmbedPluginsEmbeddings(
            model_name="Qdrant/clip-ViT-B-32-text", image_model_name="Qdrant/clip-ViT-B-32-vision"
        )
        image_vectors = clip.embed_image(["cat.jpg", "dog.png"])   # same space as
        text_vector = clip.embed_query("a photo of a cat")         # the text queries
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_name: str = Field(
        default=TextEmbedding.default_model,
        description=(
            "A supported model (TextEmbedding.list_supported_models()) or a folder under "
            "$EMBED_PLUGINS_MODELS_DIR. Left unset with spec or a folder (model_path / "
            "specific_model_path), the spec's (or the folder's) name is used and stored here."
        ),
    )
    doc_embed_type: DocEmbedType = Field(
        default="passage",
        description="'passage': documents get the model's passage prefix; 'default': none.",
    )
    batch_size: int = Field(
        default=DEFAULT_BATCH_SIZE,
        gt=0,
        description="Texts per ONNX call (the engine also caps padded tokens per call).",
    )
    parallel: int | None = Field(
        default=None,
        ge=0,
        description="None: in this process; N: a reused pool of N workers (0: one per core).",
    )
    spec: DenseSpec | None = Field(
        default=None, description="A custom model description (pooling, prefixes, dim...)."
    )
    truncate_dim: int | None = Field(
        default=None, gt=0, description="Cut vectors to this many dimensions (Matryoshka)."
    )
    prefixes: bool = Field(
        default=True,
        description="Apply the model card's query/passage prefixes (False: none, as fastembed).",
    )
    show_progress: bool = Field(
        default=False, description="A progress bar (texts/s, ETA) while embed_documents runs."
    )

    _model: TextEmbedding = PrivateAttr()
    _image_model: ImageEmbedding | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        self._model = TextEmbedding(
            self.chosen_name(),
            spec=self.spec,
            truncate_dim=self.truncate_dim,
            prefixes=self.prefixes,
            **self.engine_kwargs(),
        )
        self.model_name = self._model.model_name
        self._image_model = self.build_image_model(self)

    @property
    def model(self) -> TextEmbedding:
        """The underlying :class:`~embed_plugins.TextEmbedding`."""
        return self._model

    @property
    def image_model(self) -> ImageEmbedding | None:
        """The underlying :class:`~embed_plugins.ImageEmbedding`, if one was configured."""
        return self._image_model

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
        method = (
            self._model.passage_embed if self.doc_embed_type == "passage" else self._model.embed
        )
        return to_float_lists(
            method(
                items,
                batch_size=self.batch_size,
                parallel=self.parallel,
                show_progress=self.show_progress,
            )
        )

    def embed_query(self, text: str) -> list[float]:
        """The query's vector, with the model's query prefix applied."""
        query = check_text(text, "embed_query()", "the query")
        return to_float_list(next(iter(self._model.query_embed([query], batch_size=1))))

    def embed_image(self, uris: list[str]) -> list[list[float]]:
        """One vector per image (paths; bytes, ``BytesIO`` and PIL images work too), in
        order, from the image model; ``[]`` for ``[]``."""
        return self.embed_images(self._image_model, uris, "embed_image()", self.parallel)

    # -- async: the sync work in a worker thread -----------------------------------
    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """:meth:`embed_documents` in a worker thread (the event loop keeps running)."""
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        """:meth:`embed_query` in a worker thread (the event loop keeps running)."""
        return await asyncio.to_thread(self.embed_query, text)

    async def aembed_image(self, uris: list[str]) -> list[list[float]]:
        """:meth:`embed_image` in a worker thread (the event loop keeps running)."""
        return await asyncio.to_thread(self.embed_image, uris)

    # -- lifecycle ----------------------------------------------------------------
    def close(self) -> None:
        """Stop the worker pools, if ``parallel`` started any."""
        self._model.close()
        if self._image_model is not None:
            self._image_model.close()
