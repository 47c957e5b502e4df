"""The supported-model catalogue: frozen specs, looked up by family and name.

Entries live in one module per family (``catalog/dense.py``, ...) as plain data
with their sources cited.  Custom models registered at run time sit beside them.
"""

from __future__ import annotations

import importlib
import threading

from ..errors import InvalidArgumentError
from .spec import DenseSpec, ModelSpec

__all__ = ["DenseSpec", "ModelSpec", "find", "list_specs", "register"]

#: family -> (module, name of the tuple of specs in it).
_FAMILY_MODULES = {
    "dense": ("embed_plugins.catalog.dense", "DENSE_MODELS"),
    "sparse": ("embed_plugins.catalog.sparse", "SPARSE_MODELS"),
    "late_interaction": ("embed_plugins.catalog.late_interaction", "LATE_INTERACTION_MODELS"),
    "rerank": ("embed_plugins.catalog.rerank", "RERANK_MODELS"),
    "image": ("embed_plugins.catalog.image", "IMAGE_MODELS"),
    "multimodal": ("embed_plugins.catalog.multimodal", "MULTIMODAL_MODELS"),
}
#: Models that serve several families, one spec per family (BGE-M3: dense, sparse, ColBERT
#: and all three at once); each is listed under its own spec's family, after that
#: family's other models.
_MULTI_FAMILY = ("embed_plugins.catalog.bge_m3", "BGE_M3_MODELS")
_CUSTOM: dict[tuple[str, str], ModelSpec] = {}
_LOCK = threading.Lock()


def _builtin(family: str) -> tuple[ModelSpec, ...]:
    where = _FAMILY_MODULES.get(family)
    models: tuple[ModelSpec, ...] = (
        getattr(importlib.import_module(where[0]), where[1]) if where is not None else ()
    )
    multi: tuple[ModelSpec, ...] = getattr(
        importlib.import_module(_MULTI_FAMILY[0]), _MULTI_FAMILY[1]
    )
    return (*models, *(spec for spec in multi if spec.family == family))


def _alias_entries(family: str) -> list[ModelSpec]:
    """One entry per alias of a built-in spec: the spec under the alias's name (and no
    aliases of its own), so a listing names every accepted spelling, as fastembed's does."""
    return [
        spec.replace(
            model=alias,
            aliases=(),
            description=f"Alias of {spec.model}. {spec.description}".strip(),
        )
        for spec in _builtin(family)
        for alias in spec.aliases
    ]


def _builtin_names(spec: ModelSpec) -> set[str]:
    return {spec.model.lower(), *(alias.lower() for alias in spec.aliases)}


def list_specs(family: str) -> list[ModelSpec]:
    """Built-in specs of a family, then one entry per alias of them, then custom ones,
    in registration order."""
    custom = [spec for (fam, _), spec in _CUSTOM.items() if fam == family]
    return [*_builtin(family), *_alias_entries(family), *custom]


def find(family: str, name: str) -> ModelSpec | None:
    """The spec called ``name`` (case-insensitive), custom models first; a built-in
    spec's alias finds that spec itself (under its own ``model`` name)."""
    key = name.lower()
    for (fam, custom_name), spec in _CUSTOM.items():
        if fam == family and custom_name == key:
            return spec
    for spec in _builtin(family):
        if spec.model.lower() == key:
            return spec
    for spec in _builtin(family):
        if key in _builtin_names(spec):
            return spec
    return None


def register(spec: ModelSpec) -> None:
    """Add a custom model; a name already registered (built in or custom, compared
    case-insensitively, as fastembed does) is refused with ``ValueError``."""
    family = spec.family
    key = spec.model.lower()
    if any(key in _builtin_names(s) for s in _builtin(family)):
        raise InvalidArgumentError(
            f"{spec.model!r} is already a built-in {family} model; register yours under "
            "another name"
        )
    with _LOCK:
        if (family, key) in _CUSTOM:
            raise InvalidArgumentError(
                f"{spec.model!r} is already registered as a custom {family} model; register "
                "the new one under another name"
            )
        _CUSTOM[(family, key)] = spec
