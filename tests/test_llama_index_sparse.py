"""EmbedPluginsSparseEmbedding (LlamaIndex): BaseSparseEmbedding, Qdrant hybrid callables."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.base.embeddings.base_sparse import BaseSparseEmbedding
from pydantic import ValidationError

from embed_plugins import InputTypeError, SparseTextEmbedding
from embed_plugins.hub import MODELS_DIR_ENV
from embed_plugins.integrations.llama_index import (
    EmbedPluginsEmbedding,
    EmbedPluginsSparseEmbedding,
)

TINY_SPLADE = Path(__file__).parent / "fixtures" / "models" / "tiny-splade"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
DOCS = [
    "Paris is the capital and most populous city of France.",
    "The quick brown fox jumps over the lazy dog.",
    "Berlin is the capital of Germany and its largest city.",
    "",
]


@pytest.fixture(scope="module")
def bm25() -> EmbedPluginsSparseEmbedding:
    return EmbedPluginsSparseEmbedding(model_name="Qdrant/bm25")


@pytest.fixture(scope="module")
def splade() -> EmbedPluginsSparseEmbedding:
    return EmbedPluginsSparseEmbedding(model_path=TINY_SPLADE, embed_batch_size=2)


def test_is_a_base_sparse_embedding(splade: EmbedPluginsSparseEmbedding) -> None:
    assert isinstance(splade, BaseSparseEmbedding)
    assert EmbedPluginsSparseEmbedding.class_name() == "EmbedPluginsSparseEmbedding"
    assert splade.model_name == "tiny-splade"
    # BM25 by default, as LangChain's adapter and FastEmbedSparse (not SPLADE++, the
    # default of FastEmbedSparseEmbedding and SparseTextEmbedding).
    assert EmbedPluginsSparseEmbedding.model_fields["model_name"].default == "Qdrant/bm25"
    assert SparseTextEmbedding.default_model != "Qdrant/bm25"


def test_default_model_is_bm25() -> None:
    emb = EmbedPluginsSparseEmbedding()
    assert emb.model_name == "Qdrant/bm25" and emb.requires_idf
    assert emb.get_text_embedding_batch(DOCS) == [
        v.as_dict() for v in SparseTextEmbedding("Qdrant/bm25").embed(DOCS)
    ]


@pytest.mark.parametrize("which", ["bm25", "splade"])
def test_numbers_equal_sparse_text_embedding(which: str, request: pytest.FixtureRequest) -> None:
    emb = request.getfixturevalue(which)
    engine = emb.model
    batch = emb.get_text_embedding_batch(DOCS)
    for got, want in zip(batch, engine.embed(DOCS), strict=True):
        assert got == want.as_dict()
        assert all(type(k) is int and type(v) is float for k, v in got.items())
    assert emb.get_text_embedding(DOCS[0]) == batch[0]
    query = emb.get_query_embedding("capital of France")
    assert query == next(iter(engine.query_embed("capital of France"))).as_dict()


@pytest.mark.parametrize("which", ["bm25", "splade"])
def test_qdrant_callables(which: str, request: pytest.FixtureRequest) -> None:
    emb = request.getfixturevalue(which)
    indices, values = emb.sparse_doc_fn(DOCS)
    assert len(indices) == len(values) == len(DOCS)
    for i, v, want in zip(indices, values, emb.get_text_embedding_batch(DOCS), strict=True):
        assert dict(zip(i, v, strict=True)) == want
    q_indices, q_values = emb.sparse_query_fn(["capital of France"])
    assert dict(zip(q_indices[0], q_values[0], strict=True)) == emb.get_query_embedding(
        "capital of France"
    )
    assert emb.sparse_doc_fn([]) == ([], [])


def test_sparse_vector_params(bm25: EmbedPluginsSparseEmbedding, splade: Any) -> None:
    from qdrant_client.http import models as rest

    assert bm25.requires_idf and bm25.sparse_vector_params().modifier == rest.Modifier.IDF
    assert not splade.requires_idf and splade.sparse_vector_params().modifier is None


def test_unknown_fields_and_bad_options() -> None:
    with pytest.raises(ValidationError, match="modelname"):
        EmbedPluginsSparseEmbedding(modelname="Qdrant/bm25")
    with pytest.raises(TypeError, match="BM42 option"):
        EmbedPluginsSparseEmbedding(model_name="Qdrant/bm25", alpha=0.3)


@pytest.mark.parametrize("texts", [None, "one str", ["ok", 3]])
def test_bad_input(bm25: EmbedPluginsSparseEmbedding, texts: Any) -> None:
    with pytest.raises(InputTypeError):
        bm25.get_text_embedding_batch(texts)
    with pytest.raises(InputTypeError):
        bm25.sparse_doc_fn(texts)
    with pytest.raises(InputTypeError):
        bm25.sparse_query_fn(texts)


def test_bad_query(bm25: EmbedPluginsSparseEmbedding) -> None:
    with pytest.raises(InputTypeError, match="query"):
        bm25.get_query_embedding(None)  # type: ignore[arg-type]


async def test_async(bm25: EmbedPluginsSparseEmbedding, monkeypatch: pytest.MonkeyPatch) -> None:
    assert await bm25.aget_text_embedding_batch(DOCS) == bm25.get_text_embedding_batch(DOCS)
    assert await bm25.aget_query_embedding("fox") == bm25.get_query_embedding("fox")

    loop_thread = threading.get_ident()
    seen: list[int] = []
    real = bm25.model.embed

    def slow(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.get_ident())
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(bm25.model, "embed", slow)
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    await bm25.aget_text_embedding_batch(DOCS)
    done.set()
    await task
    assert ticks >= 10 and seen and seen[0] != loop_thread


def test_qdrant_hybrid_index(
    bm25: EmbedPluginsSparseEmbedding, models_dir: Path, minilm_dir: Path
) -> None:
    qdrant = pytest.importorskip("llama_index.vector_stores.qdrant")
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from qdrant_client import QdrantClient

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MODELS_DIR_ENV, str(models_dir))
        dense = EmbedPluginsEmbedding(model_name=MINILM)
    store = qdrant.QdrantVectorStore(
        "hybrid",
        client=QdrantClient(location=":memory:"),
        enable_hybrid=True,
        sparse_doc_fn=bm25.sparse_doc_fn,
        sparse_query_fn=bm25.sparse_query_fn,
        sparse_config=bm25.sparse_vector_params(),
    )
    index = VectorStoreIndex.from_documents(
        [Document(text=t) for t in DOCS[:3]],
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=dense,
    )
    retriever = index.as_retriever(
        similarity_top_k=2, sparse_top_k=2, vector_store_query_mode="hybrid"
    )
    nodes = retriever.retrieve("capital of Germany")
    assert nodes[0].node.get_content().startswith("Berlin")
