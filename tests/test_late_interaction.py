"""ColBERT on the tiny fixture: parity with a PyTorch reference, MaxSim, the pure functions.

The reference (``tests/fixtures/reference/tiny-colbert-conventions.*``, built by
``tests/fixtures/_build_colbert_refs.py``) implements the ColBERTv2 conventions
in PyTorch with stanford-futuredata/ColBERT's tokenisation mechanism; here the
same texts go through the ONNX graph and our numpy code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embed_plugins import ColbertSpec, LateInteractionTextEmbedding, RerankResult, maxsim
from embed_plugins.families.late_interaction import (
    LateInteractionPipeline,
    document_keep_mask,
    expand_queries,
    insert_marker,
    normalize_tokens,
    rerank_maxsim,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY = FIXTURES / "models" / "tiny-colbert"
REF = np.load(FIXTURES / "reference" / "tiny-colbert-conventions.npz")
META: dict[str, Any] = json.loads(
    (FIXTURES / "reference" / "tiny-colbert-conventions.json").read_text(encoding="utf-8")
)
QUERIES: list[str] = META["queries"]
DOCUMENTS: list[str] = META["documents"]
ATOL = 1e-5
DIM = 16


def tiny_spec(**changes: Any) -> ColbertSpec:
    fields: dict[str, Any] = {"model": "test/tiny-colbert", "dim": DIM, "output_name": "output"}
    fields.update(changes)
    return ColbertSpec(**fields)


@pytest.fixture(scope="module")
def model() -> LateInteractionTextEmbedding:
    return LateInteractionTextEmbedding(spec=tiny_spec(), model_path=TINY)


def pipeline_of(m: LateInteractionTextEmbedding) -> LateInteractionPipeline:
    pipeline = m._runner.pipeline()
    assert isinstance(pipeline, LateInteractionPipeline)
    return pipeline


def ref_docs(maxlen: int) -> list[np.ndarray]:
    vectors, counts = REF[f"doc_vectors_{maxlen}"], REF[f"doc_vector_counts_{maxlen}"]
    return [vectors[i, : counts[i]] for i in range(len(DOCUMENTS))]


# -- parity with the PyTorch reference ------------------------------------------------------


def test_query_ids_and_mask_match_the_reference(model: LateInteractionTextEmbedding) -> None:
    pipeline = pipeline_of(model)
    feeds = pipeline.feeds(pipeline.encode(QUERIES, "query"), "query")
    np.testing.assert_array_equal(feeds["input_ids"], REF["query_input_ids"])
    np.testing.assert_array_equal(feeds["attention_mask"], REF["query_attention_mask"])


@pytest.mark.parametrize("maxlen", [64, 20])
def test_document_ids_and_mask_match_the_reference(maxlen: int) -> None:
    m = LateInteractionTextEmbedding(spec=tiny_spec(max_length=maxlen), model_path=TINY)
    pipeline = pipeline_of(m)
    feeds = pipeline.feeds(pipeline.encode(DOCUMENTS, "document"), "document")
    np.testing.assert_array_equal(feeds["input_ids"], REF[f"doc_input_ids_{maxlen}"])
    np.testing.assert_array_equal(feeds["attention_mask"], REF[f"doc_attention_mask_{maxlen}"])
    keep = document_keep_mask(feeds["input_ids"], feeds["attention_mask"], pipeline.skip_ids)
    np.testing.assert_array_equal(keep, REF[f"doc_keep_{maxlen}"].astype(bool))


def test_query_vectors_match_the_reference(model: LateInteractionTextEmbedding) -> None:
    got = list(model.query_embed(QUERIES))
    assert len(got) == len(QUERIES)
    for i, vectors in enumerate(got):
        assert vectors.shape == (32, DIM) and vectors.dtype == np.float32
        np.testing.assert_allclose(vectors, REF["query_vectors"][i], atol=ATOL, err_msg=f"q{i}")


def test_attended_mask_tokens_match_the_reference() -> None:
    m = LateInteractionTextEmbedding(spec=tiny_spec(attend_to_mask_tokens=True), model_path=TINY)
    pipeline = pipeline_of(m)
    feeds = pipeline.feeds(pipeline.encode(QUERIES, "query"), "query")
    np.testing.assert_array_equal(feeds["attention_mask"], REF["query_attention_mask_attend"])
    for i, vectors in enumerate(m.query_embed(QUERIES)):
        np.testing.assert_allclose(vectors, REF["query_vectors_attend"][i], atol=ATOL)
    # Attending to the [MASK] padding changes the vectors of short queries.
    assert not np.allclose(REF["query_vectors_attend"][1], REF["query_vectors"][1], atol=1e-3)


def test_document_vectors_match_the_reference(model: LateInteractionTextEmbedding) -> None:
    want = ref_docs(64)
    for name, result in (("embed", model.embed), ("passage_embed", model.passage_embed)):
        got = list(result(DOCUMENTS))
        assert len(got) == len(DOCUMENTS)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert g.dtype == np.float32
            assert g.shape == w.shape, f"{name} doc {i}: {g.shape} != {w.shape}"
            np.testing.assert_allclose(g, w, atol=ATOL, err_msg=f"{name} doc {i}")


def test_short_document_length_matches_the_reference() -> None:
    want = ref_docs(20)
    for m in (
        LateInteractionTextEmbedding(spec=tiny_spec(), model_path=TINY, max_length=20),
        LateInteractionTextEmbedding(spec=tiny_spec(max_length=20), model_path=TINY),
    ):
        for g, w in zip(m.embed(DOCUMENTS), want, strict=True):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, atol=ATOL)


def test_conventions_visible_in_the_output(model: LateInteractionTextEmbedding) -> None:
    vectors = list(model.embed(["", "?!.,", "hello, world!"]))
    assert [v.shape[0] for v in vectors] == [3, 3, 5]  # [CLS] [D] (text) [SEP]; punctuation gone
    for v in vectors:
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_token_counts_as_the_reference_counts_them(model: LateInteractionTextEmbedding) -> None:
    for i, doc in enumerate(DOCUMENTS):
        assert model.token_count(doc) == REF["doc_token_counts_64"][i], doc
    assert model.token_count(DOCUMENTS) == int(REF["doc_token_counts_64"].sum())
    for i, query in enumerate(QUERIES):
        assert model.token_count(query, is_doc=False) == REF["query_token_counts"][i], query
        assert model.token_count(query, is_doc=False, include_extension=True) == 32
    assert [len(v) for v in model.embed(DOCUMENTS)] == REF["doc_vector_counts_64"].tolist()


def test_reference_maxsim_scores(model: LateInteractionTextEmbedding) -> None:
    docs = list(model.embed(DOCUMENTS))
    for i, query in enumerate(model.query_embed(QUERIES)):
        np.testing.assert_allclose(maxsim(query, docs), REF["scores"][i], rtol=1e-6, atol=1e-5)


def test_fused_graph_keeps_parity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """optimize=True (onnxruntime's transformer fusions) stays within 1e-5 of the reference."""
    pytest.importorskip("onnx")
    monkeypatch.setenv("EMBED_PLUGINS_CACHE_DIR", str(tmp_path))
    m = LateInteractionTextEmbedding(spec=tiny_spec(), model_path=TINY, optimize=True)
    for g, w in zip(m.embed(DOCUMENTS), ref_docs(64), strict=True):
        np.testing.assert_allclose(g, w, atol=ATOL)
    for i, q in enumerate(m.query_embed(QUERIES)):
        np.testing.assert_allclose(q, REF["query_vectors"][i], atol=ATOL)


# -- batching ----------------------------------------------------------------------------


def test_batched_queries_equal_one_at_a_time(model: LateInteractionTextEmbedding) -> None:
    batched = list(model.query_embed(QUERIES, batch_size=64))
    one_by_one = [next(model.query_embed(q)) for q in QUERIES]
    small = list(model.query_embed(QUERIES, batch_size=2))
    for b, o, s in zip(batched, one_by_one, small, strict=True):
        np.testing.assert_allclose(b, o, atol=1e-6)
        np.testing.assert_allclose(s, o, atol=1e-6)


def test_batched_documents_equal_one_at_a_time(model: LateInteractionTextEmbedding) -> None:
    batched = list(model.embed(DOCUMENTS, batch_size=4))
    for doc, b in zip(DOCUMENTS, batched, strict=True):
        (alone,) = model.embed(doc)
        assert alone.shape == b.shape
        np.testing.assert_allclose(alone, b, atol=1e-6)


# -- MaxSim ------------------------------------------------------------------------------


def brute_force(query: np.ndarray, docs: list[np.ndarray]) -> np.ndarray:
    scores = []
    for d in docs:
        total = 0.0
        for q in query:
            total += max((float(q @ t) for t in d), default=0.0) if len(d) else 0.0
        scores.append(total)
    return np.array(scores, dtype=np.float32)


@pytest.mark.parametrize("chunk", [1 << 22, 40, 1])
def test_maxsim_equals_a_brute_force_loop(chunk: int) -> None:
    rng = np.random.default_rng(0)
    query = normalize_tokens(rng.standard_normal((7, 8)).astype(np.float32))
    lengths = [5, 1, 0, 13, 2, 0, 30]
    docs = [normalize_tokens(rng.standard_normal((n, 8)).astype(np.float32)) for n in lengths]
    got = maxsim(query, docs, chunk_elements=chunk)
    assert got.dtype == np.float32 and got.shape == (len(docs),)
    np.testing.assert_allclose(got, brute_force(query, docs), atol=1e-5)
    assert got[2] == 0.0 and got[5] == 0.0  # documents without tokens


def test_maxsim_edge_cases() -> None:
    q = np.eye(3, dtype=np.float32)
    assert maxsim(q, []).shape == (0,)
    np.testing.assert_allclose(maxsim(q, [np.eye(3)]), [3.0])
    np.testing.assert_allclose(maxsim(q, [q[:1]]), [1.0])  # only token 0 matches
    with pytest.raises(ValueError, match="dimension"):
        maxsim(q, [np.ones((2, 4))])
    with pytest.raises(ValueError, match="2-D"):
        maxsim(np.ones(3), [q])
    with pytest.raises(ValueError, match="document 1"):
        maxsim(q, [q, np.ones(3)])


def test_rerank_maxsim_orders_and_cuts() -> None:
    q = np.eye(2, dtype=np.float32)
    docs = [q[:1], q, np.zeros((1, 2), np.float32), q[1:]]  # scores 1, 2, 0, 1
    results = rerank_maxsim(q, docs)
    assert [r.index for r in results] == [1, 0, 3, 2]  # ties keep input order
    assert all(isinstance(r, RerankResult) and r.document is None for r in results)
    assert [r.score for r in results] == pytest.approx([2.0, 1.0, 1.0, 0.0])
    assert [r.index for r in rerank_maxsim(q, docs, top_k=2)] == [1, 0]
    assert len(rerank_maxsim(q, docs, top_k=10)) == 4
    for bad in (0, -1):
        with pytest.raises(ValueError, match="top_k"):
            rerank_maxsim(q, docs, top_k=bad)
    with pytest.raises(TypeError, match="top_k"):
        rerank_maxsim(q, docs, top_k=True)


# -- pure functions ----------------------------------------------------------------------


def test_insert_marker_and_expand_queries() -> None:
    ids = np.array([[6, 50, 7, 0], [6, 51, 52, 7]], dtype=np.int64)
    mask = (ids != 0).astype(np.int64)
    with_marker = insert_marker(ids, 1)
    np.testing.assert_array_equal(with_marker, [[6, 1, 50, 7, 0], [6, 1, 51, 52, 7]])
    np.testing.assert_array_equal(insert_marker(mask, 1), [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    q_ids, q_mask = expand_queries(with_marker, insert_marker(mask, 1), 7, 8, attend=False)
    np.testing.assert_array_equal(q_ids, [[6, 1, 50, 7, 8, 8, 8], [6, 1, 51, 52, 7, 8, 8]])
    np.testing.assert_array_equal(q_mask, [[1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0]])
    _, attended = expand_queries(with_marker, insert_marker(mask, 1), 7, 8, attend=True)
    assert attended.min() == 1
    with pytest.raises(ValueError, match="exceed"):
        expand_queries(with_marker, mask, 3, 8, attend=False)


def test_document_keep_mask_and_normalize() -> None:
    ids = np.array([[6, 2, 9, 50, 7, 0]], dtype=np.int64)
    mask = np.array([[1, 1, 1, 1, 1, 0]], dtype=np.int64)
    keep = document_keep_mask(ids, mask, np.array([9, 10], dtype=np.int64))
    np.testing.assert_array_equal(keep, [[True, True, False, True, True, False]])
    x = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(normalize_tokens(x), [[0.6, 0.8], [0.0, 0.0]])
