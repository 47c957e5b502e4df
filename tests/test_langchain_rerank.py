"""LangChain rerankers on the tiny fixtures: cross-encoder, BaseCrossEncoder, ColBERT MaxSim."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("langchain_core")

from langchain_core.cross_encoders import BaseCrossEncoder
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ValidationError

from embed_plugins import (
    ColbertSpec,
    InputTypeError,
    LateInteractionTextEmbedding,
    TextCrossEncoder,
    maxsim,
)
from embed_plugins.integrations.langchain import (
    EmbedPluginsColbertRerank,
    EmbedPluginsCrossEncoder,
    EmbedPluginsRerank,
)

FIXTURES = Path(__file__).parent / "fixtures"
TINY_CE = FIXTURES / "models" / "tiny-cross-encoder"
TINY_COLBERT = FIXTURES / "models" / "tiny-colbert"
REF = np.load(FIXTURES / "reference" / "tiny-cross-encoder.npz")
PAIRS = [
    tuple(p)
    for p in json.loads((FIXTURES / "reference" / "tiny-cross-encoder.json").read_text())["pairs"]
]
QUERY = "what is late interaction"
TEXTS = [
    "Paris is the capital and most populous city of France.",
    "Late interaction keeps one vector per token.",
    "The quick brown fox jumps over the lazy dog.",
    "Sparse retrieval models score each token of the query.",
    "",
]


def colbert_spec() -> ColbertSpec:
    return ColbertSpec(model="test/tiny-colbert", dim=16, output_name="output")


def documents() -> list[Document]:
    return [
        Document(page_content=t, metadata={"source": i}, id=f"doc-{i}") for i, t in enumerate(TEXTS)
    ]


@pytest.fixture(scope="module")
def cross_encoder() -> EmbedPluginsCrossEncoder:
    return EmbedPluginsCrossEncoder(model_path=TINY_CE)


@pytest.fixture(scope="module")
def rerank() -> EmbedPluginsRerank:
    return EmbedPluginsRerank(model_path=TINY_CE)


@pytest.fixture(scope="module")
def colbert() -> EmbedPluginsColbertRerank:
    return EmbedPluginsColbertRerank(spec=colbert_spec(), model_path=TINY_COLBERT)


# -- BaseCrossEncoder -----------------------------------------------------------------------


def test_cross_encoder_scores_match_sentence_transformers(
    cross_encoder: EmbedPluginsCrossEncoder,
) -> None:
    assert isinstance(cross_encoder, BaseCrossEncoder)
    scores = cross_encoder.score(PAIRS)
    assert all(type(s) is float for s in scores)
    assert np.allclose(scores, REF["scores_raw"], atol=1e-5)


def test_cross_encoder_sigmoid() -> None:
    model = EmbedPluginsCrossEncoder(model_path=TINY_CE, activation="sigmoid")
    assert np.allclose(model.score(PAIRS), REF["scores_sigmoid"], atol=1e-5)


def test_cross_encoder_in_cross_encoder_reranker(cross_encoder: EmbedPluginsCrossEncoder) -> None:
    compressors = pytest.importorskip("langchain_classic.retrievers.document_compressors")
    reranker = compressors.CrossEncoderReranker(model=cross_encoder, top_n=2)
    out = reranker.compress_documents(documents(), QUERY)
    raw = TextCrossEncoder(model_path=TINY_CE).rank(QUERY, TEXTS, top_k=2)
    assert [d.page_content for d in out] == [TEXTS[r.index] for r in raw]


def test_cross_encoder_bad_pairs(cross_encoder: EmbedPluginsCrossEncoder) -> None:
    with pytest.raises(InputTypeError):
        cross_encoder.score([("q", None)])  # type: ignore[list-item]
    with pytest.raises(InputTypeError):
        cross_encoder.score(None)  # type: ignore[arg-type]
    assert cross_encoder.score([]) == []


# -- compressors ---------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["rerank", "colbert"])
def test_compressor_orders_keeps_top_n_and_scores(
    which: str, request: pytest.FixtureRequest
) -> None:
    compressor = request.getfixturevalue(which)
    assert isinstance(compressor, BaseDocumentCompressor)
    docs = documents()
    out = compressor.compress_documents(docs, QUERY)
    assert len(out) == 3  # top_n defaults to 3, as CrossEncoderReranker's
    if which == "rerank":
        want = TextCrossEncoder(model_path=TINY_CE).rank(QUERY, TEXTS)
    else:
        model = LateInteractionTextEmbedding(spec=colbert_spec(), model_path=TINY_COLBERT)
        want = model.rank(QUERY, TEXTS)
        # MaxSim by hand agrees with the ranking.
        scores = maxsim(next(iter(model.query_embed(QUERY))), list(model.embed(TEXTS)))
        assert np.allclose(sorted(scores, reverse=True)[:3], [r.score for r in want[:3]])
    assert [d.page_content for d in out] == [TEXTS[r.index] for r in want[:3]]
    for doc, result in zip(out, want, strict=False):
        assert type(doc.metadata["relevance_score"]) is float
        assert doc.metadata["relevance_score"] == pytest.approx(result.score)
        assert doc.metadata["source"] == result.index
        assert doc.id == f"doc-{result.index}"
    scores = [d.metadata["relevance_score"] for d in out]
    assert scores == sorted(scores, reverse=True)
    # The retrieved documents are left as they were.
    assert all("relevance_score" not in d.metadata for d in docs)


@pytest.mark.parametrize("which", ["rerank", "colbert"])
def test_compressor_top_n(which: str, request: pytest.FixtureRequest) -> None:
    compressor = request.getfixturevalue(which)
    assert (
        len(compressor.model_copy(update={"top_n": 1}).compress_documents(documents(), QUERY)) == 1
    )
    everything = compressor.model_copy(update={"top_n": None}).compress_documents(
        documents(), QUERY
    )
    assert len(everything) == len(TEXTS)
    assert len(
        compressor.model_copy(update={"top_n": 50}).compress_documents(documents(), QUERY)
    ) == len(TEXTS)
    assert compressor.compress_documents([], QUERY) == []


@pytest.mark.parametrize("which", ["rerank", "colbert"])
def test_compressor_bad_input(which: str, request: pytest.FixtureRequest) -> None:
    compressor = request.getfixturevalue(which)
    with pytest.raises(InputTypeError, match="query"):
        compressor.compress_documents(documents(), None)
    with pytest.raises(ValidationError):
        type(compressor)(top_n=0, model_path=TINY_CE, spec=compressor.spec)
    with pytest.raises(ValidationError, match="topn"):
        type(compressor)(topn=2)


BAD_DOCUMENTS = [
    (b"bytes", "got bytes"),
    ("one string", "got str"),
    (None, "got NoneType"),
    (5, "got int"),
    ([Document(page_content="a"), None], r"documents\[1\] must be a Document, got NoneType"),
    ([[Document(page_content="a")]], r"documents\[0\] must be a Document, got list \(pass one"),
    ([Document(page_content="a"), "plain text"], r"documents\[1\] must be a Document, got str"),
]


@pytest.mark.parametrize(("bad", "match"), BAD_DOCUMENTS)
@pytest.mark.parametrize("which", ["rerank", "colbert"])
def test_compressor_rejects_what_is_not_a_list_of_documents(
    which: str, bad: Any, match: str, request: pytest.FixtureRequest
) -> None:
    compressor = request.getfixturevalue(which)
    with pytest.raises(InputTypeError, match=match) as info:
        compressor.compress_documents(bad, QUERY)
    assert "compress_documents()" in str(info.value)


@pytest.mark.parametrize("which", ["rerank", "colbert"])
async def test_compressor_async(
    which: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    compressor = request.getfixturevalue(which)
    sync = compressor.compress_documents(documents(), QUERY)
    assert await compressor.acompress_documents(documents(), QUERY) == sync

    loop_thread = threading.get_ident()
    seen: list[int] = []
    real = compressor.model.rank

    def slow(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.get_ident())
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(compressor.model, "rank", slow)
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    await compressor.acompress_documents(documents(), QUERY)
    done.set()
    await task
    assert ticks >= 10 and seen and seen[0] != loop_thread


def test_contextual_compression_retriever(rerank: EmbedPluginsRerank) -> None:
    retrievers = pytest.importorskip("langchain_classic.retrievers")
    from langchain_core.retrievers import BaseRetriever

    class Fixed(BaseRetriever):
        docs: list[Document]

        def _get_relevant_documents(self, query: str, **kwargs: Any) -> list[Document]:
            return list(self.docs)

    retriever = retrievers.ContextualCompressionRetriever(
        base_compressor=rerank.model_copy(update={"top_n": 2}),
        base_retriever=Fixed(docs=documents()),
    )
    out = retriever.invoke(QUERY)
    assert len(out) == 2 and all("relevance_score" in d.metadata for d in out)
