"""Facts read from a text model's folder: truncation length, pad token, ST pooling.

Pure file reading, no tokenisation.  The truncation rule (see
``shared/notes/test-models.md`` for why it matters):

1. ``sentence_bert_config.json`` ``max_seq_length`` when present (the value
   sentence-transformers truncates at: 256 for all-MiniLM-L6-v2);
2. else ``tokenizer_config.json`` ``model_max_length``, ignoring the sentinel
   values transformers writes when it knows no limit (``int(1e30)`` and kin);
3. else the model's position limit from ``config.json``;

and never more than the position limit (``max_position_embeddings``, less the
offset of models whose positions start after the pad id, like XLM-R).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError
from ..hub import model_file_path

#: transformers writes VERY_LARGE_INTEGER = int(1e30) when a tokenizer has no limit;
#: anything this large is "unknown", not a length.
_SENTINEL_FLOOR = 1_000_000


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object, naming the file on failure."""
    try:
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path} does not hold a JSON object")
    return data


def folder_json(model_dir: Path, name: str) -> dict[str, Any]:
    """The JSON object in the model folder's file ``name``; ``{}`` when the file is absent.

    ``name`` is resolved with :func:`~embed_plugins.hub.model_file_path`, so it can
    never read outside the folder.
    """
    path = model_file_path(model_dir, name)
    return read_json(path) if path.is_file() else {}


def position_offset(model_dir: Path) -> int:
    """Position-table rows before the first text position: ``pad_token_id + 1`` for
    RoBERTa-style models (XLM-R, ...), which number positions after the pad id; else 0."""
    config = folder_json(model_dir, "config.json")
    if config.get("model_type") in {"xlm-roberta", "roberta", "camembert"}:
        pad = config.get("pad_token_id", 1)
        return int(pad) + 1 if isinstance(pad, int) else 2
    return 0


def position_limit(model_dir: Path) -> int | None:
    """Longest sequence the model's position embeddings allow, from config.json."""
    limit = folder_json(model_dir, "config.json").get("max_position_embeddings")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        return None
    return limit - position_offset(model_dir)


def config_vocab_size(model_dir: Path) -> int | None:
    """``vocab_size`` from config.json: rows of the word-embedding table (or logits width)."""
    value = folder_json(model_dir, "config.json").get("vocab_size")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def truncation_length(model_dir: Path, explicit: int | None = None) -> int:
    """The number of tokens (special tokens included) a text is cut to."""
    limit = position_limit(model_dir)
    length = explicit
    if length is None:
        st = folder_json(model_dir, "sentence_bert_config.json")
        value = st.get("max_seq_length")
        if isinstance(value, int) and value > 0:
            length = value
    if length is None:
        tc = folder_json(model_dir, "tokenizer_config.json")
        value = tc.get("model_max_length")
        if isinstance(value, (int, float)) and 0 < value < _SENTINEL_FLOOR:
            length = int(value)
    if length is None:
        length = limit if limit is not None else 512
    if limit is not None:
        length = min(length, limit)
    return length


def pad_token_id(model_dir: Path, tokenizer_json: dict[str, Any]) -> int:
    """The id used to pad batches: tokenizer.json padding, else config.json, else 0."""
    padding = tokenizer_json.get("padding")
    if isinstance(padding, dict) and isinstance(padding.get("pad_id"), int):
        return int(padding["pad_id"])
    pad = folder_json(model_dir, "config.json").get("pad_token_id")
    return int(pad) if isinstance(pad, int) else 0


@dataclass(frozen=True)
class SentenceTransformersConfig:
    """What a sentence-transformers folder says about pooling and normalisation."""

    pooling: str | None
    normalize: bool
    max_seq_length: int | None
    dim: int | None


_ST_POOLING_KEYS = (
    ("pooling_mode_cls_token", "cls"),
    ("pooling_mode_mean_tokens", "mean"),
    ("pooling_mode_lasttoken", "last_token"),
)
#: sentence-transformers >= 5 writes one ``pooling_mode`` key (a name or a list of names).
_ST_POOLING_MODES = {"cls": "cls", "mean": "mean", "lasttoken": "last_token"}


def _module_class(module: Any) -> str:
    """The class name of a modules.json entry: ``sentence_transformers.models.Pooling`` and
    ``sentence_transformers.sentence_transformer.modules.pooling.Pooling`` are both Pooling."""
    kind = str(module.get("type", "")) if isinstance(module, dict) else ""
    return kind.rsplit(".", 1)[-1]


def _pooling_modes(cfg: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(supported modes, unsupported modes) named by a Pooling config, old or new style."""
    if "pooling_mode" in cfg:
        value = cfg["pooling_mode"]
        names = [value] if isinstance(value, str) else list(value or [])
        modes = [_ST_POOLING_MODES[n] for n in names if n in _ST_POOLING_MODES]
        return modes, [str(n) for n in names if n not in _ST_POOLING_MODES]
    modes = [name for key, name in _ST_POOLING_KEYS if cfg.get(key)]
    others = [
        k
        for k, v in cfg.items()
        if k.startswith("pooling_mode_") and v and k not in dict(_ST_POOLING_KEYS)
    ]
    return modes, others


def read_sentence_transformers(model_dir: Path) -> SentenceTransformersConfig | None:
    """Parse ``modules.json`` and its Pooling/Normalize modules; ``None`` if absent.

    Raises ``ModelLoadError`` for a pooling mode this package does not implement
    (max, mean-sqrt-len, weighted mean), rather than guessing.
    """
    modules_path = model_file_path(model_dir, "modules.json")
    if not modules_path.is_file():
        return None
    try:
        modules = json.loads(modules_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelLoadError(f"cannot read {modules_path}: {exc}") from exc
    pooling: str | None = None
    dim: int | None = None
    normalize = False
    for module in modules if isinstance(modules, list) else []:
        kind = _module_class(module)
        if kind == "Normalize":
            normalize = True
        elif kind == "Pooling":
            # The module path is data from the folder: "1_Pooling", never "../elsewhere".
            folder = str(module.get("path", "")).rstrip("/")
            path = model_file_path(model_dir, f"{folder}/config.json" if folder else "config.json")
            cfg = read_json(path)
            modes, others = _pooling_modes(cfg)
            if others or len(modes) != 1:
                raise ModelLoadError(
                    f"{path}: unsupported pooling {others or modes}; "
                    "supported: cls, mean, last_token"
                )
            pooling = modes[0]
            dim_value = cfg.get("word_embedding_dimension", cfg.get("embedding_dimension"))
            dim = int(dim_value) if isinstance(dim_value, int) else None
    st = folder_json(model_dir, "sentence_bert_config.json")
    msl = st.get("max_seq_length")
    return SentenceTransformersConfig(
        pooling=pooling,
        normalize=normalize,
        max_seq_length=int(msl) if isinstance(msl, int) else None,
        dim=dim,
    )
