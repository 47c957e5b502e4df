"""Static (model2vec) embeddings: the mean of a text's token rows, no ONNX graph.

A ``DenseSpec`` with ``kind="static"`` names a safetensors file (``model_file``) holding
the token table ``embeddings`` (model2vec's layout; ``embedding.weight`` in the
sentence-transformers ``StaticEmbedding`` layout) and, for vocabulary-quantised models,
``mapping`` (token id -> table row) and ``weights`` (one factor per token id).  The rules,
as model2vec 0.10.0 documents and implements them (``StaticModel.encode``, ``tokenize``,
``_encode_batch``, ``_get_unk_token_id`` in ``model2vec/model.py``; cited, not copied):

1. each text is cut to ``max_length * median_token_length`` characters, where
   ``median_token_length`` is ``int(median(len(token)))`` over the whole vocabulary
   (added tokens included);
2. it is tokenised **without** special tokens, truncated to ``max_length`` tokens, never
   padded; ``max_length`` is the spec's, else ``config.json``'s ``max_length`` (``null``:
   no truncation), else 512;
3. the unknown token's id is dropped (after truncation): the tokenizer model's
   ``unk_token`` (WordPiece, BPE, WordLevel) or ``unk_id`` (Unigram);
4. the rows of the remaining ids are averaged (``table[mapping[id]] * weights[id]`` when
   those tensors exist, divided by the token count); a text with no ids is a zero vector;
5. the mean is L2-normalised when the spec says so (model2vec: ``config.json``
   ``normalize``, default false), then cut to ``truncate_dim`` like any dense vector.

fastembed 0.9.1 (``fastembed/text/static_embedding.py``) follows 2-4 but skips the
character cut of step 1 and always normalises.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from ..catalog.spec import DenseSpec
from ..engine.pipeline import PipelineRecipe, Task
from ..engine.session import SessionConfig
from ..errors import ModelLoadError
from ..hub import model_file_path
from ..text.config import folder_json, read_json
from ..text.tokenizer import clean_surrogates
from .dense import l2_normalize, prefix_for, truncate
from .safetensors_numpy import read_header, read_tensors

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: model2vec's default truncation (``DEFAULT_MAX_LENGTH``) when config.json names none.
DEFAULT_MAX_LENGTH = 512
#: Token rows gathered at once while averaging (bounds temporary memory: 16 MB at dim 256).
ROW_BUDGET = 16_384
TABLE_NAMES = ("embeddings", "embedding.weight")


class StaticModelOptionsWarning(UserWarning):
    """Options of the ONNX session were given for a static model, which has no session."""


# -- pure functions -----------------------------------------------------------------------


def median_token_length(vocabulary: Sequence[str]) -> int:
    """model2vec's character budget per token: ``int`` of the median token length."""
    return int(np.median([len(token) for token in vocabulary])) if vocabulary else 0


def unknown_token_id(tokenizer: Tokenizer) -> int | None:
    """The id model2vec drops: the model's ``unk_token`` looked up, or Unigram's ``unk_id``."""
    model = json.loads(tokenizer.to_str()).get("model", {})
    if model.get("type") == "Unigram":
        unk = model.get("unk_id")
        return unk if isinstance(unk, int) and not isinstance(unk, bool) else None
    token = model.get("unk_token")
    found = tokenizer.token_to_id(token) if isinstance(token, str) else None
    return None if found is None else int(found)


def token_ids(
    tokenizer: Tokenizer, texts: Sequence[str], char_limit: int | None
) -> tuple[IntArray, IntArray]:
    """All texts' ids (no special tokens, truncated as the tokenizer is set) as one flat
    array, and each text's count."""
    cut = [t[:char_limit] for t in texts] if char_limit is not None else list(texts)
    try:
        encodings = tokenizer.encode_batch_fast(cut, add_special_tokens=False)
    except TypeError:  # lone surrogates: tokenizers cannot encode them
        cut = [clean_surrogates(t) for t in cut]
        encodings = tokenizer.encode_batch_fast(cut, add_special_tokens=False)
    lists = [e.ids for e in encodings]
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter(itertools.chain.from_iterable(lists), np.int64, int(lengths.sum()))
    return flat, lengths


def drop_id(flat: IntArray, lengths: IntArray, token: int | None) -> tuple[IntArray, IntArray]:
    """``flat`` / ``lengths`` without every occurrence of ``token``."""
    if token is None or not flat.size:
        return flat, lengths
    keep = flat != token
    if keep.all():
        return flat, lengths
    owner = np.repeat(np.arange(len(lengths)), lengths)
    return flat[keep], np.bincount(owner[keep], minlength=len(lengths)).astype(np.int64)


def mean_rows(
    table: np.ndarray,
    flat: IntArray,
    lengths: IntArray,
    weights: np.ndarray | None = None,
    mapping: np.ndarray | None = None,
) -> FloatArray:
    """Each text's mean token row, ``(texts, dim)`` float32; zero rows for texts with no ids.

    ``mapping`` maps an id to its table row and ``weights`` scales it; the divisor is the
    token count either way (model2vec ``_encode_batch``).  Texts of one length are averaged
    together as one ``(texts, length, dim)`` float32 block with numpy's ``mean``, as
    model2vec does, so the sums are added in the same order and the vectors are the same
    to the last bit (a float64 sum differs from model2vec by ~1e-6 on long texts).
    """
    out = np.zeros((len(lengths), table.shape[1]), dtype=np.float32)
    starts = np.cumsum(lengths) - lengths
    for length in np.unique(lengths[lengths > 0]).tolist():
        texts = np.flatnonzero(lengths == length)
        step = max(1, ROW_BUDGET // length)  # bounds the block at ROW_BUDGET rows
        for first in range(0, len(texts), step):
            chosen = texts[first : first + step]
            ids = flat[starts[chosen, None] + np.arange(length)]
            rows = np.asarray(table[ids if mapping is None else mapping[ids]], dtype=np.float32)
            if weights is not None:
                rows = rows * np.asarray(weights, dtype=np.float32)[ids][..., None]
            out[chosen] = rows.mean(axis=1)
    return out


# -- the model folder ---------------------------------------------------------------------


def table_shape(path: Path) -> tuple[int, int]:
    """Rows and width of a static model's token table, from the file's header alone."""
    header, _ = read_header(path)
    for name in TABLE_NAMES:
        shape = header.get(name, {}).get("shape")
        if isinstance(shape, list) and len(shape) == 2:
            return int(shape[0]), int(shape[1])
    raise ModelLoadError(
        f"{path}: no 2-D token table (a tensor named {' or '.join(TABLE_NAMES)}); "
        f"tensors: {sorted(header)}"
    )


def is_static_folder(folder: Path) -> bool:
    """A model2vec folder: ``model.safetensors`` + ``tokenizer.json``, and a config.json of
    ``model_type`` model2vec or a modules.json whose first module is ``StaticEmbedding``."""
    if not (model_file_path(folder, "model.safetensors").is_file()):
        return False
    if folder_json(folder, "config.json").get("model_type") == "model2vec":
        return True
    modules_path = model_file_path(folder, "modules.json")
    if not modules_path.is_file():
        return False
    try:
        modules = json.loads(modules_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(
        isinstance(modules, list)
        and modules
        and isinstance(modules[0], dict)
        and str(modules[0].get("type", "")).endswith("StaticEmbedding")
    )


def static_spec_from_folder(folder: Path, name: str) -> DenseSpec:
    """A spec for a local model2vec folder: width from the table, ``normalize`` from
    config.json (model2vec's default: false), truncation read at load."""
    _, dim = table_shape(model_file_path(folder, "model.safetensors"))
    normalize = folder_json(folder, "config.json").get("normalize", False)
    return DenseSpec(
        model=name,
        model_file="model.safetensors",
        kind="static",
        dim=dim,
        pooling="mean",
        normalize=normalize is True,
        description=f"local model2vec static model at {folder}",
    )


def static_max_length(spec: DenseSpec, folder: Path) -> int | None:
    """The spec's ``max_length``, else config.json's (``null``: none), else 512."""
    if spec.max_length is not None:
        return spec.max_length
    config = folder_json(folder, "config.json")
    if "max_length" not in config:
        return DEFAULT_MAX_LENGTH
    value = config["max_length"]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ModelLoadError(f"{folder}/config.json: max_length must be a positive int or null")
    return value


def ignored_session_options(config: SessionConfig) -> list[str]:
    """The ONNX session options set to something else than their default, as keywords."""
    default = SessionConfig()
    names = {"cpu_mem_arena": "enable_cpu_mem_arena"}
    return [
        f"{names.get(f.name, f.name)}={getattr(config, f.name)!r}"
        for f in dataclasses.fields(config)
        if getattr(config, f.name) != getattr(default, f.name)
    ]


def warn_ignored_session_options(model: str, config: SessionConfig) -> None:
    """Warn (once, in the caller's process) that a static model ignores session options."""
    ignored = ignored_session_options(config)
    if ignored:
        warnings.warn(
            f"{model} is a static model2vec model, computed with numpy on the CPU without an "
            f"ONNX session, so these options have no effect: {', '.join(ignored)}",
            StaticModelOptionsWarning,
            stacklevel=3,
        )


# -- the pipeline -------------------------------------------------------------------------


class StaticPipeline:
    """Texts -> mean token rows, wired to the engine (the maths is in the functions above)."""

    def __init__(self, recipe: PipelineRecipe) -> None:
        spec, folder = recipe.spec, recipe.model_dir
        if not isinstance(spec, DenseSpec) or folder is None:
            raise TypeError("StaticPipeline needs a DenseSpec and a model folder")
        self.spec = spec
        self.truncate_dim: int | None = recipe.options.get("truncate_dim")
        path = model_file_path(folder, spec.model_file)
        tensors = read_tensors(path, (*TABLE_NAMES, "weights", "mapping"))
        self.table = next((tensors[n] for n in TABLE_NAMES if n in tensors), None)
        self.weights = tensors.get("weights")
        self.mapping = tensors.get("mapping")
        self.tokenizer = _load_tokenizer(folder)
        self.max_length = static_max_length(spec, folder)
        if self.max_length is None:
            self.tokenizer.no_truncation()
        else:
            self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.no_padding()
        vocabulary = list(self.tokenizer.get_vocab(with_added_tokens=True))
        self.char_limit = (
            None if self.max_length is None else self.max_length * median_token_length(vocabulary)
        )
        self.unk_id = unknown_token_id(self.tokenizer)
        self._check(path, len(vocabulary))

    def _check(self, path: Path, vocab_size: int) -> None:
        table, spec = self.table, self.spec
        if table is None or table.ndim != 2:
            raise ModelLoadError(f"{spec.model}: {path} has no 2-D token table {TABLE_NAMES}")
        if table.shape[1] != spec.dim:
            raise ModelLoadError(
                f"{spec.model}: the spec says dim={spec.dim}, but the token table of {path} "
                f"has {table.shape[1]} columns; give dim={table.shape[1]}"
            )
        mapping = self.mapping
        if mapping is not None and (
            mapping.ndim != 1
            or mapping.dtype.kind not in "iu"
            or len(mapping) < vocab_size
            or (mapping.size and not 0 <= int(mapping.min()) <= int(mapping.max()) < len(table))
        ):
            raise ModelLoadError(
                f"{spec.model}: {path}: 'mapping' must give a table row for each of the "
                f"{vocab_size} token ids"
            )
        rows = len(self.mapping) if self.mapping is not None else len(table)
        if rows < vocab_size:
            raise ModelLoadError(
                f"{spec.model}: the tokenizer has {vocab_size} tokens but {path} has rows for "
                f"{rows}; the table and tokenizer.json do not belong together"
            )
        if self.weights is not None and (self.weights.ndim != 1 or len(self.weights) < vocab_size):
            raise ModelLoadError(
                f"{spec.model}: {path}: 'weights' must hold one factor per token id"
            )

    def _ids(self, items: Sequence[str], task: Task) -> tuple[IntArray, IntArray]:
        prefix = prefix_for(self.spec, task)
        texts = [prefix + t for t in items] if prefix else items
        return token_ids(self.tokenizer, texts, self.char_limit)

    def process(self, items: Sequence[str], batch_size: int, task: Task) -> list[FloatArray]:
        out: list[FloatArray] = []
        for start in range(0, len(items), batch_size):
            flat, lengths = drop_id(
                *self._ids(items[start : start + batch_size], task), self.unk_id
            )
            assert self.table is not None  # checked at load
            vectors = mean_rows(self.table, flat, lengths, self.weights, self.mapping)
            if self.spec.normalize:
                vectors = l2_normalize(vectors)
            out.extend(truncate(vectors, self.truncate_dim, self.spec.normalize))
        return out

    def token_count(self, items: Sequence[str], task: Task) -> int:
        """Tokens after truncation, the unknown ones included (as fastembed counts them)."""
        return int(self._ids(items, task)[1].sum())


def _load_tokenizer(folder: Path) -> Tokenizer:
    path = model_file_path(folder, "tokenizer.json")
    if not path.is_file():
        raise ModelLoadError(f"{folder}: no tokenizer.json")
    read_json(path)  # a clear error for a file that is not a JSON object
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises plain Exception subclasses
        raise ModelLoadError(f"cannot load {path}: {exc}") from exc


def build_static(recipe: PipelineRecipe) -> StaticPipeline:
    return StaticPipeline(recipe)
