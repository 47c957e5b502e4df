"""A ColBERT spec from what a model folder's own files say.

Two layouts carry ColBERT's conventions as data:

* Stanford ColBERT (``colbert-ir/colbertv2.0`` and models trained with its code):
  ``artifact.metadata``, with ``dim``, ``query_maxlen``, ``doc_maxlen``,
  ``query_token_id`` / ``doc_token_id`` (the marker tokens), ``mask_punctuation``
  and ``attend_to_mask_tokens``.
* PyLate (sentence-transformers layout): ``config_sentence_transformers.json`` with
  ``query_prefix`` / ``document_prefix`` (the markers), ``query_length``,
  ``document_length``, ``attend_to_expansion_tokens``, ``do_query_expansion`` (false
  for LateOn: PyLate then never attends to expansion tokens) and ``skiplist_words``; the
  width is ``out_features`` of the last Dense module (``1_Dense/config.json``).

A folder with neither is refused with the fields to give: guessing markers or
query length would give vectors that silently match nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..catalog.late_interaction import PUNCTUATION, ColbertSpec
from ..errors import ModelLoadError
from ..hub import find_onnx_file, model_file_path
from ..text.config import folder_json

_FIELDS_HINT = (
    "spec=ColbertSpec(model=..., dim=<length of each token vector>, "
    "query_marker=..., document_marker=..., query_length=..., max_length=...)"
)


def _stanford(meta: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "dim": meta.get("dim"),
        "query_marker": meta.get("query_token_id"),
        "document_marker": meta.get("doc_token_id"),
        "query_length": meta.get("query_maxlen"),
        "max_length": meta.get("doc_maxlen"),
        "attend_to_mask_tokens": meta.get("attend_to_mask_tokens"),
    }
    if "mask_punctuation" in meta:
        fields["skiplist"] = PUNCTUATION if meta["mask_punctuation"] else ()
    return fields


def _pylate(config: dict[str, Any], folder: Path) -> dict[str, Any]:
    def marker(prefix: Any) -> Any:
        return prefix.strip() if isinstance(prefix, str) else prefix

    fields: dict[str, Any] = {
        "query_marker": marker(config.get("query_prefix")),
        "document_marker": marker(config.get("document_prefix")),
        "query_length": config.get("query_length"),
        "max_length": config.get("document_length"),
        "attend_to_mask_tokens": config.get("attend_to_expansion_tokens"),
        "query_expansion": config.get("do_query_expansion"),
    }
    if fields["query_expansion"] is False:
        fields["attend_to_mask_tokens"] = False  # as PyLate's ColBERT.__init__ forces it
    words = config.get("skiplist_words")
    if isinstance(words, list):
        fields["skiplist"] = tuple(str(w) for w in words)
    dense = [
        m.get("path")
        for m in _modules(folder)
        if isinstance(m, dict) and str(m.get("type", "")).endswith("Dense")
    ]
    if dense and isinstance(dense[-1], str):
        fields["dim"] = folder_json(folder, f"{dense[-1]}/config.json").get("out_features")
    return fields


def _modules(folder: Path) -> list[Any]:
    """The entries of ``modules.json`` (a JSON list), or ``[]``."""
    path = model_file_path(folder, "modules.json")
    if not path.is_file():
        return []
    try:
        modules = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    return modules if isinstance(modules, list) else []


def colbert_spec_from_folder(folder: Path, name: str) -> ColbertSpec:
    """The spec a ColBERT folder describes (Stanford or PyLate files), or an error naming
    the fields to pass."""
    meta = folder_json(folder, "artifact.metadata")
    pylate = folder_json(folder, "config_sentence_transformers.json")
    if meta:
        fields, source = _stanford(meta), "artifact.metadata"
    elif "query_length" in pylate or "query_prefix" in pylate:
        fields, source = _pylate(pylate, folder), "config_sentence_transformers.json"
    else:
        raise ModelLoadError(
            f"{name!r}: {folder} has no ColBERT settings (neither Stanford ColBERT's "
            "artifact.metadata nor PyLate's config_sentence_transformers.json), so its "
            f"markers, query length and vector width are unknown: pass {_FIELDS_HINT}"
        )
    known = {k: v for k, v in fields.items() if v is not None}
    if "dim" not in known:
        raise ModelLoadError(
            f"{name!r}: {folder}/{source} does not give the width of the token vectors: "
            f"pass {_FIELDS_HINT}"
        )
    try:
        return ColbertSpec(
            model=name,
            model_file=find_onnx_file(folder, "ColbertSpec"),
            description=f"local ColBERT model at {folder} (settings from {source})",
            source=source,
            **known,
        )
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(
            f"{name!r}: {folder}/{source} has settings this package cannot use ({exc}); "
            f"pass {_FIELDS_HINT}"
        ) from exc
