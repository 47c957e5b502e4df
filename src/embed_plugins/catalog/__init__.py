"""The supported-model catalogue: frozen specs, looked up by family and name.

Entries live in one module per family (``catalog/dense.py``, ...) as plain data
with their sources cited.  Custom models registered at run time sit beside them.
"""

from __future__ import annotations

import importlib

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
_CUSTOM: dict[tuple[str, str], ModelSpec] = {}


def _builtin(family: str) -> tuple[ModelSpec, ...]:
    where = _FAMILY_MODULES.get(family)
    if where is None:
        return ()
    models: tuple[ModelSpec, ...] = getattr(importlib.import_module(where[0]), where[1])
    return models


def list_specs(family: str) -> list[ModelSpec]:
    """Built-in specs of a family, then custom ones, in registration order."""
    custom = [spec for (fam, _), spec in _CUSTOM.items() if fam == family]
    return [*_builtin(family), *custom]


def find(family: str, name: str) -> ModelSpec | None:
    """The spec called ``name`` (case-insensitive), custom models first."""
    key = name.lower()
    for (fam, custom_name), spec in _CUSTOM.items():
        if fam == family and custom_name == key:
            return spec
    for spec in _builtin(family):
        if spec.model.lower() == key:
            return spec
    return None


def register(spec: ModelSpec) -> None:
    """Add a custom model; a name that is already built in is refused."""
    family = spec.family
    key = spec.model.lower()
    if any(s.model.lower() == key for s in _builtin(family)):
        raise ValueError(f"{spec.model!r} is already a built-in {family} model")
    _CUSTOM[(family, key)] = spec
