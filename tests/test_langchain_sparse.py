"""EmbedPluginsSparseEmbeddings (langchain_qdrant.SparseEmbeddings): BM25, SPLADE, hybrid Qdrant."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain_qdrant")

from langchain_qdrant import QdrantVectorStore, RetrievalMode
from langchain_qdrant.sparse_embeddings import SparseEmbeddings, SparseVector
from pydantic import ValidationError

from embed_plugins import InputTypeError, SparseTextEmbedding
from embed_plugins.hub import MODELS_DIR_ENV
from embed_plugins.integrations.langchain import (
    EmbedPluginsEmbeddings,
    EmbedPluginsSparseEmbeddings,
)

FIXTURES = Path(__file__).parent / "fixtures" / "models"
TINY_SPLADE = FIXTURES / "tiny-splade"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
DOCS = [
    "Paris is the capital and most populous city of France.",
    "The quick brown fox jumps over the lazy dog.",
    "Berlin is the capital of Germany and its largest city.",
    "",
]


@pytest.fixture(scope="module")
def bm25() -> EmbedPluginsSparseEmbeddings:
    return EmbedPluginsSparseEmbeddings()


def test_is_a_qdrant_sparse_embeddings(bm25: EmbedPluginsSparseEmbeddings) -> None:
    assert isinstance(bm25, SparseEmbeddings)
    # FastEmbedSparse's default model.
    assert bm25.model_name == "Qdrant/bm25"
    assert bm25.requires_idf


def test_bm25_numbers_equal_sparse_text_embedding(bm25: EmbedPluginsSparseEmbeddings) -> None:
    engine = SparseTextEmbedding("Qdrant/bm25")
    got = bm25.embed_documents(DOCS)
    for vector, want in zip(got, engine.embed(DOCS), strict=True):
        assert isinstance(vector, SparseVector)
        assert vector.indices == want.indices.tolist()
        assert vector.values == want.values.tolist()
    query = bm25.embed_query("capital of France")
    want_q = next(iter(engine.query_embed("capital of France")))
    assert query.indices == want_q.indices.tolist()
    assert query.values == [1.0] * len(query.indices)


def test_plain_python_numbers(bm25: EmbedPluginsSparseEmbeddings) -> None:
    vector = bm25.embed_documents(DOCS[:1])[0]
    assert vector.indices and all(type(i) is int for i in vector.indices)
    assert all(type(v) is float for v in vector.values)


def test_splade_from_a_folder() -> None:
    emb = EmbedPluginsSparseEmbeddings(model_path=TINY_SPLADE)
    assert emb.model_name == "tiny-splade"
    assert not emb.requires_idf
    assert emb.sparse_vector_params() == {}
    engine = SparseTextEmbedding(model_path=TINY_SPLADE)
    got = emb.embed_documents(DOCS[:2])
    for vector, want in zip(got, engine.embed(DOCS[:2]), strict=True):
        assert vector.indices == want.indices.tolist()
        assert vector.values == pytest.approx(want.values.tolist())


def test_bm25_options_pass_through() -> None:
    default = EmbedPluginsSparseEmbeddings().embed_documents(DOCS[:1])[0]
    tuned = EmbedPluginsSparseEmbeddings(k=2.0, b=0.1, avg_len=10.0).embed_documents(DOCS[:1])[0]
    assert tuned.indices == default.indices
    assert tuned.values != default.values
    german = EmbedPluginsSparseEmbeddings(language="german")
    assert german.model.spec.language == "german"


def test_options_that_do_not_fit_the_model_are_refused() -> None:
    with pytest.raises(TypeError, match="'k' is a BM25 option"):
        EmbedPluginsSparseEmbeddings(model_path=TINY_SPLADE, k=1.0)


def test_fastembed_sparse_names_are_accepted() -> None:
    """langchain_qdrant.FastEmbedSparse's constructor names exist here."""
    names = {"model_name", "batch_size", "cache_dir", "threads", "providers", "parallel"}
    assert names <= set(EmbedPluginsSparseEmbeddings.model_fields)
    emb = EmbedPluginsSparseEmbeddings(
        model_name="Qdrant/bm25", batch_size=2, cache_dir=None, threads=1, parallel=None
    )
    assert len(emb.embed_documents(DOCS)) == len(DOCS)


def test_unknown_fields_rejected() -> None:
    with pytest.raises(ValidationError, match="modelname"):
        EmbedPluginsSparseEmbeddings(modelname="Qdrant/bm25")


@pytest.mark.parametrize("texts", [None, "one str", ["ok", None], [b"x"]])
def test_bad_documents(bm25: EmbedPluginsSparseEmbeddings, texts: Any) -> None:
    with pytest.raises(InputTypeError):
        bm25.embed_documents(texts)


@pytest.mark.parametrize("query", [None, ["a"], 1])
def test_bad_query(bm25: EmbedPluginsSparseEmbeddings, query: Any) -> None:
    with pytest.raises(InputTypeError, match="embed_query"):
        bm25.embed_query(query)


def test_empty_list(bm25: EmbedPluginsSparseEmbeddings) -> None:
    assert bm25.embed_documents([]) == []


async def test_async_equals_sync_and_runs_off_the_loop(
    bm25: EmbedPluginsSparseEmbeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await bm25.aembed_documents(DOCS) == bm25.embed_documents(DOCS)
    assert await bm25.aembed_query("fox") == bm25.embed_query("fox")

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
    await bm25.aembed_documents(DOCS)
    done.set()
    await task
    assert ticks >= 10 and seen and seen[0] != loop_thread


# -- QdrantVectorStore --------------------------------------------------------------------


def test_sparse_only_store_with_idf(bm25: EmbedPluginsSparseEmbeddings) -> None:
    store = QdrantVectorStore.from_texts(
        DOCS[:3],
        sparse_embedding=bm25,
        sparse_vector_params=bm25.sparse_vector_params(),
        retrieval_mode=RetrievalMode.SPARSE,
        location=":memory:",
        collection_name="sparse",
    )
    found = store.similarity_search("capital of Germany", k=1)
    assert found[0].page_content.startswith("Berlin")


def test_hybrid_store(
    bm25: EmbedPluginsSparseEmbeddings, models_dir: Path, minilm_dir: Path
) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MODELS_DIR_ENV, str(models_dir))
        dense = EmbedPluginsEmbeddings(model_name=MINILM)
    store = QdrantVectorStore.from_texts(
        DOCS[:3],
        embedding=dense,
        sparse_embedding=bm25,
        sparse_vector_params=bm25.sparse_vector_params(),
        retrieval_mode=RetrievalMode.HYBRID,
        location=":memory:",
        collection_name="hybrid",
    )
    found = store.similarity_search("Which city is the French capital?", k=2)
    assert found[0].page_content.startswith("Paris")


def test_missing_langchain_qdrant_names_the_extra() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "sys.modules['langchain_qdrant'] = None\n"
        "sys.modules['langchain_qdrant.sparse_embeddings'] = None\n"
        "import embed_plugins.integrations.langchain as lc\n"
        "lc.EmbedPluginsEmbeddings  # the dense adapter works without langchain-qdrant\n"
        "try:\n"
        "    lc.EmbedPluginsSparseEmbeddings\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert "langchain-qdrant" in out.stdout
    assert "pip install 'embed_plugins[langchain]'" in out.stdout
