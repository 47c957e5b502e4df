"""EmbedPluginsEmbedding (LlamaIndex) on the real all-MiniLM-L6-v2."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import ValidationError

from embed_plugins import DenseSpec, InputTypeError, TextEmbedding
from embed_plugins.hub import MODELS_DIR_ENV
from embed_plugins.integrations.llama_index import (
    EmbedPluginsEmbedding,
    EmbedPluginsSparseEmbedding,
)

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
DOCS = [
    "Paris is the capital and most populous city of France.",
    "The quick brown fox jumps over the lazy dog.",
    "",
    "Привет, мир!",
    "emoji 😀🚀 test",
]
ATOL = 1e-6


@pytest.fixture(scope="module")
def embed_model(models_dir: Path, minilm_dir: Path) -> EmbedPluginsEmbedding:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MODELS_DIR_ENV, str(models_dir))
        return EmbedPluginsEmbedding(model_name=MINILM)


def prefixed_spec() -> DenseSpec:
    """all-MiniLM-L6-v2 described by hand, with query and passage prefixes."""
    return DenseSpec(
        model="custom/minilm-prefixed",
        model_file="onnx/model.onnx",
        output_name="last_hidden_state",
        dim=384,
        pooling="mean",
        normalize=True,
        max_length=256,
        query_prefix="query: ",
        passage_prefix="passage: ",
    )


def test_is_a_base_embedding(embed_model: EmbedPluginsEmbedding) -> None:
    assert isinstance(embed_model, BaseEmbedding)
    assert EmbedPluginsEmbedding.class_name() == "EmbedPluginsEmbedding"
    assert embed_model.model_name == MINILM
    assert isinstance(embed_model.model, TextEmbedding)


def test_numbers_equal_text_embedding(
    embed_model: EmbedPluginsEmbedding, minilm: TextEmbedding
) -> None:
    want = np.stack(list(minilm.passage_embed(DOCS)))
    assert np.allclose(np.array(embed_model.get_text_embedding_batch(DOCS)), want, atol=ATOL)
    assert np.allclose(embed_model.get_text_embedding(DOCS[1]), want[1], atol=ATOL)
    query = embed_model.get_query_embedding("capital of France")
    assert np.allclose(query, next(iter(minilm.query_embed("capital of France"))), atol=ATOL)


def test_plain_python_floats(embed_model: EmbedPluginsEmbedding) -> None:
    batch = embed_model.get_text_embedding_batch(DOCS[:2])
    query = embed_model.get_query_embedding("hello")
    assert all(type(x) is float for v in batch for x in v)
    assert all(type(x) is float for x in query)


def test_prefixes_apply(minilm_dir: Path, minilm: TextEmbedding) -> None:
    emb = EmbedPluginsEmbedding(spec=prefixed_spec(), model_path=minilm_dir)
    assert emb.model_name == "custom/minilm-prefixed"
    query = emb.get_query_embedding("capital of France")
    doc = emb.get_text_embedding("Paris is the capital of France.")
    assert np.allclose(query, next(iter(minilm.embed("query: capital of France"))), atol=ATOL)
    assert np.allclose(
        doc, next(iter(minilm.embed("passage: Paris is the capital of France."))), atol=ATOL
    )
    plain = EmbedPluginsEmbedding(
        spec=prefixed_spec(), model_path=minilm_dir, doc_embed_type="default"
    )
    raw = plain.get_text_embedding("Paris is the capital of France.")
    assert np.allclose(raw, next(iter(minilm.embed("Paris is the capital of France."))))


def test_embed_batch_size_is_honoured(
    embed_model: EmbedPluginsEmbedding, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, int]] = []
    small = embed_model.model_copy(update={"embed_batch_size": 2})
    real = small.model.passage_embed

    def spy(
        texts: Any, batch_size: int = 256, parallel: int | None = None, **options: Any
    ) -> Iterator[Any]:
        calls.append((len(texts), batch_size))
        return real(texts, batch_size=batch_size, parallel=parallel, **options)

    monkeypatch.setattr(small.model, "passage_embed", spy)
    out = small.get_text_embedding_batch(DOCS)
    assert len(out) == len(DOCS)
    # LlamaIndex cuts 5 texts into batches of 2; each batch is one engine call of size 2.
    assert calls == [(2, 2), (2, 2), (1, 2)]


def test_fastembed_field_names_are_accepted(models_dir: Path, minilm_dir: Path) -> None:
    """Every field of llama-index-embeddings-fastembed's FastEmbedEmbedding exists here."""
    fastembed_fields = {
        "model_name": MINILM,
        "max_length": 128,
        "cache_dir": None,
        "threads": 1,
        "doc_embed_type": "default",
        "providers": ["CPUExecutionProvider"],
        "embed_batch_size": 8,
    }
    assert set(fastembed_fields) <= set(EmbedPluginsEmbedding.model_fields)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MODELS_DIR_ENV, str(models_dir))
        emb = EmbedPluginsEmbedding(**fastembed_fields)
    assert emb.model.spec.max_length == 128
    assert len(emb.get_text_embedding_batch(DOCS)) == len(DOCS)


def test_unknown_fields_rejected() -> None:
    with pytest.raises(ValidationError, match="model_nam"):
        EmbedPluginsEmbedding(model_nam=MINILM)
    with pytest.raises(ValidationError, match="embed_batch_size"):
        EmbedPluginsEmbedding(embed_batch_size=0)


@pytest.mark.parametrize(
    ("texts", "match"),
    [
        (None, "expects a list of str, got NoneType"),
        ("one string", "got one str"),
        (["ok", 3], r"texts\[1\] must be str, got int"),
    ],
)
def test_bad_batch_input(embed_model: EmbedPluginsEmbedding, texts: Any, match: str) -> None:
    with pytest.raises(InputTypeError, match=match):
        embed_model.get_text_embedding_batch(texts)


@pytest.mark.parametrize("query", [None, ["a list"], 3])
def test_bad_query(embed_model: EmbedPluginsEmbedding, query: Any) -> None:
    with pytest.raises(InputTypeError, match="query"):
        embed_model.get_query_embedding(query)
    with pytest.raises(InputTypeError):
        embed_model.get_text_embedding(query)


def test_empty_batch(embed_model: EmbedPluginsEmbedding) -> None:
    assert embed_model.get_text_embedding_batch([]) == []


# -- serialisation -----------------------------------------------------------------------


def test_to_dict_from_dict_round_trip(embed_model: EmbedPluginsEmbedding, models_dir: Path) -> None:
    data = embed_model.to_dict()
    assert data["class_name"] == "EmbedPluginsEmbedding"
    assert data["model_name"] == MINILM
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MODELS_DIR_ENV, str(models_dir))
        again = EmbedPluginsEmbedding.from_dict(data)
        from_json = EmbedPluginsEmbedding.from_json(embed_model.to_json())
    assert again.model is not embed_model.model  # the model was rebuilt
    want = embed_model.get_query_embedding("hello")
    assert again.get_query_embedding("hello") == want
    assert from_json.get_query_embedding("hello") == want


def test_round_trip_with_spec_and_path(minilm_dir: Path) -> None:
    emb = EmbedPluginsEmbedding(
        spec=prefixed_spec(), model_path=minilm_dir, embed_batch_size=4, threads=1
    )
    data = emb.to_dict()
    assert data["model_path"] == str(minilm_dir)
    again = EmbedPluginsEmbedding.from_json(emb.to_json())
    assert again.spec == emb.spec
    assert again.embed_batch_size == 4 and again.threads == 1
    assert again.get_query_embedding("x") == emb.get_query_embedding("x")


# -- async -------------------------------------------------------------------------------


async def test_async_equals_sync(embed_model: EmbedPluginsEmbedding) -> None:
    assert await embed_model.aget_text_embedding_batch(
        DOCS
    ) == embed_model.get_text_embedding_batch(DOCS)
    assert await embed_model.aget_query_embedding("q") == embed_model.get_query_embedding("q")
    assert await embed_model.aget_text_embedding("t") == embed_model.get_text_embedding("t")


@pytest.mark.parametrize("method", ["aget_text_embedding_batch", "aget_query_embedding"])
async def test_async_does_not_block_the_loop(
    embed_model: EmbedPluginsEmbedding, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """A model call that blocks for 0.3 s leaves the loop free to tick."""
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def slow(name: str) -> Any:
        real = getattr(embed_model.model, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            threads.append(threading.get_ident())
            time.sleep(0.3)
            return real(*args, **kwargs)

        return call

    for name in ("passage_embed", "query_embed"):
        monkeypatch.setattr(embed_model.model, name, slow(name))
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    arg: Any = ["a", "b"] if method == "aget_text_embedding_batch" else "a"
    try:
        assert await getattr(embed_model, method)(arg)
    finally:
        stop.set()
        await task
    assert ticks >= 10, f"event loop ticked only {ticks} times during a 0.3 s call"
    assert threads and all(t != loop_thread for t in threads)


async def test_async_bad_input(embed_model: EmbedPluginsEmbedding) -> None:
    with pytest.raises(InputTypeError):
        await embed_model.aget_text_embedding_batch(None)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError):
        await embed_model.aget_query_embedding(None)  # type: ignore[arg-type]


# -- progress (show_progress=True): a step per batch of 64 texts, not per 256 -----------
PROGRESS_TEXTS = [f"passage {i}: the quick brown fox jumps over the lazy dog" for i in range(300)]
FIXTURE_MODELS = Path(__file__).parent / "fixtures" / "models"
PROGRESS = [
    pytest.param(
        EmbedPluginsEmbedding,
        {"model_path": FIXTURE_MODELS / "tiny-bert"},
        "passage_embed",
        id="dense",
    ),
    pytest.param(
        EmbedPluginsSparseEmbedding,
        {"model_path": FIXTURE_MODELS / "tiny-splade"},
        "embed",
        id="splade",
    ),
]


@pytest.mark.parametrize(("cls", "kwargs", "method"), PROGRESS)
def test_llama_index_progress_advances_per_batch(
    cls: Any, kwargs: dict[str, Any], method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With show_progress, one bar (the engine's) moves on as the engine calls run, 64 texts
    at a time or less, while each engine call still gets a batch of 64 to sort and cut."""
    import tqdm.auto

    bars: list[Any] = []

    class EveryStep(tqdm.auto.tqdm):
        """The real bar, refreshed at every text (no 0.1 s throttle): its position is exact."""

        def __init__(self, *args: Any, **options: Any) -> None:
            super().__init__(*args, **{**options, "mininterval": 0, "miniters": 1})
            bars.append(self)

    model = cls(**kwargs)
    assert model.embed_batch_size == 64
    want = model.model_copy(update={"embed_batch_size": 300}).get_text_embedding_batch(
        PROGRESS_TEXTS
    )
    seen: list[tuple[int, int, int]] = []  # texts, batch_size, bar position
    real = getattr(model.model, method)

    def spy(texts: Any, batch_size: int = 256, parallel: int | None = None, **options: Any) -> Any:
        seen.append((len(texts), batch_size, bars[-1].n))
        return real(texts, batch_size=batch_size, parallel=parallel, **options)

    monkeypatch.setattr(tqdm.auto, "tqdm", EveryStep)
    monkeypatch.setattr(model.model, method, spy)
    got = model.get_text_embedding_batch(PROGRESS_TEXTS, show_progress=True)
    assert got == want
    assert [(n, size) for n, size, _ in seen] == [(64, 64)] * 4 + [(44, 64)]
    positions = [position for _, _, position in seen]
    assert len(positions) > 2 and positions == sorted(set(positions))
    assert max(b - a for a, b in zip([0, *positions[:-1]], positions, strict=True)) <= 64
    assert len(bars) == 1 and bars[0].n == len(PROGRESS_TEXTS)


@pytest.mark.parametrize(("cls", "kwargs", "method"), PROGRESS)
async def test_llama_index_async_progress_counts_batches(
    cls: Any, kwargs: dict[str, Any], method: str, capsys: pytest.CaptureFixture[str]
) -> None:
    model = cls(**kwargs)
    got = await model.aget_text_embedding_batch(PROGRESS_TEXTS, show_progress=True)
    assert len(got) == len(PROGRESS_TEXTS)
    # One engine bar over the 300 texts (not tqdm_asyncio.gather's one step per batch).
    assert "| 300/300 [" in capsys.readouterr().err


# -- in an index ---------------------------------------------------------------------------


def test_vector_store_index_retrieves(embed_model: EmbedPluginsEmbedding) -> None:
    from llama_index.core import Document, VectorStoreIndex

    docs = [Document(text=t) for t in DOCS[:2]]
    index = VectorStoreIndex.from_documents(docs, embed_model=embed_model)
    nodes = index.as_retriever(similarity_top_k=1).retrieve("Which city is the French capital?")
    assert nodes[0].node.get_content().startswith("Paris")


def test_missing_extra_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['llama_index'] = None\n"
        "sys.modules['llama_index.core'] = None\n"
        "from embed_plugins.integrations import MissingExtraError\n"
        "try:\n"
        "    import embed_plugins.integrations.llama_index\n"
        "except MissingExtraError as exc:\n"
        "    print(exc)\n"
        "else:\n"
        "    raise SystemExit('no error')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert "pip install 'embed_plugins[llama-index]'" in out.stdout
