"""LlamaIndex ``MultiModalEmbedding`` over a text tower and an image tower sharing one space.

:class:`EmbedPluginsMultiModalEmbedding` is the dense text adapter
(:class:`~embed_plugins.integrations.llama_index.EmbedPluginsEmbedding`: same fields,
same text methods) plus an :class:`~embed_plugins.ImageEmbedding`.  Its image
methods take what LlamaIndex hands them: a path ``str`` (``ImageNode.image_path``)
or the ``BytesIO`` that ``ImageNode.resolve_image()`` returns.  Use it as::

    index = MultiModalVectorStoreIndex.from_documents(
        documents,
        embed_model=EmbedPluginsEmbedding(...),              # text nodes
        image_embed_model=EmbedPluginsMultiModalEmbedding(),  # CLIP ViT-B/32, both towers
    )
"""

from __future__ import annotations

import asyncio
from typing import Any

from ...models.image_embedding import ImageEmbedding
from .._common import missing_extra
from .embeddings import EmbedPluginsEmbedding

try:
    from llama_index.core.bridge.pydantic import Field, PrivateAttr
    from llama_index.core.embeddings import MultiModalEmbedding
    from llama_index.core.schema import ImageType

    from .._fields import ImageFields
except ImportError as exc:  # pragma: no cover - exercised with the extra uninstalled
    raise missing_extra("llama-index", "llama-index-core") from exc

#: CLIP ViT-B/32: the text and vision towers fastembed serves (catalogue entries).
DEFAULT_TEXT_MODEL = "Qdrant/clip-ViT-B-32-text"
DEFAULT_IMAGE_MODEL = "Qdrant/clip-ViT-B-32-vision"


class EmbedPluginsMultiModalEmbedding(EmbedPluginsEmbedding, MultiModalEmbedding, ImageFields):
    """Text and image embeddings in one space (CLIP and kin), for LlamaIndex.

    Text fields are :class:`EmbedPluginsEmbedding`'s; ``image_model_name`` /
    ``image_model_path`` / ``image_spec`` / ``image_batch_size`` pick the image
    tower (CLIP ViT-B/32's by default, beside its text tower).
    """

    model_name: str = Field(
        default=DEFAULT_TEXT_MODEL,
        description="The text tower (a TextEmbedding model sharing the image model's space).",
    )
    image_model_name: str | None = Field(
        default=DEFAULT_IMAGE_MODEL,
        description="The image tower (ImageEmbedding.list_supported_models()).",
    )

    _image_model: ImageEmbedding | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        if self.image_model_path is not None and "image_model_name" not in self.model_fields_set:
            self.image_model_name = None  # the folder names the model, not the default
        super().model_post_init(context)
        self._image_model = self.build_image_model(self)
        if self._image_model is not None:
            self.image_model_name = self._image_model.model_name

    @classmethod
    def class_name(cls) -> str:
        return "EmbedPluginsMultiModalEmbedding"

    @property
    def image_model(self) -> ImageEmbedding | None:
        """The underlying :class:`~embed_plugins.ImageEmbedding`."""
        return self._image_model

    def _get_image_embedding(self, img_file_path: ImageType) -> list[float]:
        return self._get_image_embeddings([img_file_path])[0]

    def _get_image_embeddings(self, img_file_paths: list[ImageType]) -> list[list[float]]:
        return self.embed_images(
            self._image_model, img_file_paths, "get_image_embedding_batch()", self.parallel
        )

    async def _aget_image_embedding(self, img_file_path: ImageType) -> list[float]:
        return await asyncio.to_thread(self._get_image_embedding, img_file_path)

    async def _aget_image_embeddings(self, img_file_paths: list[ImageType]) -> list[list[float]]:
        return await asyncio.to_thread(self._get_image_embeddings, img_file_paths)

    def close(self) -> None:
        """Stop the worker pools, if ``parallel`` started any."""
        super().close()
        if self._image_model is not None:
            self._image_model.close()
