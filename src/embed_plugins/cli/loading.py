"""Model names to public classes for the commands, with the CLI's one-line errors."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from .. import catalog
from ..catalog.spec import ModelSpec
from ..errors import (
    EmbedPluginsError,
    InvalidArgumentError,
    ModelLoadError,
    ModelNotFoundError,
    ProviderError,
)
from ..hub import check_repo_id, models_dirs
from .errors import BAD_MODEL, FAILED, USAGE, CliError

#: Every family, in the order a name is looked up.
FAMILIES = ("dense", "sparse", "late_interaction", "rerank", "image", "multimodal")
#: ``--kind`` spellings -> family.
KINDS = {
    "dense": "dense",
    "sparse": "sparse",
    "late": "late_interaction",
    "late_interaction": "late_interaction",
    "colbert": "late_interaction",
    "rerank": "rerank",
    "cross-encoder": "rerank",
}


def model_class(family: str) -> Any:
    from .. import (
        ImageEmbedding,
        LateInteractionMultimodalEmbedding,
        LateInteractionTextEmbedding,
        SparseTextEmbedding,
        TextCrossEncoder,
        TextEmbedding,
    )

    return {
        "dense": TextEmbedding,
        "sparse": SparseTextEmbedding,
        "late_interaction": LateInteractionTextEmbedding,
        "rerank": TextCrossEncoder,
        "image": ImageEmbedding,
        "multimodal": LateInteractionMultimodalEmbedding,
    }[family]


def find_spec(name: str, families: tuple[str, ...] = FAMILIES) -> ModelSpec | None:
    for family in families:
        spec = catalog.find(family, name)
        if spec is not None:
            return spec
    return None


def require_spec(name: str, families: tuple[str, ...] = FAMILIES) -> ModelSpec:
    spec = find_spec(name, families)
    if spec is None:
        raise unknown_model(name, families)
    return spec


def unknown_model(name: str, families: tuple[str, ...]) -> CliError:
    names = [s.model for f in families for s in catalog.list_specs(f)]
    by_tail = {n.rsplit("/", 1)[-1].lower(): n for n in names}
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6) or [
        by_tail[t]
        for t in difflib.get_close_matches(name.rsplit("/", 1)[-1].lower(), list(by_tail), n=1)
    ]
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    kinds = ", ".join(f.replace("_", "-") for f in families)
    return CliError(
        f"unknown model {name!r}{hint}: not a supported {kinds} model and no folder of that "
        "name under $EMBED_PLUGINS_MODELS_DIR; see `embed-plugins models list`",
        BAD_MODEL,
    )


def load_model(
    name: str | None,
    path: str | None,
    kind: str | None,
    families: tuple[str, ...],
    default: str,
    **options: Any,
) -> tuple[Any, str]:
    """``(model, family)``: by name (its family from the catalogue, or ``--kind`` for a
    folder under ``$EMBED_PLUGINS_MODELS_DIR``) or by ``--model-path`` (family from
    ``--kind``, else the first of ``families``)."""
    family = KINDS[kind] if kind is not None else None
    if family is not None and family not in families:
        allowed = ", ".join(k for k, f in KINDS.items() if f in families)
        raise CliError(f"--kind {kind} cannot be used here (choose from {allowed})", USAGE)
    if path is not None:
        folder = Path(path)
        if not folder.is_dir():
            raise CliError(f"--model-path {path} is not a folder", BAD_MODEL)
        family = family or families[0]
        return build(family, model_path=folder, **options), family
    name = name or default
    if family is None:
        spec = find_spec(name, families)
        if spec is not None:
            family = spec.family
        elif _offline_folder(name):
            family = families[0]
        else:
            raise unknown_model(name, families)
    return build(family, name, **options), family


def _offline_folder(name: str) -> bool:
    try:
        check_repo_id(name)
    except ModelNotFoundError:
        return False
    return any((base / name).is_dir() for base in models_dirs())


def build(family: str, name: str | None = None, **options: Any) -> Any:
    """The model, with the library's errors as one-line :class:`CliError` s."""
    try:
        return model_class(family)(name, **{k: v for k, v in options.items() if v is not None})
    except EmbedPluginsError as exc:
        raise as_cli_error(exc) from exc


def as_cli_error(exc: BaseException) -> CliError:
    """A library error as one line and its exit code."""
    first = first_line(exc)
    if isinstance(exc, ModelNotFoundError):
        if "could not find the files" in first:
            first = first.split(". Tried")[0] + (
                " (not downloaded: set $EMBED_PLUGINS_MODELS_DIR, or run "
                "`embed-plugins models download NAME` where the Hub is reachable)"
            )
        return CliError(first, BAD_MODEL)
    if isinstance(exc, ModelLoadError):
        return CliError(first, BAD_MODEL)
    if isinstance(exc, (InvalidArgumentError, ProviderError)):
        return CliError(first, USAGE)
    return CliError(first, FAILED)


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else type(exc).__name__
    return text.rstrip(".:")
