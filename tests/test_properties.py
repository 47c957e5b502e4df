"""Property-based tests: arbitrary Unicode through every text family, on the tiny fixtures.

For any text (any code points: lone surrogates, control characters, emoji, RTL, combining
marks, NUL, very long runs), every text family returns a well-formed result without
raising, and the result does not depend on the rest of its batch.  Hypothesis draws the
texts; the examples per property are bounded so the suite stays fast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embed_plugins import (
    Bm42Spec,
    ColbertSpec,
    LateInteractionTextEmbedding,
    SparseTextEmbedding,
    SparseVector,
    SpladeSpec,
    TextCrossEncoder,
    TextEmbedding,
)

MODELS = Path(__file__).parent / "fixtures" / "models"
EXAMPLES = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
#: Any code point (surrogates included), with short and long texts.
TEXT = st.text(st.characters(codec=None), max_size=300)
BATCH = st.lists(TEXT, min_size=1, max_size=6)


@pytest.fixture(scope="module")
def dense() -> TextEmbedding:
    return TextEmbedding(model_path=MODELS / "tiny-bert")


@pytest.fixture(scope="module")
def bm25() -> SparseTextEmbedding:
    return SparseTextEmbedding("Qdrant/bm25")


@pytest.fixture(scope="module")
def splade() -> SparseTextEmbedding:
    return SparseTextEmbedding(
        spec=SpladeSpec(model="tiny-splade"), model_path=MODELS / "tiny-splade"
    )


@pytest.fixture(scope="module")
def bm42() -> SparseTextEmbedding:
    spec = Bm42Spec(model="tiny-bert-attentions", output_name="attention_2")
    return SparseTextEmbedding(spec=spec, model_path=MODELS / "tiny-bert-attentions")


@pytest.fixture(scope="module")
def colbert() -> LateInteractionTextEmbedding:
    spec = ColbertSpec(model="tiny-colbert", dim=16, query_length=12)
    return LateInteractionTextEmbedding(spec=spec, model_path=MODELS / "tiny-colbert")


@pytest.fixture(scope="module")
def cross_encoder() -> TextCrossEncoder:
    return TextCrossEncoder(model_path=MODELS / "tiny-cross-encoder")


def well_formed_sparse(vector: SparseVector) -> None:
    assert vector.indices.dtype == np.int64 and vector.values.dtype == np.float32
    assert vector.indices.shape == vector.values.shape
    assert np.all(np.diff(vector.indices) > 0)  # sorted, unique
    assert np.all(np.isfinite(vector.values)) and np.all(vector.values > 0)


@EXAMPLES
@given(texts=BATCH)
def test_dense_any_text(dense: TextEmbedding, texts: list[str]) -> None:
    batch = list(dense.embed(texts, batch_size=4))
    assert len(batch) == len(texts)
    for text, vector in zip(texts, batch, strict=True):
        assert vector.shape == (32,) and vector.dtype == np.float32
        assert np.isfinite(vector).all()
        np.testing.assert_allclose(vector, next(dense.embed([text])), atol=1e-5)


@pytest.mark.parametrize("family", ["bm25", "splade", "bm42"])
@EXAMPLES
@given(texts=BATCH)
def test_sparse_any_text(request: pytest.FixtureRequest, family: str, texts: list[str]) -> None:
    model: SparseTextEmbedding = request.getfixturevalue(family)
    batch = list(model.embed(texts, batch_size=4))
    assert len(batch) == len(texts)
    for text, vector in zip(texts, batch, strict=True):
        well_formed_sparse(vector)
        (alone,) = model.embed([text])
        np.testing.assert_array_equal(vector.indices, alone.indices)
        np.testing.assert_allclose(vector.values, alone.values, atol=1e-5)
    for query in model.query_embed(texts):
        well_formed_sparse(query)


@EXAMPLES
@given(texts=BATCH)
def test_colbert_any_text(colbert: LateInteractionTextEmbedding, texts: list[str]) -> None:
    docs = list(colbert.embed(texts, batch_size=4))
    queries = list(colbert.query_embed(texts, batch_size=4))
    for text, doc, query in zip(texts, docs, queries, strict=True):
        assert doc.ndim == 2 and doc.shape[1] == 16 and doc.shape[0] >= 3  # [CLS], marker, [SEP]
        assert query.shape == (12, 16)
        assert np.isfinite(doc).all() and np.isfinite(query).all()
        np.testing.assert_allclose(np.linalg.norm(doc, axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(doc, next(colbert.embed([text])), atol=1e-5)


@EXAMPLES
@given(query=TEXT, docs=BATCH)
def test_cross_encoder_any_text(
    cross_encoder: TextCrossEncoder, query: str, docs: list[str]
) -> None:
    scores = list(cross_encoder.rerank(query, docs, batch_size=4))
    assert len(scores) == len(docs) and all(np.isfinite(scores))
    for doc, score in zip(docs, scores, strict=True):
        (alone,) = cross_encoder.rerank(query, [doc])
        assert abs(alone - score) < 1e-5
    ranked = cross_encoder.rank(query, docs)
    assert sorted(r.index for r in ranked) == list(range(len(docs)))
