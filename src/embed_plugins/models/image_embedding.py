"""``ImageEmbedding``: image embeddings (CLIP and kin) with fastembed's call shapes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ..catalog.image import ImageSpec
from ..families.image import build_image, spec_from_folder
from .base import VisionModelBase

FloatArray = npt.NDArray[np.float32]

#: Images per ONNX call (fastembed's default for images).
DEFAULT_BATCH_SIZE = 16

#: One image, or an iterable of them (see :mod:`embed_plugins.vision.load`).
ImageInput = Any


class ImageEmbedding(VisionModelBase):
    """Dense image embeddings from an ONNX vision encoder.

    Images are paths, bytes, binary file objects, PIL images or HWC uint8 arrays
    (one, or an iterable).  Pixels are prepared exactly as the transformers image
    processor named in the model's ``preprocessor_config.json`` prepares them.

    Example::

        model = ImageEmbedding("Qdrant/clip-ViT-B-32-vision")
        vectors = list(model.embed(["cat.jpg", "dog.png"]))
        # text side of the same space:
        text = TextEmbedding("Qdrant/clip-ViT-B-32-text")
    """

    family: ClassVar[str] = "image"
    default_model: ClassVar[str] = "Qdrant/clip-ViT-B-32-vision"
    spec_type: ClassVar[type[ImageSpec]] = ImageSpec
    build_pipeline = staticmethod(build_image)
    spec: ImageSpec

    @classmethod
    def spec_from_folder(cls, folder: Path, name: str) -> ImageSpec:
        return spec_from_folder(folder, name)

    @property
    def embedding_size(self) -> int:
        """Length of the returned vectors."""
        return self.spec.dim

    def embed(
        self,
        images: ImageInput,
        batch_size: int = DEFAULT_BATCH_SIZE,
        parallel: int | None = None,
        **kwargs: Any,
    ) -> Iterator[FloatArray]:
        """One float32 vector per image, in input order.

        Inputs are checked as they are read (an error names the input's index);
        with ``parallel=N`` workers receive paths or encoded bytes and decode them.
        """
        return self._embed_images("embed", images, batch_size, parallel, kwargs)
