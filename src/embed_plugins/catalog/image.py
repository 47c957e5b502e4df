"""The supported image-embedding models (CLIP and kin), as data.

An :class:`ImageSpec` says which ONNX graph embeds images, which output holds the
embedding and whether to pool or L2-normalise it.  How pixels are prepared is
*not* a spec field by default: it is read from the model folder's
``preprocessor_config.json`` (or transformers 5's ``processor_config.json``,
``image_processor`` key), exactly as transformers reads it, so a model's own
files stay the single source of truth (see :mod:`embed_plugins.vision.processor`).
``preprocessing`` overrides or supplies that configuration for repositories that
lack one.

The entries below are in :data:`IMAGE_MODELS`; each cites its sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .spec import ModelSpec

ImagePooling = Literal["none", "cls", "mean"]
IMAGE_POOLINGS: tuple[str, ...] = ("none", "cls", "mean")

#: Configuration files fetched with every image model when the repository has them.
IMAGE_CONFIG_FILES: tuple[str, ...] = (
    "preprocessor_config.json",
    "processor_config.json",
    "config.json",
)


@dataclass(frozen=True, kw_only=True)
class ImageSpec(ModelSpec):
    """An image embedding: one float32 vector per image.

    Attributes:
        dim: Output dimension.
        output_name: ONNX output holding the embedding (or token states to pool);
            ``None`` means the graph's only output (a graph with several outputs
            needs a name).
        pooling: ``none`` (the output is already one vector per image), ``cls``
            (first token of a ``(batch, tokens, dim)`` output) or ``mean``.
        normalize: L2-normalise each vector.
        preprocessing: A transformers image-processor configuration (the keys of
            ``preprocessor_config.json``) used where the folder has none; keys
            given here also override the folder's.
    """

    dim: int
    output_name: str | None = None
    pooling: ImagePooling = "none"
    normalize: bool = True
    preprocessing: Mapping[str, Any] | None = field(default=None)

    def __post_init__(self) -> None:
        if isinstance(self.dim, bool) or not isinstance(self.dim, int) or self.dim <= 0:
            raise ValueError(f"dim must be a positive int, got {self.dim!r}")
        if self.pooling not in IMAGE_POOLINGS:
            raise ValueError(f"pooling must be one of {IMAGE_POOLINGS}, got {self.pooling!r}")

    @property
    def family(self) -> str:
        return "image"

    def files(self) -> tuple[str, ...]:
        if self.hf_repo is None:
            return ()
        return (self.model_file, *self.additional_files, *IMAGE_CONFIG_FILES)


#: Filled in below, one entry per model, sources cited.
IMAGE_MODELS: tuple[ImageSpec, ...] = ()
