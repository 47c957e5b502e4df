"""BGE-M3: dense vectors, lexical weights and ColBERT vectors from one encoder pass.

The rules (FlagEmbedding's; sources in :mod:`embed_plugins.catalog.bge_m3`) as pure
numpy functions of the last hidden state ``(rows, seq, hidden)`` and the batch's
right-padded ids and mask:

* :func:`dense_vectors`: the first row (``[CLS]``), L2-normalised;
* :func:`token_weights` + :func:`lexical_weights`: ``relu(sparse_linear(hidden))``,
  then per text the largest weight of each token id, leaving out padding, the
  unused (special) ids and weights ``<= 0``, as :class:`~embed_plugins.SparseVector`
  with token-id indices;
* :func:`colbert_vectors`: ``colbert_linear`` on every token but the first, up to
  the text's last real token (``</s>`` included), L2-normalised.

:class:`BgeM3Pipeline` runs the graph once per batch and applies the heads
(:mod:`.bge_m3_heads`) for whichever spec built it: :class:`BgeM3SparseSpec`
(sparse vectors), :class:`BgeM3ColbertSpec` (token vectors) or :class:`BgeM3Spec`
(:class:`BgeM3Output`, all three).  Queries and documents are encoded alike
(BGE-M3 uses no instruction or marker), queries of the ColBERT spec truncated at its
``query_length``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from tokenizers import Encoding

from ..catalog.bge_m3 import BgeM3ColbertSpec, BgeM3SparseSpec, BgeM3Spec
from ..catalog.late_interaction import Token
from ..engine.batching import DEFAULT_TOKEN_BUDGET
from ..engine.pipeline import OnnxTextPipeline, PipelineRecipe, Task
from ..errors import ModelLoadError
from ..hub import model_file_path
from ..results import SPARSE_INDEX_DTYPE, SparseVector
from ..text.config import truncation_length
from ..text.tokenizer import TextTokenizer
from .bge_m3_heads import LinearHead, load_linear_head
from .dense import l2_normalize
from .late_interaction import resolve_token
from .sparse_common import frozen_vector

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
Output = Literal["sparse", "colbert", "all"]


@dataclass(frozen=True, eq=False)
class BgeM3Output:
    """What BGE-M3 gives for one text, from one pass.

    Attributes:
        dense: float32 ``(dim,)``, the ``[CLS]`` vector (L2-normalised).
        sparse: lexical weights, indices are token ids.
        colbert: float32 ``(n_tokens - 1, colbert_dim)``: one vector per token after
            ``[CLS]`` (``</s>`` included), L2-normalised.
    """

    dense: FloatArray
    sparse: SparseVector
    colbert: FloatArray


# -- the rules ------------------------------------------------------------------------------
def dense_vectors(hidden: FloatArray, normalize: bool = True) -> FloatArray:
    """``(rows, seq, hidden)`` -> the first token's row of each, ``(rows, hidden)``."""
    first = np.array(hidden[:, 0], dtype=np.float32)
    return l2_normalize(first) if normalize else first


def token_weights(hidden: FloatArray, head: LinearHead) -> FloatArray:
    """``relu(sparse_linear(hidden))`` as ``(rows, seq)``; the head has one output."""
    if head.out_features != 1:
        raise ModelLoadError(f"the sparse head has {head.out_features} outputs, expected 1")
    return np.maximum(head(hidden)[..., 0], 0).astype(np.float32, copy=False)


def lexical_weights(
    weights: FloatArray, input_ids: IntArray, attention_mask: IntArray, unused_ids: IntArray
) -> list[SparseVector]:
    """Per row: the largest weight of each token id, over real tokens whose id is not
    in ``unused_ids`` and whose weight is ``> 0``; indices ascending."""
    keep = (attention_mask > 0) & ~np.isin(input_ids, unused_ids) & (weights > 0)
    vectors: list[SparseVector] = []
    for ids, values, k in zip(input_ids, weights, keep, strict=True):
        unique, inverse = np.unique(ids[k], return_inverse=True)
        best = np.zeros(unique.size, dtype=np.float32)
        np.maximum.at(best, inverse, values[k])
        vectors.append(frozen_vector(unique.astype(SPARSE_INDEX_DTYPE), best))
    return vectors


def colbert_vectors(
    hidden: FloatArray, attention_mask: IntArray, head: LinearHead, normalize: bool = True
) -> list[FloatArray]:
    """Per row: ``colbert_linear`` of tokens ``1 .. n-1`` (``n`` real tokens), normalised."""
    projected = head(hidden[:, 1:])
    if normalize:
        projected = l2_normalize(projected)
    counts = np.asarray(attention_mask, dtype=np.int64).sum(axis=1)
    return [
        np.ascontiguousarray(row[: max(int(n) - 1, 0)])
        for row, n in zip(projected, counts, strict=True)
    ]


# -- the pipeline ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """What one pipeline computes, read from whichever BGE-M3 spec built it."""

    output: Output
    output_name: str | None
    sparse_head: str | None
    colbert_head: str | None
    unused_tokens: tuple[Token, ...]
    normalize: bool
    hidden: int | None  # the dense width, checked against the graph (None: the head's)
    colbert_dim: int | None
    query_length: int | None


def _plan(spec: Any) -> _Plan:
    if isinstance(spec, BgeM3Spec):
        return _Plan(
            "all",
            spec.output_name,
            spec.sparse_head,
            spec.colbert_head,
            spec.unused_tokens,
            spec.normalize,
            spec.dim,
            spec.colbert_dim,
            None,
        )
    if isinstance(spec, BgeM3SparseSpec):
        return _Plan(
            "sparse", spec.output_name, spec.sparse_head, None, spec.unused_tokens, True,
            None, None, None,
        )  # fmt: skip
    if isinstance(spec, BgeM3ColbertSpec):
        return _Plan(
            "colbert", spec.output_name, None, spec.colbert_head, (), spec.normalize,
            None, spec.dim, spec.query_length,
        )  # fmt: skip
    raise TypeError(
        f"BgeM3Pipeline needs a BgeM3Spec, BgeM3SparseSpec or BgeM3ColbertSpec, got "
        f"{type(spec).__name__}"
    )


class BgeM3Pipeline(OnnxTextPipeline[Any]):
    """Texts -> one encoder pass -> BGE-M3's heads, for a sparse, ColBERT or full spec."""

    def __init__(self, recipe: PipelineRecipe) -> None:
        if recipe.model_dir is None:
            raise TypeError("BgeM3Pipeline needs a model folder")
        spec, folder = recipe.spec, recipe.model_dir
        self.spec = spec
        self.plan = plan = _plan(spec)
        self.sparse_head = self._head(folder, plan.sparse_head, 1)
        self.colbert_head = self._head(folder, plan.colbert_head, plan.colbert_dim)
        documents = TextTokenizer.from_dir(folder, spec.max_length)
        self.query_tokenizer = documents
        if plan.query_length is not None:
            length = truncation_length(folder, plan.query_length)
            if length != documents.max_length:
                self.query_tokenizer = TextTokenizer.from_dir(folder, length)
        raw = documents.tokenizer
        unused = [resolve_token(raw, t, "unused_tokens", spec.model) for t in plan.unused_tokens]
        self.unused_ids = np.array(sorted(set(unused)), dtype=np.int64)
        super().__init__(
            spec.model,
            documents,
            model_file_path(folder, spec.model_file),
            recipe.session,
            [plan.output_name],
            recipe.options.get("token_budget", DEFAULT_TOKEN_BUDGET),
            model_dir=folder,
        )
        heads = [h for h in (self.sparse_head, self.colbert_head) if h is not None]
        widths = {h.in_features for h in heads} | ({plan.hidden} if plan.hidden else set())
        if len(widths) != 1:
            raise ModelLoadError(
                f"{spec.model}: the heads read {sorted(widths)} values per token; they and "
                "the spec's dim must all be the encoder's hidden size"
            )
        self.hidden = widths.pop()
        self.io.check_width(self.output_names[0], self.hidden, spec.model)

    def _head(self, folder: Path, name: str | None, out: int | None) -> LinearHead | None:
        if name is None:
            return None
        return load_linear_head(model_file_path(folder, name), self.spec.model, out)

    def longest_row(self) -> int:
        return max(int(self.tokenizer.max_length), int(self.query_tokenizer.max_length))

    def _tokenizer(self, task: Task) -> TextTokenizer:
        tokenizer: TextTokenizer = self.query_tokenizer if task == "query" else self.tokenizer
        return tokenizer

    def encode(self, items: Sequence[Any], task: Task) -> list[Encoding]:
        return self._tokenizer(task).encode_texts(list(items))

    def feeds(self, encodings: Sequence[Encoding], task: Task) -> dict[str, np.ndarray]:
        feeds: dict[str, np.ndarray] = self._tokenizer(task).pad(encodings).feeds()
        return feeds

    def postprocess(
        self, outputs: list[np.ndarray], feeds: Mapping[str, np.ndarray], task: Task
    ) -> list[Any]:
        hidden = outputs[0]
        if hidden.ndim != 3 or hidden.shape[-1] != self.hidden:
            raise ModelLoadError(
                f"{self.model_name}: expected hidden states (batch, sequence, {self.hidden}) "
                f"from the ONNX output {self.output_names[0]!r}, got {hidden.shape}"
            )
        ids, mask = feeds["input_ids"], feeds["attention_mask"]
        plan = self.plan
        sparse = colbert = None
        if self.sparse_head is not None:
            weights = token_weights(hidden, self.sparse_head)
            sparse = lexical_weights(weights, ids, mask, self.unused_ids)
        if self.colbert_head is not None:
            colbert = colbert_vectors(hidden, mask, self.colbert_head, plan.normalize)
        if plan.output == "sparse" and sparse is not None:
            return list(sparse)
        if plan.output == "colbert" and colbert is not None:
            return list(colbert)
        if sparse is None or colbert is None:  # pragma: no cover - _plan always loads both
            raise RuntimeError(f"{self.model_name}: a head is missing")
        dense = dense_vectors(hidden, plan.normalize)
        return [BgeM3Output(d, s, c) for d, s, c in zip(dense, sparse, colbert, strict=True)]

    def token_count(self, items: Sequence[Any], task: Task) -> int:
        return sum(len(e.ids) for e in self.encode(items, task))

    def count_tokens(self, items: Sequence[Any], task: Task, include_extension: bool) -> int:
        """As :meth:`LateInteractionPipeline.count_tokens`: BGE-M3 adds no marker or
        expansion, so every text counts its (truncated) tokens, special ones included."""
        return self.token_count(items, task)


def build_bge_m3(recipe: PipelineRecipe) -> BgeM3Pipeline:
    return BgeM3Pipeline(recipe)
