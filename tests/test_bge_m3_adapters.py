"""BGE-M3 in LangChain and LlamaIndex: dense, sparse (Qdrant hybrid) and ColBERT rerank.

Numbers are checked against the PyTorch reference of ``tests/test_bge_m3.py``; the
shared-model adapters must run the encoder once for a batch both sides of a hybrid
Qdrant store ask for.
"""

from __future__ import annotations

import copy
import json
import pickle
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embed_plugins import catalog
from embed_plugins.hub import MODELS_DIR_ENV

pytest.importorskip("langchain_core")
pytest.importorskip("llama_index.core")

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY = FIXTURES / "models" / "tiny-bge-m3"
REF = np.load(FIXTURES / "reference" / "tiny-bge-m3.npz")
TEXTS: list[str] = json.loads((FIXTURES / "reference" / "tiny-bge-m3.json").read_text())["texts"]
DOCS = TEXTS[:5]
ATOL = 1e-5
NAME = "BAAI/bge-m3"


def spec(family: str, **dims: int) -> Any:
    found = catalog.find(family, NAME)
    assert found is not None
    return found.replace(**dims)


def full() -> Any:
    return spec("bge_m3", dim=32, colbert_dim=16)


def lexical(i: int) -> dict[int, float]:
    row = REF["lexical_weights"][i]
    return {int(j): float(row[j]) for j in np.flatnonzero(row)}


def colbert(i: int) -> np.ndarray:
    return np.asarray(REF["colbert"][i, : REF["colbert_counts"][i]])


def maxsim_order(query: int, docs: list[int]) -> list[int]:
    scores = [float((colbert(query) @ colbert(d).T).max(axis=1).sum()) for d in docs]
    return [docs[i] for i in np.argsort(scores, kind="stable")[::-1]]


def assert_sparse(indices: list[int], values: list[float], i: int) -> None:
    want = lexical(i)
    assert indices == sorted(want)
    np.testing.assert_allclose(values, [want[j] for j in indices], atol=ATOL)


# -- LangChain --------------------------------------------------------------------------------


@pytest.fixture()
def lc() -> Any:
    from embed_plugins.integrations.langchain import EmbedPluginsBgeM3Embeddings

    return EmbedPluginsBgeM3Embeddings(spec=full(), model_path=str(TINY))


def test_langchain_dense_sparse_and_one_pass(lc: Any) -> None:
    np.testing.assert_allclose(lc.embed_documents(DOCS), REF["dense"][:5], atol=ATOL)
    sparse = lc.sparse_embeddings()
    vectors = sparse.embed_documents(DOCS)
    for i, v in enumerate(vectors):
        assert_sparse(v.indices, v.values, i)
    assert lc.shared.passes == 1  # the sparse side was served from the dense pass
    np.testing.assert_allclose(lc.embed_query(TEXTS[2]), REF["dense"][2], atol=ATOL)
    assert_sparse(sparse.embed_query(TEXTS[2]).indices, sparse.embed_query(TEXTS[2]).values, 2)


def test_langchain_cache_size_zero_runs_each_side(lc: Any) -> None:
    from embed_plugins.integrations.langchain import EmbedPluginsBgeM3Embeddings

    plain = EmbedPluginsBgeM3Embeddings(spec=full(), model_path=str(TINY), cache_size=0)
    plain.embed_documents(DOCS)
    plain.sparse_embeddings().embed_documents(DOCS)
    assert plain.shared.passes == 2


def test_langchain_qdrant_hybrid_store(lc: Any) -> None:
    qdrant = pytest.importorskip("langchain_qdrant")
    store = qdrant.QdrantVectorStore.from_texts(
        DOCS,
        embedding=lc,
        sparse_embedding=lc.sparse_embeddings(),
        retrieval_mode=qdrant.RetrievalMode.HYBRID,
        location=":memory:",
        collection_name="m3",
    )
    assert lc.shared.passes == 2  # the store's size probe, then dense + sparse of DOCS
    assert store.similarity_search(DOCS[3], k=1)[0].page_content == DOCS[3]
    assert lc.shared.passes == 2  # a text embedded already is not encoded again
    assert len(store.similarity_search(TEXTS[7], k=2)) == 2
    assert lc.shared.passes == 3  # dense and sparse query vectors: one pass


def test_langchain_reranker_ranks_by_maxsim(lc: Any) -> None:
    from langchain_core.documents import Document

    reranker = lc.reranker(top_n=3)
    out = reranker.compress_documents([Document(page_content=t) for t in DOCS], TEXTS[2])
    want = maxsim_order(2, list(range(5)))[:3]
    assert [DOCS.index(d.page_content) for d in out] == want
    with pytest.raises(ValueError, match="uses the model of its source"):
        type(reranker)(source=lc, threads=2)


def test_langchain_copies_rebuild_the_model(lc: Any) -> None:
    sparse = pickle.loads(pickle.dumps(lc.sparse_embeddings()))
    assert sparse.source is not lc and sparse.source.model is not lc.model
    assert_sparse(*_lc_pair(sparse.embed_query(TEXTS[1])), 1)
    reranker = copy.deepcopy(lc.reranker(top_n=1))
    assert reranker.source.model is not lc.model


def _lc_pair(vector: Any) -> tuple[list[int], list[float]]:
    return vector.indices, vector.values


def test_langchain_single_output_classes_take_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_core.documents import Document

    from embed_plugins.integrations.langchain import (
        EmbedPluginsColbertRerank,
        EmbedPluginsEmbeddings,
        EmbedPluginsSparseEmbeddings,
    )

    shutil.copytree(TINY, tmp_path / NAME)
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    sparse = EmbedPluginsSparseEmbeddings(model_name=NAME)
    assert sparse.sparse_vector_params() == {}  # learned weights: no IDF modifier
    assert_sparse(*_lc_pair(sparse.embed_documents(DOCS)[4]), 4)
    dense = EmbedPluginsEmbeddings(model_name=NAME, spec=spec("dense", dim=32))
    np.testing.assert_allclose(dense.embed_documents(DOCS), REF["dense"][:5], atol=ATOL)
    rerank = EmbedPluginsColbertRerank(model_name=NAME, spec=spec("late_interaction", dim=16))
    out = rerank.compress_documents([Document(page_content=t) for t in DOCS], TEXTS[2])
    assert [DOCS.index(d.page_content) for d in out] == maxsim_order(2, list(range(5)))[:3]


# -- LlamaIndex -------------------------------------------------------------------------------


@pytest.fixture()
def li() -> Any:
    from embed_plugins.integrations.llama_index import EmbedPluginsBgeM3Embedding

    return EmbedPluginsBgeM3Embedding(spec=full(), model_path=str(TINY))


def test_llama_index_dense_and_qdrant_callables(li: Any) -> None:
    dense = li.get_text_embedding_batch(DOCS)
    np.testing.assert_allclose(dense, REF["dense"][:5], atol=ATOL)
    indices, values = li.sparse_doc_fn(DOCS[::-1])  # another order: served per text
    for k, (idx, val) in enumerate(zip(indices, values, strict=True)):
        assert_sparse(idx, val, 4 - k)
    assert li.shared.passes == 1
    (q_idx,), (q_val,) = li.sparse_query_fn([TEXTS[2]])
    assert_sparse(q_idx, q_val, 2)


def test_llama_index_hybrid_index_and_reranker(li: Any) -> None:
    pytest.importorskip("llama_index.vector_stores.qdrant")
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.schema import NodeWithScore, TextNode
    from llama_index.vector_stores.qdrant import QdrantVectorStore
    from qdrant_client import QdrantClient

    store = QdrantVectorStore(
        "m3",
        client=QdrantClient(location=":memory:"),
        enable_hybrid=True,
        sparse_doc_fn=li.sparse_doc_fn,
        sparse_query_fn=li.sparse_query_fn,
    )
    index = VectorStoreIndex.from_documents(
        [Document(text=t) for t in DOCS[:4]],
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=li,
    )
    assert li.shared.passes == 1  # the sparse side of the index came from the dense pass
    retriever = index.as_retriever(
        similarity_top_k=1, sparse_top_k=1, vector_store_query_mode="hybrid"
    )
    assert retriever.retrieve(DOCS[3])[0].node.get_content() == DOCS[3]
    reranker = li.reranker(top_n=2)
    nodes = [NodeWithScore(node=TextNode(text=t), score=0.0) for t in DOCS]
    out = reranker.postprocess_nodes(nodes, query_str=TEXTS[2])
    assert [DOCS.index(n.node.get_content()) for n in out] == maxsim_order(2, list(range(5)))[:2]
    assert pickle.loads(pickle.dumps(reranker)).source.model is not li.model


def test_llama_index_bad_input(li: Any) -> None:
    from embed_plugins.errors import InputTypeError

    with pytest.raises(InputTypeError):
        li.sparse_doc_fn("one string")
    with pytest.raises(ValueError, match="uses the model of its source"):
        type(li.reranker())(source=li, parallel=2)
