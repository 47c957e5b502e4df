"""SPLADE: masked-LM logits -> vocabulary-indexed sparse vectors.

The rule (SPLADE, Formal et al.; fastembed ``sparse/splade_pp.py`` does the
same): for each text, the weight of vocabulary term ``j`` is

    w[j] = max over tokens t with attention_mask[t] == 1 of log(1 + relu(logits[t, j]))

and the vector keeps the terms with ``w[j] != 0``, indexed by vocabulary id.
OpenSearch's v3 models apply ``log(1 + .)`` once more (``SpladeSpec.activation``);
inference-free models zero their special tokens and weight queries by an IDF
table instead of running the model (:mod:`.if_splade`, ``SpladeSpec`` fields).

Since ``log(1 + relu(x))`` is non-decreasing, the max over tokens of it equals
it applied to the max over tokens of the logits: :func:`splade_weights`
takes the masked max of the logits first and applies the activation to one
``(batch, vocab)`` array, instead of building several ``(batch, seq, vocab)``
temporaries (30522 floats per token for BERT).  Padding tokens only ever add
zeros to the reference formula, and every weight is ``>= 0``, so leaving
them out is the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from ..catalog.sparse import SpladeSpec
from ..engine.pipeline import OnnxTextPipeline, PipelineRecipe, Task
from ..errors import ModelLoadError
from ..hub import model_file_path
from ..results import SPARSE_INDEX_DTYPE, SPARSE_VALUE_DTYPE, SparseVector
from ..text.config import config_vocab_size
from ..text.tokenizer import TextTokenizer
from .if_splade import idf_query_vector, read_idf_table, special_token_ids
from .sparse_common import blank_aware_process, frozen_vector

FloatArray = npt.NDArray[np.float32]

#: Largest logits array (elements) one ONNX call may return: 64 Mi floats = 256 MB,
#: i.e. about 2,200 tokens per batch for a 30522-term vocabulary.
_LOGITS_BUDGET = 1 << 26


def splade_weights(
    logits: FloatArray, attention_mask: npt.NDArray[np.int64], activation: str = "log1p_relu"
) -> FloatArray:
    """``max_t log(1 + relu(logits[:, t, :])) * mask[:, t]`` as ``(batch, vocab)`` float32;
    ``activation="log1p_log1p_relu"`` takes ``log(1 + .)`` of that once more.

    ``logits`` is ``(batch, seq, vocab)``; it is modified in place (padding
    positions are set to ``-inf``) to avoid a copy of the largest array.
    """
    if logits.ndim != 3:
        raise ModelLoadError(f"SPLADE expects logits [batch, seq, vocab], got {logits.shape}")
    if attention_mask.shape != logits.shape[:2]:
        raise ValueError(
            f"attention_mask {attention_mask.shape} does not match logits {logits.shape[:2]}"
        )
    padding = attention_mask == 0
    if padding.any():
        if not logits.flags.writeable:
            logits = logits.copy()
        logits[padding] = -np.inf
    if logits.shape[1] == 0:
        return np.zeros((logits.shape[0], logits.shape[2]), dtype=np.float32)
    top = logits.max(axis=1)
    # A row with no token at all has max -inf: relu gives 0, as the reference does.
    weights: FloatArray = np.log1p(np.maximum(top, 0)).astype(np.float32, copy=False)
    if activation == "log1p_log1p_relu":
        np.log1p(weights, out=weights)
    return weights


def to_sparse(weights: FloatArray) -> list[SparseVector]:
    """One :class:`SparseVector` per row of ``(batch, vocab)`` weights: non-zero terms only."""
    vectors: list[SparseVector] = []
    for row in weights:
        indices = np.flatnonzero(row).astype(SPARSE_INDEX_DTYPE)
        vectors.append(frozen_vector(indices, row[indices].astype(SPARSE_VALUE_DTYPE)))
    return vectors


class SpladePipeline(OnnxTextPipeline[SparseVector]):
    """Texts -> SPLADE sparse vectors (``query`` and ``document`` alike)."""

    def __init__(self, recipe: PipelineRecipe) -> None:
        spec = recipe.spec
        if not isinstance(spec, SpladeSpec) or recipe.model_dir is None:
            raise TypeError("SpladePipeline needs a SpladeSpec and a model folder")
        self.spec = spec
        vocab = spec.vocab_size or config_vocab_size(recipe.model_dir) or 30522
        budget = recipe.options.get("token_budget") or max(64, _LOGITS_BUDGET // vocab)
        super().__init__(
            spec.model,
            TextTokenizer.from_dir(recipe.model_dir, spec.max_length),
            model_file_path(recipe.model_dir, spec.model_file),
            recipe.session,
            [spec.output_name],
            int(budget),
            model_dir=recipe.model_dir,
        )
        raw = self.tokenizer.tokenizer
        no_ids = np.empty(0, dtype=SPARSE_INDEX_DTYPE)
        self.special_ids = (
            special_token_ids(raw, recipe.model_dir) if spec.drop_special_tokens else no_ids
        )
        self.idf: FloatArray | None = None
        if spec.query_idf_file is not None:
            path = model_file_path(recipe.model_dir, spec.query_idf_file)
            self.idf = read_idf_table(path, raw.get_vocab(with_added_tokens=True))

    def postprocess(
        self, outputs: list[np.ndarray], feeds: Mapping[str, np.ndarray], task: Task
    ) -> list[SparseVector]:
        weights = splade_weights(outputs[0], feeds["attention_mask"], self.spec.activation)
        weights[:, self.special_ids[self.special_ids < weights.shape[1]]] = 0
        return to_sparse(weights)

    def _idf_queries(self, texts: Sequence[str], table: FloatArray) -> list[SparseVector]:
        """Inference-free queries: token ids through the IDF table, no model run."""
        encodings = self.encode(texts, "query")
        return [idf_query_vector(e.ids, table, self.special_ids) for e in encodings]

    def process(self, items: Sequence[str], batch_size: int, task: Task) -> list[SparseVector]:
        table = self.idf
        if task == "query" and table is not None:
            return blank_aware_process(
                lambda texts, _b, _t: self._idf_queries(texts, table), items, batch_size, task
            )
        return blank_aware_process(super().process, items, batch_size, task)


def build_splade(recipe: PipelineRecipe) -> SpladePipeline:
    return SpladePipeline(recipe)
