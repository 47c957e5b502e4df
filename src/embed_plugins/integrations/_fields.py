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

from ..engine.session import Provider


def _fspath(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


#: A folder given as ``str`` or ``pathlib.Path``, stored as ``str`` so the
#: object serialises to JSON (LlamaIndex's ``to_json``) unchanged.
PathStr = Annotated[str, BeforeValidator(_fspath)]


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
        default=None, gt=0, description="Threads of one ONNX Runtime session."
    )
    providers: Sequence[Provider] | None = Field(
        default=None,
        description="ONNX Runtime execution providers, e.g. ['CUDAExecutionProvider'].",
    )
    cuda: bool = Field(default=False, description="Use the CUDA provider (device_ids picks GPUs).")
    device_ids: list[int] | None = Field(default=None, description="GPU ids, with cuda=True.")
    device: str | None = Field(
        default=None, description="'cpu', 'cuda', 'cuda:1'...; an alternative to providers."
    )
    lazy_load: bool = Field(
        default=False, description="Load the ONNX session on first use, not at construction."
    )
    model_path: PathStr | None = Field(
        default=None, description="A local folder holding the model's files."
    )
    local_files_only: bool = Field(
        default=False, description="Never download: the offline models directory and cache only."
    )
    optimize: bool = Field(
        default=False,
        description="Fuse the transformer graph once and cache it (needs the 'optimize' extra).",
    )

    def engine_kwargs(self) -> dict[str, Any]:
        """The shared constructor keywords, for the wrapped model class."""
        return {name: getattr(self, name) for name in EngineFields.model_fields}

    def chosen_name(self) -> str | None:
        """``model_name``, except ``None`` when it was left at its default and ``spec``
        or ``model_path`` is given: then they name the model, not the default."""
        name: str | None = getattr(self, "model_name", None)
        if "model_name" in self.model_fields_set:
            return name
        if getattr(self, "spec", None) is not None or self.model_path is not None:
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

    def sparse_options(self) -> dict[str, Any]:
        """The options the user set, for ``SparseTextEmbedding(**options)``."""
        out = {name: getattr(self, name) for name in SparseOptions.model_fields}
        return {name: value for name, value in out.items() if value is not None}
