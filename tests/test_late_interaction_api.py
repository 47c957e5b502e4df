"""LateInteractionTextEmbedding's public API: ranking, bad input, workers, catalogue, specs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embed_plugins import (
    ColbertSpec,
    DenseSpec,
    InputTypeError,
    LateInteractionTextEmbedding,
    ModelLoadError,
    RerankResult,
    maxsim,
)
from embed_plugins import catalog as catalog_module
from embed_plugins.catalog.late_interaction import LATE_INTERACTION_MODELS

TINY = Path(__file__).resolve().parent / "fixtures" / "models" / "tiny-colbert"
DIM = 16
DOCS = [
    "Late interaction keeps one vector per token.",
    "The quick brown fox jumps over the lazy dog.",
    "Paris is the capital of France.",
    "",
    "What is late interaction? Late interaction!",
]
QUERY = "what is late interaction?"

#: The catalogue, written out: the list must not shrink silently.
CATALOGUE = [
    "colbert-ir/colbertv2.0",
    "answerdotai/answerai-colbert-small-v1",
    "jinaai/jina-colbert-v2",
]


def tiny_spec(**changes: Any) -> ColbertSpec:
    fields: dict[str, Any] = {"model": "test/tiny-colbert", "dim": DIM, "output_name": "output"}
    fields.update(changes)
    return ColbertSpec(**fields)


@pytest.fixture(scope="module")
def model() -> LateInteractionTextEmbedding:
    return LateInteractionTextEmbedding(spec=tiny_spec(), model_path=TINY)


@pytest.fixture
def isolated_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog_module, "_CUSTOM", {})


# -- shapes ------------------------------------------------------------------------------


def test_shapes_and_types(model: LateInteractionTextEmbedding) -> None:
    result = model.embed(DOCS)
    assert isinstance(result, Iterator)
    for vectors in result:
        assert isinstance(vectors, np.ndarray) and vectors.dtype == np.float32
        assert vectors.ndim == 2 and vectors.shape[1] == DIM
    (query,) = model.query_embed(QUERY)  # a bare string is one query
    assert query.shape == (32, DIM)
    assert model.embedding_size == DIM
    assert len(list(model.passage_embed("one passage"))) == 1


def test_empty_query_is_all_mask_augmentation(model: LateInteractionTextEmbedding) -> None:
    (vectors,) = model.query_embed("")
    assert vectors.shape == (32, DIM)  # [CLS] [Q] [SEP] + 29 [MASK], as the reference does
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


# -- rerank and rank ---------------------------------------------------------------------


def test_rerank_yields_maxsim_scores_in_input_order(model: LateInteractionTextEmbedding) -> None:
    scores = model.rerank(QUERY, DOCS)
    assert isinstance(scores, Iterator)
    got = list(scores)
    (query,) = model.query_embed(QUERY)
    want = maxsim(query, list(model.embed(DOCS)))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert all(isinstance(s, float) for s in got)


def test_rank_sorts_and_keeps_indices(model: LateInteractionTextEmbedding) -> None:
    scores = list(model.rerank(QUERY, DOCS))
    results = model.rank(QUERY, DOCS)
    assert [r.index for r in results] == sorted(range(len(DOCS)), key=lambda i: -scores[i])
    assert all(isinstance(r, RerankResult) and r.document is None for r in results)
    assert [r.score for r in results] == pytest.approx(sorted(scores, reverse=True))
    top = model.rank(QUERY, DOCS, top_k=2, return_documents=True)
    assert [r.index for r in top] == [r.index for r in results[:2]]
    assert [r.document for r in top] == [DOCS[r.index] for r in top]
    assert len(model.rank(QUERY, DOCS, top_k=100)) == len(DOCS)


def test_rank_bad_arguments(model: LateInteractionTextEmbedding) -> None:
    for bad in (0, -1):
        with pytest.raises(ValueError, match="top_k"):
            model.rank(QUERY, DOCS, top_k=bad)
    for wrong in (True, 1.5, "2"):
        with pytest.raises(TypeError, match="top_k"):
            model.rank(QUERY, DOCS, top_k=wrong)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rank"):
        model.rerank(QUERY, DOCS, top_k=2)  # rerank keeps input order: points to rank()
    with pytest.raises(TypeError, match="topk"):
        model.rank(QUERY, DOCS, topk=2)


def test_empty_candidates_and_empty_query(model: LateInteractionTextEmbedding) -> None:
    assert model.rank(QUERY, []) == []
    assert list(model.rerank(QUERY, [])) == []
    assert list(model.embed([])) == []
    assert list(model.query_embed([])) == []
    results = model.rank("", DOCS)  # scored like any query, as the cross-encoder does
    assert sorted(r.index for r in results) == list(range(len(DOCS)))


def test_bad_input_is_named(model: LateInteractionTextEmbedding) -> None:
    with pytest.raises(InputTypeError, match="input 1"):
        list(model.embed(["fine", None]))  # type: ignore[list-item]
    with pytest.raises(InputTypeError, match="input 2"):
        list(model.query_embed(["a", "b", 3]))  # type: ignore[list-item]
    with pytest.raises(InputTypeError, match="bytes"):
        model.embed(b"raw bytes")  # type: ignore[arg-type]
    with pytest.raises(InputTypeError):
        model.embed(None)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="query"):
        model.rank(None, DOCS)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="query"):
        model.rerank(b"q", DOCS)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="input 1"):
        model.rank(QUERY, ["a", None])  # type: ignore[list-item]
    with pytest.raises(InputTypeError, match="input 0"):
        model.token_count([7])  # type: ignore[list-item]


def test_one_megabyte_document_is_truncated_quickly(model: LateInteractionTextEmbedding) -> None:
    words = ("late interaction scores every token of the document " * 20_000)[: 1 << 20]
    start = time.perf_counter()
    (big,) = model.embed(words)
    elapsed = time.perf_counter() - start
    (prefix,) = model.embed(words[:2000])
    assert big.shape == prefix.shape and big.shape[0] <= 64
    np.testing.assert_allclose(big, prefix, atol=1e-6)
    assert model.token_count(words) == 64
    assert elapsed < 5.0
    (query,) = model.query_embed(words)  # a 1 MB query is cut to 32 tokens
    assert query.shape == (32, DIM)
    assert len(model.rank(words, [words, "short"])) == 2


def test_unknown_keywords_are_type_errors(model: LateInteractionTextEmbedding) -> None:
    with pytest.raises(TypeError, match="batchsize"):
        list(model.embed(DOCS, batchsize=2))
    with pytest.raises(TypeError, match="is_query"):
        list(model.query_embed(DOCS, is_query=True))
    with pytest.raises(TypeError, match="normalize"):
        model.token_count(DOCS, normalize=True)
    with pytest.raises(TypeError, match="query_length"):
        LateInteractionTextEmbedding(spec=tiny_spec(), model_path=TINY, query_length=16)
    with pytest.raises(ValueError, match="batch_size"):
        list(model.embed(DOCS, batch_size=0))


# -- workers ----------------------------------------------------------------------------


def test_parallel_equals_in_process() -> None:
    texts = [f"{d} number {i}" for i, d in enumerate(DOCS * 6)]
    m = LateInteractionTextEmbedding(spec=tiny_spec(), model_path=TINY, threads=1)
    try:
        local_docs = list(m.embed(texts, batch_size=4))
        local_queries = list(m.query_embed(texts, batch_size=4))
        local_scores = list(m.rerank(QUERY, texts, batch_size=4))
        pooled_docs = list(m.embed(texts, batch_size=4, parallel=2))
        pooled_queries = list(m.query_embed(texts, batch_size=4, parallel=2))
        pooled_scores = list(m.rerank(QUERY, texts, batch_size=4, parallel=2))
    finally:
        m.close()
    for a, b in zip(local_docs, pooled_docs, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-6)
    for a, b in zip(local_queries, pooled_queries, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(local_scores, pooled_scores, rtol=1e-6)


# -- catalogue and specs -----------------------------------------------------------------


def test_catalogue() -> None:
    models = LateInteractionTextEmbedding.list_supported_models()
    assert [m["model"] for m in models[: len(CATALOGUE)]] == CATALOGUE
    for entry in models[: len(CATALOGUE)]:
        assert entry["family"] == "late_interaction"
        assert entry["dim"] > 0 and entry["source"] and entry["license"]
        assert entry["query_length"] == 32
    by_name = {s.model: s for s in LATE_INTERACTION_MODELS}
    assert by_name["colbert-ir/colbertv2.0"].attend_to_mask_tokens is False
    jina = by_name["jinaai/jina-colbert-v2"]
    assert (jina.query_marker, jina.document_marker, jina.mask_token) == (250002, 250003, "<mask>")
    assert jina.attend_to_mask_tokens is True
    assert LateInteractionTextEmbedding.default_model == "colbert-ir/colbertv2.0"


@pytest.mark.usefixtures("isolated_catalog")
def test_custom_model_by_name() -> None:
    spec = tiny_spec(model="custom/tiny-colbert")
    LateInteractionTextEmbedding.add_custom_model(spec)
    assert "custom/tiny-colbert" in [
        m["model"] for m in LateInteractionTextEmbedding.list_supported_models()
    ]
    m = LateInteractionTextEmbedding("custom/tiny-colbert", model_path=TINY)
    assert m.spec == spec
    with pytest.raises(TypeError, match="ColbertSpec"):
        LateInteractionTextEmbedding.add_custom_model(DenseSpec(model="x/y", dim=4))
    with pytest.raises(ValueError, match="built-in"):
        LateInteractionTextEmbedding.add_custom_model(tiny_spec(model="colbert-ir/colbertv2.0"))


def test_markers_as_ids_or_none() -> None:
    by_text = LateInteractionTextEmbedding(spec=tiny_spec(), model_path=TINY)
    by_id = LateInteractionTextEmbedding(
        spec=tiny_spec(query_marker=1, document_marker=2, mask_token=8), model_path=TINY
    )
    for a, b in zip(by_text.embed(DOCS), by_id.embed(DOCS), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(next(by_text.query_embed(QUERY)), next(by_id.query_embed(QUERY)))
    bare = LateInteractionTextEmbedding(
        spec=tiny_spec(query_marker=None, document_marker=None), model_path=TINY
    )
    assert next(bare.embed("")).shape == (2, DIM)  # [CLS] [SEP]
    assert next(bare.query_embed("")).shape == (32, DIM)
    assert bare.token_count("hello") == by_text.token_count("hello") - 1


def test_spec_validation() -> None:
    with pytest.raises(ValueError, match="dim"):
        tiny_spec(dim=0)
    with pytest.raises(ValueError, match="query_length"):
        tiny_spec(query_length=3)
    with pytest.raises(ValueError, match="max_length"):
        tiny_spec(max_length=2)
    with pytest.raises(TypeError, match="query_marker"):
        tiny_spec(query_marker=True)
    with pytest.raises(TypeError, match="skiplist"):
        tiny_spec(skiplist="!?")
    with pytest.raises(TypeError):
        tiny_spec(pooling="mean")  # a dense field: typo-proof specs


def test_model_file_problems_are_load_errors() -> None:
    with pytest.raises(ModelLoadError, match="not in the tokenizer"):
        LateInteractionTextEmbedding(spec=tiny_spec(query_marker="[Q]"), model_path=TINY)
    with pytest.raises(ModelLoadError, match="outside the vocabulary"):
        LateInteractionTextEmbedding(spec=tiny_spec(document_marker=10_000), model_path=TINY)
    with pytest.raises(ModelLoadError, match="positions"):
        LateInteractionTextEmbedding(spec=tiny_spec(query_length=65), model_path=TINY)
    # A dim the graph contradicts is refused when the model loads, not at first use.
    with pytest.raises(ModelLoadError, match=r"dim=32.*width 16"):
        LateInteractionTextEmbedding(spec=tiny_spec(dim=32), model_path=TINY)
    with pytest.raises(ModelLoadError, match="no output"):
        LateInteractionTextEmbedding(
            spec=tiny_spec(output_name="last_hidden_state"), model_path=TINY
        )
