"""Hybrid search in a real (embedded, in-process) Qdrant: dense MiniLM + BM25 with IDF.

Documents and queries are embedded with embed_plugins; qdrant-client's local mode
stores them and fuses the dense and sparse result lists with reciprocal rank fusion.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from embed_plugins import SparseTextEmbedding, SparseVector, TextEmbedding

qdrant_client = pytest.importorskip("qdrant_client")
from qdrant_client import QdrantClient, models  # noqa: E402

Collection = tuple[QdrantClient, SparseTextEmbedding, list[SparseVector]]

DOCUMENTS = [
    "The Eiffel Tower is a wrought-iron lattice tower in Paris, France.",
    "Photosynthesis converts light energy into chemical energy in plants.",
    "The mitochondria is the powerhouse of the cell.",
    "Qdrant is a vector database written in Rust for similarity search.",
    "BM25 ranks documents by term frequency, document length and inverse document frequency.",
    "The Great Wall of China stretches thousands of kilometres across northern China.",
    "Espresso is brewed by forcing hot water through finely ground coffee.",
    "Sparse retrieval with SPLADE expands documents with related vocabulary terms.",
]


def _qdrant_sparse(vec: SparseVector) -> models.SparseVector:
    return models.SparseVector(indices=vec.indices.tolist(), values=vec.values.tolist())


@pytest.fixture(scope="module")
def collection(
    minilm: TextEmbedding, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Collection]:
    bm25 = SparseTextEmbedding("Qdrant/bm25")
    client = QdrantClient(path=str(tmp_path_factory.mktemp("qdrant")))
    client.create_collection(
        "docs",
        vectors_config={"dense": models.VectorParams(size=384, distance=models.Distance.COSINE)},
        sparse_vectors_config={"bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )
    dense = list(minilm.passage_embed(DOCUMENTS))
    sparse = list(bm25.embed(DOCUMENTS))
    client.upsert(
        "docs",
        points=[
            models.PointStruct(
                id=i,
                vector={"dense": d.tolist(), "bm25": _qdrant_sparse(s)},
                payload={"text": text},
            )
            for i, (text, d, s) in enumerate(zip(DOCUMENTS, dense, sparse, strict=True))
        ],
    )
    yield client, bm25, sparse
    client.close()


def _hybrid(
    client: QdrantClient, minilm: TextEmbedding, bm25: SparseTextEmbedding, query: str
) -> list[models.ScoredPoint]:
    dense_q = next(iter(minilm.query_embed(query)))
    sparse_q = next(iter(bm25.query_embed(query)))
    return client.query_points(
        "docs",
        prefetch=[
            models.Prefetch(query=dense_q.tolist(), using="dense", limit=5),
            models.Prefetch(query=_qdrant_sparse(sparse_q), using="bm25", limit=5),
        ],
        query=models.FusionQuery(fusion=models.Fusion.RRF),
        limit=3,
        with_payload=True,
    ).points


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("which database is written in Rust?", 3),
        ("tower in Paris", 0),
        ("how is espresso coffee brewed", 6),
        ("inverse document frequency ranking", 4),
    ],
)
def test_hybrid_rrf_puts_the_expected_document_first(
    collection: Collection, minilm: TextEmbedding, query: str, expected: int
) -> None:
    client, bm25, _ = collection
    points = _hybrid(client, minilm, bm25, query)
    assert points[0].id == expected, [(p.id, p.score) for p in points]
    assert points[0].payload == {"text": DOCUMENTS[expected]}


def test_sparse_scores_are_bm25_with_qdrant_idf(collection: Collection) -> None:
    """Qdrant's IDF modifier turns our term weights into BM25: score = sum idf(t) * w(t, d)."""
    client, bm25, doc_vectors = collection
    query = "document frequency of terms in documents"
    sparse_q = next(iter(bm25.query_embed(query)))
    hits = client.query_points(
        "docs", query=_qdrant_sparse(sparse_q), using="bm25", limit=len(DOCUMENTS)
    ).points
    assert hits and hits[0].id == 4
    n_docs = len(DOCUMENTS)
    for hit in hits:
        assert isinstance(hit.id, int)
        doc = doc_vectors[hit.id].as_dict()
        expected = 0.0
        for term in sparse_q.indices.tolist():
            if term in doc:
                df = sum(term in v.as_dict() for v in doc_vectors)
                idf = math.log((n_docs - df + 0.5) / (df + 0.5) + 1.0)  # Qdrant's IDF
                expected += idf * doc[term]
        assert hit.score == pytest.approx(expected, rel=1e-4)


def test_in_memory_client_and_dense_vectors_round_trip(minilm: TextEmbedding) -> None:
    client = QdrantClient(":memory:")
    client.create_collection(
        "one", vectors_config=models.VectorParams(size=384, distance=models.Distance.COSINE)
    )
    vec = next(iter(minilm.embed("hello world")))
    client.upsert("one", points=[models.PointStruct(id=1, vector=vec.tolist())])
    (hit,) = client.query_points("one", query=vec.tolist(), limit=1).points
    assert hit.score == pytest.approx(float(np.dot(vec, vec)), abs=1e-5)
    client.close()
