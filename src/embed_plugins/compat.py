"""fastembed's call forms, translated into ours.

fastembed registers custom models with keyword arguments
(``TextEmbedding.add_custom_model(model=..., pooling=PoolingType.MEAN,
normalization=True, sources=ModelSource(hf=...), dim=...)``) and describes
models with ``size_in_GB`` and ``sources``.  This module holds those names
(:class:`PoolingType`, :class:`ModelSource`) and the pure functions that turn
fastembed's keyword forms into our specs, so code written against fastembed
keeps working after the import swap.  Nothing here loads or runs a model.

Every function takes fastembed's parameters by name, exactly, so a misspelled
keyword is a ``TypeError`` naming the function, as any Python call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .catalog.late_interaction import ColbertSpec
from .catalog.rerank import CrossEncoderSpec
from .catalog.sparse import SpladeSpec
from .catalog.spec import DenseSpec, Pooling
from .errors import ArgumentTypeError, InvalidArgumentError


class PoolingType(str, Enum):
    """fastembed's pooling names; ``DenseSpec.pooling`` takes the lower-case values."""

    CLS = "CLS"
    MEAN = "MEAN"
    LAST_TOKEN = "LAST_TOKEN"
    DISABLED = "DISABLED"


_POOLING: dict[str, Pooling] = {
    "CLS": "cls",
    "MEAN": "mean",
    "LAST_TOKEN": "last_token",
    "DISABLED": "none",
}


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files come from, in fastembed's shape: a Hugging Face repository
    (``hf``) or a download URL (``url``; fastembed's own tarballs, which we do not read)."""

    hf: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if self.hf is None and self.url is None:
            raise InvalidArgumentError("ModelSource needs hf= (a Hugging Face repository id)")


def as_pooling(pooling: object) -> Pooling:
    """``PoolingType.MEAN``, ``"MEAN"`` or ``"mean"`` -> ``"mean"``."""
    value = pooling.value if isinstance(pooling, Enum) else pooling
    if isinstance(value, str):
        key = value.upper()
        if key in _POOLING:
            return _POOLING[key]
        if key == "NONE":
            return "none"
    raise InvalidArgumentError(
        f"pooling must be a PoolingType ({', '.join(p.name for p in PoolingType)}), got {pooling!r}"
    )


def hf_repo_of(sources: object) -> str:
    """The repository id of a :class:`ModelSource` (ours or fastembed's: any object with
    ``hf`` and ``url``), or a bare repository id."""
    if isinstance(sources, str):
        return sources
    hf = getattr(sources, "hf", None)
    if isinstance(hf, str) and hf:
        return hf
    if getattr(sources, "url", None) is not None:
        raise InvalidArgumentError(
            f"sources={sources!r}: only Hugging Face repositories are supported (hf=...); "
            "fastembed's url= tarballs are not read"
        )
    raise ArgumentTypeError(
        f"sources must be a ModelSource(hf=...) or a repository id, got {sources!r}"
    )


def _files(additional_files: Sequence[str] | None) -> tuple[str, ...]:
    if additional_files is None:
        return ()
    if isinstance(additional_files, str):
        raise ArgumentTypeError("additional_files must be a list of file names, not one string")
    return tuple(additional_files)


def _common(
    model: str,
    sources: object,
    model_file: str,
    description: str,
    license: str,
    size_in_gb: float,
    additional_files: Sequence[str] | None,
) -> dict[str, Any]:
    if not isinstance(model, str) or not model:
        raise ArgumentTypeError(f"model must be a non-empty str, got {model!r}")
    return {
        "model": model,
        "hf_repo": hf_repo_of(sources),
        "model_file": model_file,
        "additional_files": _files(additional_files),
        "description": description,
        "license": license,
        "size_gb": float(size_in_gb),
        "source": "add_custom_model()",
    }


def dense_spec(
    model: str,
    pooling: PoolingType | str,
    normalization: bool,
    sources: ModelSource | str,
    dim: int,
    model_file: str = "onnx/model.onnx",
    description: str = "",
    license: str = "",
    size_in_gb: float = 0.0,
    additional_files: Sequence[str] | None = None,
    output_name: str | None = None,
) -> DenseSpec:
    """fastembed's ``TextEmbedding.add_custom_model`` arguments as a :class:`DenseSpec`."""
    if not isinstance(normalization, bool):
        raise ArgumentTypeError(f"normalization must be a bool, got {normalization!r}")
    return DenseSpec(
        **_common(model, sources, model_file, description, license, size_in_gb, additional_files),
        dim=dim,
        pooling=as_pooling(pooling),
        normalize=normalization,
        output_name=output_name,
    )


def cross_encoder_spec(
    model: str,
    sources: ModelSource | str,
    model_file: str = "onnx/model.onnx",
    description: str = "",
    license: str = "",
    size_in_gb: float = 0.0,
    additional_files: Sequence[str] | None = None,
) -> CrossEncoderSpec:
    """fastembed's ``TextCrossEncoder.add_custom_model`` arguments as a spec."""
    return CrossEncoderSpec(
        **_common(model, sources, model_file, description, license, size_in_gb, additional_files)
    )


def splade_spec(
    model: str,
    sources: ModelSource | str,
    model_file: str = "model.onnx",
    description: str = "",
    license: str = "",
    size_in_gb: float = 0.0,
    additional_files: Sequence[str] | None = None,
    vocab_size: int | None = None,
    output_name: str | None = None,
) -> SpladeSpec:
    """A SPLADE model in fastembed's keyword form (``SparseModelDescription``'s fields).

    fastembed 0.9.1 has no ``SparseTextEmbedding.add_custom_model``; this is the form
    its sparse descriptions take.  BM25 and BM42 models are registered with a spec.
    """
    return SpladeSpec(
        **_common(model, sources, model_file, description, license, size_in_gb, additional_files),
        vocab_size=vocab_size,
        output_name=output_name,
    )


def colbert_spec(
    model: str,
    sources: ModelSource | str,
    dim: int,
    model_file: str = "model.onnx",
    description: str = "",
    license: str = "",
    size_in_gb: float = 0.0,
    additional_files: Sequence[str] | None = None,
    output_name: str | None = None,
) -> ColbertSpec:
    """A ColBERT model in fastembed's keyword form (``DenseModelDescription``'s fields),
    with ColBERT's markers and query length at their usual values (see :class:`ColbertSpec`;
    register a spec for other values)."""
    return ColbertSpec(
        **_common(model, sources, model_file, description, license, size_in_gb, additional_files),
        dim=dim,
        output_name=output_name,
    )
