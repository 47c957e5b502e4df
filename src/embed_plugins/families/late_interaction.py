"""Late interaction (ColBERT): markers, query augmentation, skip-lists and MaxSim.

The conventions (see :mod:`embed_plugins.catalog.late_interaction` for their
sources) are small pure numpy functions:

* :func:`insert_marker` puts the query / document marker right after ``[CLS]``;
* :func:`expand_queries` pads every query to the fixed query length with
  ``[MASK]`` (attended or not, as the model was trained); models without query
  expansion (LateOn) keep their queries' real tokens only
  (:func:`unexpanded_query_vectors`);
* :func:`document_keep_mask` drops padding and punctuation from documents;
* :func:`normalize_tokens` L2-normalises every token vector;
* :func:`maxsim` / :func:`rerank_maxsim` score one query against many documents.

:class:`LateInteractionPipeline` only wires them to the engine's text pipeline;
:func:`build_late_interaction` is the picklable recipe builder workers use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from tokenizers import Encoding, Tokenizer

from ..catalog.late_interaction import ColbertSpec, Token
from ..engine.batching import DEFAULT_TOKEN_BUDGET
from ..engine.pipeline import OnnxTextPipeline, Pipeline, PipelineRecipe, Task
from ..errors import ModelLoadError
from ..hub import model_file_path
from ..results import RerankResult
from ..text.config import position_limit, truncation_length
from ..text.tokenizer import TextTokenizer

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: Soft cap on query-tokens x document-tokens similarities held at once by :func:`maxsim`.
MAXSIM_CHUNK_ELEMENTS = 1 << 22


# -- tokens ---------------------------------------------------------------------
def resolve_token(tokenizer: Tokenizer, token: Token, what: str, model: str) -> int:
    """The id of a special token given as text or id; unknown ones are a ``ModelLoadError``."""
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    if isinstance(token, int):
        if not 0 <= token < size:
            raise ModelLoadError(
                f"{model}: {what} id {token} is outside the vocabulary (0..{size - 1})"
            )
        return token
    found = tokenizer.token_to_id(token)
    if found is None:
        raise ModelLoadError(f"{model}: {what} {token!r} is not in the tokenizer's vocabulary")
    return int(found)


def skiplist_ids(tokenizer: Tokenizer, symbols: Sequence[str]) -> IntArray:
    """Token ids documents drop: the first id of each symbol encoded without special tokens.

    This is the reference's rule (for BERT vocabularies it is the symbol's own id).
    """
    ids = set()
    for symbol in symbols:
        encoded = tokenizer.encode(symbol, add_special_tokens=False).ids
        if encoded:
            ids.add(int(encoded[0]))
    return np.array(sorted(ids), dtype=np.int64)


# -- feeds ----------------------------------------------------------------------
def insert_marker(array: IntArray, value: int) -> IntArray:
    """A copy of ``(rows, seq)`` with a column of ``value`` inserted at position 1 (after [CLS])."""
    rows = array.shape[0]
    column = np.full((rows, 1), value, dtype=array.dtype)
    return np.concatenate([array[:, :1], column, array[:, 1:]], axis=1)


def expand_queries(
    input_ids: IntArray, attention_mask: IntArray, length: int, mask_id: int, attend: bool
) -> tuple[IntArray, IntArray]:
    """Pad right-padded query rows to exactly ``length`` tokens with ``mask_id``.

    Every position that is padding (``attention_mask == 0``) or beyond the
    batch width becomes ``mask_id``.  Its attention is 1 when ``attend`` (the
    model attends to its query augmentation tokens), else 0.
    """
    rows, width = input_ids.shape
    if width > length:
        raise ValueError(f"query rows of {width} tokens exceed the query length {length}")
    ids = np.full((rows, length), mask_id, dtype=np.int64)
    mask = np.zeros((rows, length), dtype=np.int64)
    ids[:, :width] = np.where(attention_mask > 0, input_ids, mask_id)
    mask[:, :width] = attention_mask
    if attend:
        mask[:] = 1
    return ids, mask


def prepare_feeds(
    input_ids: IntArray,
    attention_mask: IntArray,
    token_type_ids: IntArray,
    marker_id: int | None,
    query_length: int | None = None,
    mask_id: int = 0,
    attend_to_mask_tokens: bool = False,
) -> dict[str, IntArray]:
    """Tokenised rows -> ONNX feeds: marker after [CLS]; queries expanded to ``query_length``."""
    if marker_id is not None:
        input_ids = insert_marker(input_ids, marker_id)
        attention_mask = insert_marker(attention_mask, 1)
    if query_length is not None:
        input_ids, attention_mask = expand_queries(
            input_ids, attention_mask, query_length, mask_id, attend_to_mask_tokens
        )
        token_type_ids = np.zeros_like(input_ids)
    elif marker_id is not None:
        token_type_ids = insert_marker(token_type_ids, 0)
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "token_type_ids": token_type_ids,
    }


# -- outputs --------------------------------------------------------------------
def normalize_tokens(x: FloatArray) -> FloatArray:
    """Every vector (last axis) scaled to unit L2 norm; zero vectors stay zero (eps 1e-12)."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    out: FloatArray = (x / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return out


def document_keep_mask(
    input_ids: IntArray, attention_mask: IntArray, skip_ids: IntArray
) -> npt.NDArray[np.bool_]:
    """Tokens whose vectors a document keeps: not padding and not in the skip-list."""
    return (attention_mask > 0) & ~np.isin(input_ids, skip_ids)


def query_vectors(output: FloatArray, normalize: bool) -> list[FloatArray]:
    """``(rows, query_length, dim)`` -> one ``(query_length, dim)`` array per query (all kept)."""
    vectors = normalize_tokens(output) if normalize else output.astype(np.float32, copy=False)
    return [np.ascontiguousarray(row) for row in vectors]


def unexpanded_query_vectors(
    output: FloatArray, input_ids: IntArray, attention_mask: IntArray, normalize: bool
) -> list[FloatArray]:
    """Queries without expansion: one vector per real token (attention mask 1), batch
    padding dropped, no skip-list (PyLate's ``do_query_expansion=False``)."""
    no_skip = np.zeros(0, dtype=np.int64)
    return document_vectors(output, input_ids, attention_mask, no_skip, normalize)


def document_vectors(
    output: FloatArray,
    input_ids: IntArray,
    attention_mask: IntArray,
    skip_ids: IntArray,
    normalize: bool,
) -> list[FloatArray]:
    """``(rows, seq, dim)`` -> one ``(n_kept, dim)`` array per document."""
    keep = document_keep_mask(input_ids, attention_mask, skip_ids)
    vectors = normalize_tokens(output) if normalize else output.astype(np.float32, copy=False)
    return [row[k] for row, k in zip(vectors, keep, strict=True)]


# -- scoring --------------------------------------------------------------------
def _as_matrix(x: Any, what: str) -> FloatArray:
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"{what} must be a 2-D (tokens, dim) array, got shape {arr.shape}")
    return arr


def maxsim(
    query: npt.ArrayLike,
    documents: Sequence[npt.ArrayLike],
    *,
    chunk_elements: int = MAXSIM_CHUNK_ELEMENTS,
) -> FloatArray:
    """ColBERT's late-interaction score of one query against each document.

    ``score(d) = sum over query tokens q of max over document tokens t of q . t``.
    ``query`` is ``(q, dim)``, each document ``(n_i, dim)``; returns float32
    ``(len(documents),)``.  The documents are concatenated and the maxima taken
    per segment with ``np.maximum.reduceat`` (no Python loop over tokens),
    in chunks of about ``chunk_elements`` similarities.  A document with no
    tokens scores 0.
    """
    q = _as_matrix(query, "query")
    docs = [_as_matrix(d, f"document {i}") for i, d in enumerate(documents)]
    for i, d in enumerate(docs):
        if d.shape[1] != q.shape[1]:
            raise ValueError(f"document {i} has dimension {d.shape[1]}, the query {q.shape[1]}")
    scores = np.zeros(len(docs), dtype=np.float32)
    if not docs or q.shape[0] == 0:
        return scores
    lengths = np.array([d.shape[0] for d in docs], dtype=np.int64)
    budget = max(1, chunk_elements // max(q.shape[0], 1))
    group: list[int] = []
    tokens = 0
    for i in np.flatnonzero(lengths).tolist():
        if group and tokens + lengths[i] > budget:
            _score_group(q, docs, lengths, group, scores)
            group, tokens = [], 0
        group.append(i)
        tokens += int(lengths[i])
    if group:
        _score_group(q, docs, lengths, group, scores)
    return scores


def _score_group(
    q: FloatArray, docs: list[FloatArray], lengths: IntArray, group: list[int], out: FloatArray
) -> None:
    flat = np.concatenate([docs[i] for i in group], axis=0)
    sims = q @ flat.T  # (query tokens, document tokens of the group)
    starts = np.concatenate([[0], np.cumsum(lengths[group])[:-1]])
    best = np.maximum.reduceat(sims, starts, axis=1)  # (query tokens, documents)
    out[group] = best.sum(axis=0, dtype=np.float32)


def check_top_k(top_k: Any) -> int | None:
    """``top_k`` as ``None`` (every document) or a positive int (as ``TextCrossEncoder.rank``).

    A ``top_k`` larger than the list means all of it.
    """
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)):
        raise TypeError(f"top_k must be a positive int or None, got {top_k!r}")
    if top_k < 1:
        raise ValueError(f"top_k must be a positive int or None, got {top_k!r}")
    return int(top_k)


def rank(scores: FloatArray, top_k: int | None) -> list[RerankResult]:
    """Scores -> results sorted by descending score (ties keep input order), cut at ``top_k``."""
    order = np.argsort(-scores, kind="stable")
    if top_k is not None:
        order = order[:top_k]
    return [RerankResult(index=int(i), score=float(scores[i])) for i in order]


def rank_documents(
    scores: Iterable[float], documents: Sequence[Any], top_k: int | None, return_documents: bool
) -> list[RerankResult]:
    """Streamed scores of ``documents`` -> :func:`rank` results, each with its document
    when ``return_documents``."""
    values = np.fromiter(scores, dtype=np.float32, count=len(documents))
    results = rank(values, top_k)
    if return_documents:
        results = [RerankResult(r.index, r.score, documents[r.index]) for r in results]
    return results


def rerank_maxsim(
    query_vectors: npt.ArrayLike,
    doc_vectors_list: Sequence[npt.ArrayLike],
    top_k: int | None = None,
) -> list[RerankResult]:
    """Documents sorted by :func:`maxsim` score, best first; ``top_k=None`` keeps all."""
    k = check_top_k(top_k)
    return rank(maxsim(query_vectors, doc_vectors_list), k)


# -- pipeline -------------------------------------------------------------------
class LateInteractionPipeline(OnnxTextPipeline[FloatArray]):
    """Texts -> per-token float32 vectors, with ColBERT's query and document conventions."""

    def __init__(self, recipe: PipelineRecipe) -> None:
        spec = recipe.spec
        if not isinstance(spec, ColbertSpec) or recipe.model_dir is None:
            raise TypeError("LateInteractionPipeline needs a ColbertSpec and a model folder")
        self.spec = spec
        model_dir = recipe.model_dir
        limit = position_limit(model_dir)
        if limit is not None and spec.query_length > limit:
            raise ModelLoadError(
                f"{spec.model}: query_length {spec.query_length} exceeds the model's "
                f"{limit} positions"
            )
        doc_marker = int(spec.document_marker is not None)
        query_marker = int(spec.query_marker is not None)
        self.document_length = truncation_length(model_dir, spec.max_length)
        if self.document_length < 2 + doc_marker:
            raise ModelLoadError(
                f"{spec.model}: document length {self.document_length} leaves no room for "
                "[CLS], the marker and [SEP]"
            )
        documents = TextTokenizer.from_dir(model_dir, self.document_length - doc_marker)
        self.query_tokenizer = TextTokenizer.from_dir(model_dir, spec.query_length - query_marker)
        raw = documents.tokenizer
        self.query_marker_id = (
            None
            if spec.query_marker is None
            else resolve_token(raw, spec.query_marker, "query_marker", spec.model)
        )
        self.document_marker_id = (
            None
            if spec.document_marker is None
            else resolve_token(raw, spec.document_marker, "document_marker", spec.model)
        )
        self.mask_id = resolve_token(raw, spec.mask_token, "mask_token", spec.model)
        self.skip_ids = skiplist_ids(raw, spec.skiplist)
        super().__init__(
            spec.model,
            documents,
            model_file_path(model_dir, spec.model_file),
            recipe.session,
            [spec.output_name],
            recipe.options.get("token_budget", DEFAULT_TOKEN_BUDGET),
            model_dir=model_dir,
        )
        self.io.check_width(self.output_names[0], spec.dim, spec.model)

    def longest_row(self) -> int:
        return max(self.document_length, self.spec.query_length)

    def _tokenizer(self, task: Task) -> TextTokenizer:
        tokenizer: TextTokenizer = self.query_tokenizer if task == "query" else self.tokenizer
        return tokenizer

    def encode(self, items: Sequence[Any], task: Task) -> list[Encoding]:
        return self._tokenizer(task).encode_texts(list(items))

    def feeds(self, encodings: Sequence[Encoding], task: Task) -> dict[str, np.ndarray]:
        batch = self._tokenizer(task).pad(encodings)
        if task == "query":
            return dict(
                prepare_feeds(
                    batch.input_ids,
                    batch.attention_mask,
                    batch.token_type_ids,
                    self.query_marker_id,
                    self.spec.query_length if self.spec.query_expansion else None,
                    self.mask_id,
                    self.spec.attend_to_mask_tokens,
                )
            )
        return dict(
            prepare_feeds(
                batch.input_ids, batch.attention_mask, batch.token_type_ids, self.document_marker_id
            )
        )

    def postprocess(
        self, outputs: list[np.ndarray], feeds: Mapping[str, np.ndarray], task: Task
    ) -> list[FloatArray]:
        out = outputs[0]
        if out.ndim != 3 or out.shape[-1] != self.spec.dim:
            raise ModelLoadError(
                f"{self.model_name}: expected a (batch, sequence, {self.spec.dim}) output, "
                f"got {out.shape}; check the spec's dim and output_name"
            )
        if task == "query" and not self.spec.query_expansion:
            return unexpanded_query_vectors(
                out, feeds["input_ids"], feeds["attention_mask"], self.spec.normalize
            )
        if task == "query":
            return query_vectors(out, self.spec.normalize)
        return document_vectors(
            out, feeds["input_ids"], feeds["attention_mask"], self.skip_ids, self.spec.normalize
        )

    def token_count(self, items: Sequence[Any], task: Task) -> int:
        return self.count_tokens(items, task, include_extension=False)

    def count_tokens(self, items: Sequence[Any], task: Task, include_extension: bool) -> int:
        """Tokens the model reads: [CLS], marker, text (truncated), [SEP]; for queries
        with ``include_extension`` also the [MASK] padding (``query_length`` each; none
        without query expansion)."""
        if task == "query":
            if include_extension and self.spec.query_expansion:
                return len(items) * self.spec.query_length
            marker = int(self.query_marker_id is not None)
        else:
            marker = int(self.document_marker_id is not None)
        return sum(len(e.ids) + marker for e in self.encode(items, task))


def build_late_interaction(recipe: PipelineRecipe) -> Pipeline[Any, FloatArray]:
    """The pipeline for ``recipe.spec``: ColBERT's, or BGE-M3's ColBERT head."""
    from ..catalog.bge_m3 import BgeM3ColbertSpec

    if isinstance(recipe.spec, BgeM3ColbertSpec):
        from .bge_m3 import build_bge_m3

        return build_bge_m3(recipe)
    return LateInteractionPipeline(recipe)
