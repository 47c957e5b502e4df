"""Inference-free SPLADE: queries through an IDF lookup table, no model run.

OpenSearch's "doc-only" sparse models (opensearch-project's cards, e.g.
``opensearch-neural-sparse-encoding-doc-v3-gte``, "Usage (HuggingFace)"; the
paper is arXiv 2411.04403) expand *documents* with a masked-LM, like SPLADE,
and weight *queries* with a table shipped beside the model, ``idf.json``
(``{token: weight}``).  The rules, as the card writes them and qdrant/fastembed
0.9.1 applies them (``fastembed/sparse/if_splade.py``; read, not copied):

Documents (``SpladeSpec`` fields ``activation`` and ``drop_special_tokens``)
    ``w[j] = act(max_t logits[t, j] * mask[t])`` with the v3 activation
    ``act(x) = log(1 + log(1 + relu(x)))`` (``activation="log1p_log1p_relu"``;
    v1/v2 models use SPLADE's ``log(1 + relu(x))``), then ``w[j] = 0`` for every
    special token ``j`` (:func:`special_token_ids`).  Masking by multiplying
    with the mask (the card) or by leaving padding out (:mod:`.splade`) is the
    same here: ``relu`` floors both at 0.

Queries (``SpladeSpec.query_idf_file``)
    Tokenise the query (same tokenizer and truncation as documents), take each
    distinct token id once, drop the special tokens, and give each remaining
    id its table weight; ids without a table entry are left out.  So a token
    repeated in a query counts once, and word order does not matter.

Where the sources differ, and what this module does:

* Special tokens in queries: the card keeps ``[CLS]``/``[SEP]`` (weighted if
  idf.json lists them); fastembed drops every special token.  Documents have
  0 in those columns, so no score changes; we drop them, like fastembed.
* Table entries whose token the vocabulary lacks: the card's lookup turns
  them into the ``[UNK]`` id (overwriting its weight); fastembed skips them.
  We skip them ([UNK] is special and dropped anyway).
* Entries whose weight is 0: fastembed stores an explicit ``0.0`` term; we
  leave the term out (the card's dense vector has a 0 there too).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ModelLoadError
from ..results import SPARSE_INDEX_DTYPE, SPARSE_VALUE_DTYPE, SparseVector
from ..text.config import folder_json
from .sparse_common import frozen_vector

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


def special_token_ids(tokenizer: Any, model_dir: Path) -> IntArray:
    """Ids of the special tokens: every added token marked special in ``tokenizer.json``,
    and every token named in ``special_tokens_map.json`` that the vocabulary holds
    (fastembed reads both; the card reads the latter).  Sorted, unique, int64."""
    ids = {index for index, token in tokenizer.get_added_tokens_decoder().items() if token.special}
    for value in folder_json(model_dir, "special_tokens_map.json").values():
        for item in value if isinstance(value, list) else [value]:
            name = item.get("content") if isinstance(item, dict) else item
            index = tokenizer.token_to_id(name) if isinstance(name, str) else None
            if index is not None:
                ids.add(index)
    return np.asarray(sorted(ids), dtype=SPARSE_INDEX_DTYPE)


def idf_table(weights: object, vocab: dict[str, int], where: str) -> FloatArray:
    """``{token: weight}`` -> a dense float32 table over token ids (0 where absent).

    Tokens the vocabulary lacks are skipped; a weight that is not a finite number
    (or a bool) raises :class:`~embed_plugins.errors.ModelLoadError` naming ``where``.
    """
    if not isinstance(weights, dict):
        raise ModelLoadError(f"{where}: expected a JSON object {{token: weight}}")
    table = np.zeros(max(vocab.values(), default=-1) + 1, dtype=np.float32)
    for token, weight in weights.items():
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or not math.isfinite(weight)
        ):
            raise ModelLoadError(f"{where}: the weight of {token!r} is {weight!r}, not a number")
        index = vocab.get(token)
        if index is not None:
            table[index] = weight
    return table


def read_idf_table(path: Path, vocab: dict[str, int]) -> FloatArray:
    """:func:`idf_table` of the JSON file at ``path`` (errors name the file)."""
    try:
        weights = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read the query weights {path}: {exc}") from exc
    return idf_table(weights, vocab, str(path))


def idf_query_vector(
    token_ids: Iterable[int] | IntArray, table: FloatArray, special_ids: IntArray
) -> SparseVector:
    """One query: each distinct non-special token id once, valued by ``table``;
    ids outside the table or with weight 0 are left out."""
    ids = np.unique(np.fromiter(token_ids, dtype=SPARSE_INDEX_DTYPE))
    ids = ids[(ids >= 0) & (ids < table.shape[0])]
    if special_ids.size:
        ids = ids[~np.isin(ids, special_ids)]
    values = table[ids]
    keep = values != 0
    return frozen_vector(ids[keep], values[keep].astype(SPARSE_VALUE_DTYPE))
