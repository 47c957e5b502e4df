"""``ImageEmbedding``: image embeddings (CLIP and kin) with fastembed's call shapes."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ..catalog.image import ImageSpec
from ..engine.session import Provider
from ..errors import InputTypeError
from ..families.image import build_image, spec_from_folder
from ..vision.load import IMAGE_TYPES, ImageItem, check_image, is_single_image
from .base import COMMON_INIT_KWARGS, ModelBase, reject_unknown

FloatArray = npt.NDArray[np.float32]

#: Images per ONNX call (fastembed's default for images).
DEFAULT_BATCH_SIZE = 16

#: One image, or an iterable of them (see :mod:`embed_plugins.vision.load`).
ImageInput = Any


def as_images(images: Any) -> Iterable[Any]:
    """The user's argument as an iterable of images; one image becomes a list of one."""
    if images is None:
        raise InputTypeError(f"images must be {IMAGE_TYPES}, or an iterable of them; got None")
    if is_single_image(images):
        return [images]
    if isinstance(images, dict) or not isinstance(images, Iterable):
        raise InputTypeError(
            f"images must be {IMAGE_TYPES}, or an iterable of them; got {type(images).__name__}"
        )
    return images


def image_cost(item: ImageItem) -> int:
    return item.cost


class ImageEmbedding(ModelBase):
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

    def __init__(
        self,
        model_name: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        providers: Sequence[Provider] | None = None,
        cuda: bool = False,
        device_ids: Sequence[int] | None = None,
        lazy_load: bool = False,
        *,
        device: str | None = None,
        model_path: str | os.PathLike[str] | None = None,
        specific_model_path: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        spec: ImageSpec | None = None,
        graph_optimization: str = "all",
        **kwargs: Any,
    ) -> None:
        valid = [k for k in COMMON_INIT_KWARGS if k not in ("max_length", "optimize")]
        reject_unknown("ImageEmbedding()", kwargs, valid)
        super().__init__(
            model_name,
            cache_dir,
            threads,
            providers,
            cuda,
            device_ids,
            lazy_load,
            device=device,
            model_path=model_path,
            specific_model_path=specific_model_path,
            local_files_only=local_files_only,
            spec=spec,
            graph_optimization=graph_optimization,
        )

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
        reject_unknown("ImageEmbedding.embed()", kwargs, ("batch_size", "parallel"))
        return self._runner.run(
            as_images(images),
            batch_size=batch_size,
            task="document",
            validate=check_image,
            parallel=parallel,
            size_hint=image_cost,
        )
