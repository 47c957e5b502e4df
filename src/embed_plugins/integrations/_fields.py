"""Pydantic fields shared by the adapters (pydantic comes with either framework).

Every adapter is a pydantic model whose fields are the constructor arguments of
the embed_plugins model it wraps, under the same names (which are fastembed's).
:class:`EngineFields` holds the ones every model class takes; an adapter adds
``model_name``, ``spec`` and its family's own options, and builds its model in
``model_post_init`` with :meth:`EngineFields.engine_kwargs`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from ..catalog.image import ImageSpec
from ..engine.session import Provider
from ..errors import InputTypeError
from ..models.image_embedding import ImageEmbedding
from ._common import to_float_lists


def _fspath(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


#: A folder given as ``str`` or ``pathlib.Path``, stored as ``str`` so the
#: object serialises to JSON (LlamaIndex's ``to_json``) unchanged.
PathStr = Annotated[str, BeforeValidator(_fspath)]


_TEXT_ONLY = ("max_length", "optimize", "quantize")


class EngineFields(BaseModel):
    """Constructor options every embed_plugins model class accepts."""

    max_length: int | None = Field(
        default=None, gt=0, description="Truncation length in tokens; None: the model's own."
    )
    cache_dir: PathStr | None = Field(
        default=None,
        description="Hugging Face cache folder for downloads (huggingface_hub's default if None).",
    )
    threads: int | None = Field(
        default=None, ge=0, description="Threads of one ONNX Runtime session (0: its default)."
    )
    providers: Sequence[Provider] | None = Field(
        default=None,
        description="ONNX Runtime execution providers, e.g. ['CUDAExecutionProvider'].",
    )
    cuda: bool = Field(default=False, description="Use the CUDA provider (device_ids picks GPUs).")
    device_ids: list[int] | None = Field(
        default=None, description="GPU ids, with cuda=True: one worker per GPU with parallel."
    )
    device_id: int | None = Field(default=None, ge=0, description="The GPU this process uses.")
    enable_cpu_mem_arena: bool = Field(
        default=True, description="ONNX Runtime's CPU memory arena (off: memory is returned)."
    )
    device: str | None = Field(
        default=None, description="'cpu', 'cuda', 'cuda:1'...; an alternative to providers."
    )
    allow_cpu_fallback: bool = Field(
        default=False,
        description="Run on the CPU, with a warning, when the GPU asked for is missing "
        "(default: raise).",
    )
    lazy_load: bool = Field(
        default=False, description="Load the ONNX session on first use, not at construction."
    )
    model_path: PathStr | None = Field(
        default=None, description="A local folder holding the model's files."
    )
    specific_model_path: PathStr | None = Field(
        default=None, description="fastembed's name for model_path (give one of the two)."
    )
    local_files_only: bool = Field(
        default=False, description="Never download: the offline models directory and cache only."
    )
    optimize: bool = Field(
        default=False,
        description="Fuse the transformer graph once and cache it (needs the 'optimize' extra).",
    )
    quantize: str | None = Field(
        default=None,
        description="'int8': run an int8 graph (a published one, else quantised once, checked "
        "against fp32 and cached; needs the 'optimize' extra).",
    )

    def engine_kwargs(self) -> dict[str, Any]:
        """The shared constructor keywords, for the wrapped model class."""
        if self.model_path is not None and self.specific_model_path is not None:
            raise ValueError(
                "model_path and specific_model_path name the same thing (a local model "
                "folder); pass one of them"
            )
        return {name: getattr(self, name) for name in EngineFields.model_fields}

    def vision_engine_kwargs(self, refuse_text_options: bool = True) -> dict[str, Any]:
        """:meth:`engine_kwargs` for an image model, without ``max_length``/``optimize``/
        ``quantize``.

        An adapter whose only model takes images refuses those text options when set;
        one with a text model beside the image model keeps them for the text model.
        """
        given = [n for n in _TEXT_ONLY if n in self.model_fields_set and getattr(self, n)]
        if given and refuse_text_options:
            raise ValueError(f"{', '.join(given)} do(es) not apply to image models")
        return {k: v for k, v in self.engine_kwargs().items() if k not in _TEXT_ONLY}

    def local_folder(self) -> str | None:
        """``model_path`` or ``specific_model_path``, whichever is given."""
        return self.model_path if self.model_path is not None else self.specific_model_path

    def chosen_name(self) -> str | None:
        """``model_name``, except ``None`` when it was left at its default and ``spec``
        or a folder (``model_path`` / ``specific_model_path``) is given: then they name
        the model, not the default."""
        name: str | None = getattr(self, "model_name", None)
        if "model_name" in self.model_fields_set:
            return name
        if getattr(self, "spec", None) is not None or self.local_folder() is not None:
            return None
        return name


class SparseOptions(BaseModel):
    """BM25 and BM42 options (fastembed's names); ``None`` keeps the model's own value.

    Passed to :class:`~embed_plugins.SparseTextEmbedding` only when set, which
    refuses an option that does not fit the model (``k`` for a SPLADE model...).
    """

    k: float | None = Field(default=None, description="BM25 term-frequency saturation.")
    b: float | None = Field(default=None, description="BM25 length normalisation.")
    avg_len: float | None = Field(default=None, description="BM25 average document length.")
    language: str | None = Field(default=None, description="BM25/BM42 stemmer and stopwords.")
    token_max_length: int | None = Field(default=None, description="BM25: longer words dropped.")
    disable_stemmer: bool | None = Field(default=None, description="BM25: keep words unstemmed.")
    alpha: float | None = Field(default=None, description="BM42 exponent of the weights.")
    stopwords: set[str] | None = Field(
        default=None, description="BM25: these words (lower-cased) instead of the language's."
    )
    stemmer: Any = Field(
        default=None, description="BM25: an object with stem_word(word) -> str (fastembed's)."
    )

    def sparse_options(self) -> dict[str, Any]:
        """The options the user set, for ``SparseTextEmbedding(**options)``."""
        out = {name: getattr(self, name) for name in SparseOptions.model_fields}
        return {name: value for name, value in out.items() if value is not None}


class ImageFields(BaseModel):
    """The image tower of a text adapter (CLIP and kin): a second model, same space.

    With ``image_model_name`` (or ``image_model_path`` / ``image_spec``) the adapter
    builds an :class:`~embed_plugins.ImageEmbedding` beside its text model, sharing
    the engine options (threads, providers, ...).
    """

    image_model_name: str | None = Field(
        default=None,
        description="An image model (ImageEmbedding.list_supported_models()) whose space the "
        "text model shares, e.g. Qdrant/clip-ViT-B-32-vision with Qdrant/clip-ViT-B-32-text.",
    )
    image_model_path: PathStr | None = Field(
        default=None, description="A local folder holding the image model's files."
    )
    image_spec: ImageSpec | None = Field(
        default=None, description="A custom image model description."
    )
    image_batch_size: int = Field(default=16, gt=0, description="Images per ONNX call.")

    def build_image_model(self, engine: EngineFields) -> ImageEmbedding | None:
        """The image model, or ``None`` when no image field is set; ``engine``'s options
        (threads, providers...) apply to it, its text-only ones stay with the text model."""
        given = (self.image_model_name, self.image_model_path, self.image_spec)
        if all(v is None for v in given):
            return None
        kwargs = {
            **engine.vision_engine_kwargs(refuse_text_options=False),
            "model_path": self.image_model_path,
            "specific_model_path": None,  # the text model's folder, not this one's
        }
        return ImageEmbedding(self.image_model_name, spec=self.image_spec, **kwargs)

    def embed_images(
        self, model: ImageEmbedding | None, images: Any, where: str, parallel: int | None
    ) -> list[list[float]]:
        """Vectors of a list of images (paths, bytes, BytesIO, PIL images) as float lists."""
        if model is None:
            raise ValueError(
                f"{where}: this adapter has no image model; build it with image_model_name= "
                "(e.g. 'Qdrant/clip-ViT-B-32-vision' beside 'Qdrant/clip-ViT-B-32-text') "
                "or image_model_path="
            )
        if isinstance(images, (str, bytes, os.PathLike)):
            raise InputTypeError(f"{where} expects a list of images, got one; wrap it in a list")
        vectors = model.embed(images, batch_size=self.image_batch_size, parallel=parallel)
        return to_float_lists(vectors)
