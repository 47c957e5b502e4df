"""The supported multimodal late-interaction models (ColPali and kin), as data.

A :class:`MultimodalSpec` holds the conventions transformers' ``ColPaliProcessor``
builds its inputs with, so queries and page images are tokenised exactly as the
reference does:

* images: ``<image>`` x ``image_seq_length``, then ``<bos>``, the visual prompt
  (``"Describe the image."``) and ``"\\n"``, no other special tokens; pixels from
  the folder's image-processor configuration;
* queries: ``<bos>``, the query prefix (``"Question: "``), the query, the query
  augmentation token (``<pad>``) x 10 and ``"\\n"``.

Fields left ``None`` are read from the model folder's ``processor_config.json`` /
``preprocessor_config.json`` (``visual_prompt_prefix``, ``query_prefix``,
``image_seq_length``), the processor's own defaults otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .image import IMAGE_CONFIG_FILES
from .spec import TOKENIZER_FILES, ModelSpec

ProcessorKind = Literal["colpali"]


@dataclass(frozen=True, kw_only=True)
class MultimodalSpec(ModelSpec):
    """A multimodal late-interaction model: one vector per token, for images and queries.

    Attributes:
        dim: Length of every token vector.
        output_name: ONNX output ``(batch, tokens, dim)``; ``None``: the first output.
        processor: Which processor's conventions build the inputs.
        image_token: The placeholder token repeated once per image patch.
        image_seq_length: Image tokens per image; ``None`` reads the folder's config.
        visual_prompt_prefix / query_prefix: ``None`` reads the folder's
            ``processor_config.json``, else ColPaliProcessor's defaults.
        query_augmentation_token / query_augmentation_count: Appended to every query.
        normalize: L2-normalise every token vector (harmless when the graph already did).
        preprocessing: Image-processor configuration overriding the folder's.
    """

    dim: int
    output_name: str | None = None
    processor: ProcessorKind = "colpali"
    image_token: str = "<image>"
    image_seq_length: int | None = None
    visual_prompt_prefix: str | None = None
    query_prefix: str | None = None
    query_augmentation_token: str = "<pad>"
    query_augmentation_count: int = 10
    normalize: bool = True
    preprocessing: Mapping[str, Any] | None = field(default=None)

    def __post_init__(self) -> None:
        if isinstance(self.dim, bool) or not isinstance(self.dim, int) or self.dim <= 0:
            raise ValueError(f"dim must be a positive int, got {self.dim!r}")
        count = self.query_augmentation_count
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"query_augmentation_count must be an int >= 0, got {count!r}")

    @property
    def family(self) -> str:
        return "multimodal"

    def files(self) -> tuple[str, ...]:
        if self.hf_repo is None:
            return ()
        return (self.model_file, *self.additional_files, *TOKENIZER_FILES, *IMAGE_CONFIG_FILES)


#: Filled in below, one entry per model, sources cited.
MULTIMODAL_MODELS: tuple[MultimodalSpec, ...] = ()
