"""EmbedPluginsEmbeddings (LangChain) on the real all-MiniLM-L6-v2."""

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

pytest.importorskip("langchain_core")

from langchain_core.embeddings import Embeddings
from pydantic import ValidationError

from embed_plugins import DenseSpec, InputTypeError, TextEmbedding
from embed_plugins.hub import MODELS_DIR_ENV
from embed_plugins.integrations.langchain import EmbedPluginsEmbeddings

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
DOCS = [
    "Paris is the capital and most populous city of France.",
    "The quick brown fox jumps over the lazy dog.",
    "",
    "Привет, мир!",
]
ATOL = 1e-6


@pytest.fixture(scope="module")
def embeddings(models_dir: Path, minilm_dir: Path) -> EmbedPluginsEmbeddings:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MODELS_DIR_ENV, str(models_dir))
        return EmbedPluginsEmbeddings(model_name=MINILM)


def prefixed_spec(**changes: Any) -> DenseSpec:
    """all-MiniLM-L6-v2 described by hand, with query and passage prefixes."""
    fields: dict[str, Any] = {
        "model": "custom/minilm-prefixed",
        "model_file": "onnx/model.onnx",
        "output_name": "last_hidden_state",
        "dim": 384,
        "pooling": "mean",
        "normalize": True,
        "max_length": 256,
        "query_prefix": "query: ",
        "passage_prefix": "passage: ",
    }
    fields.update(changes)
    return DenseSpec(**fields)


def test_is_a_langchain_embeddings(embeddings: EmbedPluginsEmbeddings) -> None:
    assert isinstance(embeddings, Embeddings)
    assert embeddings.model_name == MINILM
    assert isinstance(embeddings.model, TextEmbedding)
    assert embeddings.embedding_size == 384


def test_numbers_equal_text_embedding(
    embeddings: EmbedPluginsEmbeddings, minilm: TextEmbedding
) -> None:
    got = embeddings.embed_documents(DOCS)
    want = np.stack(list(minilm.passage_embed(DOCS)))
    assert np.allclose(np.array(got), want, atol=ATOL)
    query = embeddings.embed_query(DOCS[0])
    assert np.allclose(query, next(iter(minilm.query_embed(DOCS[0]))), atol=ATOL)


def test_matches_sentence_transformers_reference(embeddings: EmbedPluginsEmbeddings) -> None:
    import json

    ref_dir = Path(__file__).parent / "fixtures" / "reference"
    texts = json.loads((ref_dir / "all-MiniLM-L6-v2.json").read_text())["texts"]
    want = np.load(ref_dir / "all-MiniLM-L6-v2.npz")["embeddings"]
    assert np.allclose(np.array(embeddings.embed_documents(texts)), want, atol=1e-5)


def test_plain_python_floats(embeddings: EmbedPluginsEmbeddings) -> None:
    docs = embeddings.embed_documents(DOCS[:2])
    query = embeddings.embed_query("hello")
    assert type(docs) is list and all(type(v) is list for v in docs)
    assert all(type(x) is float for v in docs for x in v)
    assert type(query) is list and all(type(x) is float for x in query)


def test_one_long_lived_model(embeddings: EmbedPluginsEmbeddings) -> None:
    model = embeddings.model
    embeddings.embed_documents(["a"])
    embeddings.embed_query("b")
    assert embeddings.model is model


def test_prefixes_apply(minilm_dir: Path, minilm: TextEmbedding) -> None:
    emb = EmbedPluginsEmbeddings(spec=prefixed_spec(), model_path=str(minilm_dir))
    assert emb.model_name == "custom/minilm-prefixed"
    query = emb.embed_query("capital of France")
    docs = emb.embed_documents(["Paris is the capital of France."])
    assert np.allclose(query, next(iter(minilm.embed("query: capital of France"))), atol=ATOL)
    assert np.allclose(
        docs[0], next(iter(minilm.embed("passage: Paris is the capital of France."))), atol=ATOL
    )
    # doc_embed_type="default" (FastEmbed's default): documents get no prefix.
    plain = EmbedPluginsEmbeddings(
        spec=prefixed_spec(), model_path=minilm_dir, doc_embed_type="default"
    )
    raw = plain.embed_documents(["Paris is the capital of France."])
    assert np.allclose(raw[0], next(iter(minilm.embed("Paris is the capital of France."))))


def test_fastembed_field_names_are_accepted(models_dir: Path, minilm_dir: Path) -> None:
    """Every field of langchain_community's FastEmbedEmbeddings exists here with that name."""
    fastembed_fields = {
        "model_name": MINILM,
        "max_length": 128,
        "cache_dir": None,
        "threads": 1,
        "doc_embed_type": "default",
        "batch_size": 2,
        "parallel": None,
        "providers": ["CPUExecutionProvider"],
    }
    assert set(fastembed_fields) <= set(EmbedPluginsEmbeddings.model_fields)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MODELS_DIR_ENV, str(models_dir))
        emb = EmbedPluginsEmbeddings(**fastembed_fields)
    assert emb.model.spec.max_length == 128
    assert len(emb.embed_documents(DOCS)) == len(DOCS)


def test_unknown_fields_rejected() -> None:
    with pytest.raises(ValidationError, match="model_nam"):
        EmbedPluginsEmbeddings(model_nam=MINILM)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="batch_size"):
        EmbedPluginsEmbeddings(batch_size=0)
    with pytest.raises(ValidationError, match="doc_embed_type"):
        EmbedPluginsEmbeddings(doc_embed_type="query")  # type: ignore[arg-type]


def test_model_errors_are_not_wrapped(tmp_path: Path) -> None:
    from embed_plugins import ModelNotFoundError

    with pytest.raises(ModelNotFoundError):
        EmbedPluginsEmbeddings(model_name="nobody/no-such-model", local_files_only=True)


@pytest.mark.parametrize(
    ("texts", "match"),
    [
        (None, "expects a list of str, got NoneType"),
        ("one string", "got one str"),
        (["ok", 3], r"texts\[1\] must be str, got int"),
        ([b"bytes"], "decode bytes"),
        ({"a": 1}, "got dict"),
    ],
)
def test_bad_documents(embeddings: EmbedPluginsEmbeddings, texts: Any, match: str) -> None:
    with pytest.raises(InputTypeError, match=match):
        embeddings.embed_documents(texts)


@pytest.mark.parametrize("query", [None, ["a list"], 3, b"bytes"])
def test_bad_query(embeddings: EmbedPluginsEmbeddings, query: Any) -> None:
    with pytest.raises(InputTypeError, match="embed_query"):
        embeddings.embed_query(query)
    # InputTypeError is both a TypeError and a ValueError.
    with pytest.raises(TypeError):
        embeddings.embed_query(query)


def test_empty_list_gives_empty_result(embeddings: EmbedPluginsEmbeddings) -> None:
    assert embeddings.embed_documents([]) == []


def test_tuple_and_generator_inputs(embeddings: EmbedPluginsEmbeddings) -> None:
    want = embeddings.embed_documents(["a", "b"])
    assert embeddings.embed_documents(("a", "b")) == want  # type: ignore[arg-type]
    assert embeddings.embed_documents(t for t in ["a", "b"]) == want  # type: ignore[arg-type]


def test_batch_size_is_passed(embeddings: EmbedPluginsEmbeddings, monkeypatch: Any) -> None:
    seen: dict[str, Any] = {}
    real = embeddings.model.passage_embed

    def spy(
        texts: Any, batch_size: int = 256, parallel: int | None = None, **options: Any
    ) -> Iterator[Any]:
        seen.update(batch_size=batch_size, parallel=parallel)
        return real(texts, batch_size=batch_size, parallel=parallel, **options)

    custom = embeddings.model_copy(update={"batch_size": 3})
    monkeypatch.setattr(custom.model, "passage_embed", spy)
    custom.embed_documents(["a", "b"])
    assert seen == {"batch_size": 3, "parallel": None}


# -- async ---------------------------------------------------------------------------


async def test_async_equals_sync(embeddings: EmbedPluginsEmbeddings) -> None:
    assert await embeddings.aembed_documents(DOCS) == embeddings.embed_documents(DOCS)
    assert await embeddings.aembed_query("hello") == embeddings.embed_query("hello")


async def _ticks_while(awaitable: Any, period: float = 0.005) -> tuple[Any, int]:
    """Await ``awaitable`` while a ticker counts how often the event loop ran it."""
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(period)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        result = await awaitable
    finally:
        stop.set()
        await task
    return result, ticks


@pytest.mark.parametrize("method", ["aembed_documents", "aembed_query"])
async def test_async_does_not_block_the_loop(
    embeddings: EmbedPluginsEmbeddings, monkeypatch: Any, method: str
) -> None:
    """A model call that blocks for 0.3 s leaves the loop free to tick."""
    loop_thread = threading.get_ident()
    threads: list[int] = []
    custom = embeddings.model_copy()

    def slow(name: str) -> Any:
        real = getattr(embeddings.model, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            threads.append(threading.get_ident())
            time.sleep(0.3)
            return real(*args, **kwargs)

        return call

    for name in ("passage_embed", "query_embed"):
        monkeypatch.setattr(custom.model, name, slow(name))
    arg: Any = ["a", "b"] if method == "aembed_documents" else "a"
    result, ticks = await _ticks_while(getattr(custom, method)(arg))
    assert ticks >= 10, f"event loop ticked only {ticks} times during a 0.3 s call"
    assert threads and all(t != loop_thread for t in threads)
    assert result


async def test_async_real_model_does_not_block(embeddings: EmbedPluginsEmbeddings) -> None:
    docs = [f"document number {i} about the quick brown fox" * 4 for i in range(200)]
    start = time.perf_counter()
    result, ticks = await _ticks_while(embeddings.aembed_documents(docs), period=0.001)
    elapsed = time.perf_counter() - start
    assert len(result) == len(docs)
    # A blocked loop would tick once; a free one ticks through the call.
    assert ticks >= 3, f"{ticks} ticks in {elapsed:.3f} s"


async def test_async_bad_input_raises(embeddings: EmbedPluginsEmbeddings) -> None:
    with pytest.raises(InputTypeError):
        await embeddings.aembed_documents(None)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError):
        await embeddings.aembed_query(None)  # type: ignore[arg-type]


# -- packaging -------------------------------------------------------------------------


def test_import_embed_plugins_does_not_import_frameworks() -> None:
    code = (
        "import sys, embed_plugins, embed_plugins.integrations\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('langchain_core', 'langchain_qdrant', 'llama_index')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_extra_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['langchain_core'] = None\n"
        "sys.modules['langchain_core.embeddings'] = None\n"
        "from embed_plugins.integrations import MissingExtraError\n"
        "try:\n"
        "    import embed_plugins.integrations.langchain\n"
        "except MissingExtraError as exc:\n"
        "    assert isinstance(exc, ImportError)\n"
        "    print(exc)\n"
        "else:\n"
        "    raise SystemExit('no error')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert "pip install 'embed_plugins[langchain]'" in out.stdout
