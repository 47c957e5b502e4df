"""``show_progress=``: a tqdm bar or a ``(done, total)`` callback on every embedding and
scoring method, advancing per ONNX batch in-process and per chunk with workers.

Real tiny models throughout: the counts below are what the engine reports while it
runs them, and the results must be exactly those of the same call without progress.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embed_plugins import (
    ImageEmbedding,
    LateInteractionMultimodalEmbedding,
    LateInteractionTextEmbedding,
    SparseTextEmbedding,
    TextCrossEncoder,
    TextEmbedding,
)
from embed_plugins.catalog.late_interaction import ColbertSpec
from embed_plugins.engine.progress import Progress, forward_to, known_length
from embed_plugins.errors import ArgumentTypeError

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = FIXTURES / "models"
IMAGES = sorted((FIXTURES / "images").glob("*.*"))
#: Texts of 1 to 30 words: several length buckets, so one window holds many ONNX batches.
TEXTS = [" ".join(["word"] * (i % 30 + 1)) for i in range(3000)]


class Recorder:
    """A callback that keeps every ``(done, total)`` it is given."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int | None]] = []

    def __call__(self, done: int, total: int | None) -> None:
        self.calls.append((done, total))

    @property
    def steps(self) -> list[int]:
        done = [d for d, _ in self.calls]
        return [b - a for a, b in zip([0, *done], done, strict=False)]


@pytest.fixture(scope="module")
def bert() -> TextEmbedding:
    return TextEmbedding(model_path=MODELS / "tiny-bert")


def same(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


# -- in-process --------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["embed", "query_embed", "passage_embed"])
def test_callback_advances_per_onnx_batch(bert: TextEmbedding, method: str) -> None:
    rec = Recorder()
    out = list(getattr(bert, method)(TEXTS, batch_size=64, show_progress=rec))
    assert same(out, list(getattr(bert, method)(TEXTS, batch_size=64)))
    assert rec.calls[-1] == (len(TEXTS), len(TEXTS))
    assert all(total == len(TEXTS) for _, total in rec.calls)
    # Per ONNX batch (at most 64 rows), not per window of 2,048 inputs.
    assert all(0 < step <= 64 for step in rec.steps)
    assert len(rec.calls) > len(TEXTS) // 2048 + 1


def test_unknown_length_gives_none_total(bert: TextEmbedding) -> None:
    rec = Recorder()
    out = list(bert.embed(iter(TEXTS[:100]), show_progress=rec))
    assert len(out) == 100
    assert {total for _, total in rec.calls} == {None}
    assert rec.calls[-1][0] == 100


def test_one_string_counts_one(bert: TextEmbedding) -> None:
    rec = Recorder()
    list(bert.query_embed("one query", show_progress=rec))
    assert rec.calls == [(1, 1)]


def test_empty_input_reports_nothing(bert: TextEmbedding) -> None:
    rec = Recorder()
    assert list(bert.embed([], show_progress=rec)) == []
    assert rec.calls == []


def test_bar_on_stderr_has_rate_and_eta(bert: TextEmbedding, capsys: Any) -> None:
    list(bert.embed(TEXTS, show_progress=True))
    err = capsys.readouterr().err
    assert f"{len(TEXTS)}/{len(TEXTS)}" in err
    assert re.search(r"\[\d\d:\d\d<\d\d:\d\d, +[\d.]+ texts/s\]", err), err[-300:]


def test_bar_without_length_has_rate_but_no_eta(bert: TextEmbedding, capsys: Any) -> None:
    list(bert.embed(iter(TEXTS[:500]), show_progress=True))
    last = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert re.fullmatch(r"embed: 500 texts \[\d\d:\d\d, +[\d.]+ texts/s\]", last), last


def test_off_by_default(bert: TextEmbedding, capsys: Any) -> None:
    list(bert.embed(TEXTS[:300]))
    list(bert.embed(TEXTS[:300], show_progress=False))
    list(bert.embed(TEXTS[:300], show_progress=None))
    assert capsys.readouterr().err == ""


def test_bar_starts_when_iteration_starts(bert: TextEmbedding, capsys: Any) -> None:
    results = bert.embed(TEXTS[:10], show_progress=True)
    assert capsys.readouterr().err == ""  # nothing yet: a generator that has not run
    next(results)
    results.close()  # abandoned half-way: the bar is closed, nothing raises
    assert "embed" in capsys.readouterr().err


def test_callback_error_stops_the_call(bert: TextEmbedding) -> None:
    def broken(done: int, total: int | None) -> None:
        raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        list(bert.embed(TEXTS[:200], show_progress=broken))
    assert len(list(bert.embed(TEXTS[:200]))) == 200  # the model is unharmed


def test_concurrent_calls_count_only_their_own(bert: TextEmbedding) -> None:
    sizes = [400, 900, 1500]
    recorders = [Recorder() for _ in sizes]
    errors: list[BaseException] = []

    def run(n: int, rec: Recorder) -> None:
        try:
            list(bert.embed(TEXTS[:n], batch_size=32, show_progress=rec))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=a) for a in zip(sizes, recorders, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for n, rec in zip(sizes, recorders, strict=True):
        assert rec.calls[-1] == (n, n)
        assert [d for d, _ in rec.calls] == sorted(d for d, _ in rec.calls)


# -- workers -----------------------------------------------------------------------------
def test_callback_with_workers_advances_per_chunk(bert: TextEmbedding) -> None:
    rec = Recorder()
    out = list(bert.embed(TEXTS, batch_size=64, parallel=2, show_progress=rec))
    assert same(out, list(bert.embed(TEXTS, batch_size=64, parallel=2)))
    assert rec.calls[-1] == (len(TEXTS), len(TEXTS))
    # A chunk holds at most batch_size inputs (chunks finishing together are counted
    # together); a pool window holds 2 workers x 2 chunks x 64.
    assert all(0 < step < 2 * 2 * 64 for step in rec.steps)
    assert len(rec.calls) >= len(TEXTS) // (2 * 64)
    bert.close()


# -- the other families and methods ------------------------------------------------------
def test_sparse_and_bm25() -> None:
    splade = SparseTextEmbedding(model_path=MODELS / "tiny-splade")
    rec = Recorder()
    out = list(splade.passage_embed(TEXTS[:500], batch_size=32, show_progress=rec))
    assert rec.calls[-1] == (500, 500) and len(rec.calls) > 1
    assert [v.indices.tolist() for v in out] == [
        v.indices.tolist() for v in splade.passage_embed(TEXTS[:500], batch_size=32)
    ]
    bm25 = SparseTextEmbedding("Qdrant/bm25")  # no ONNX: counted as each window ends
    rec = Recorder()
    list(bm25.embed(TEXTS, show_progress=rec))
    assert rec.calls[-1] == (len(TEXTS), len(TEXTS))


def test_cross_encoder_rerank_rank_and_pairs() -> None:
    model = TextCrossEncoder(model_path=MODELS / "tiny-cross-encoder")
    docs = TEXTS[:300]
    rec = Recorder()
    scores = list(model.rerank("a query", docs, batch_size=16, show_progress=rec))
    assert scores == list(model.rerank("a query", docs, batch_size=16))
    assert rec.calls[-1] == (300, 300) and all(0 < s <= 16 for s in rec.steps)
    rec = Recorder()
    best = model.rank("a query", docs, top_k=3, show_progress=rec)
    assert len(best) == 3 and rec.calls[-1] == (300, 300)
    rec = Recorder()
    list(model.rerank_pairs([("q", d) for d in docs[:50]], show_progress=rec))
    assert rec.calls[-1] == (50, 50)


def test_late_interaction_embed_and_rerank() -> None:
    spec = ColbertSpec(model="test/tiny-colbert", dim=16, output_name="output")
    model = LateInteractionTextEmbedding(model_path=MODELS / "tiny-colbert", spec=spec)
    rec = Recorder()
    list(model.embed(TEXTS[:200], batch_size=16, show_progress=rec))
    assert rec.calls[-1] == (200, 200) and len(rec.calls) > 1
    rec = Recorder()
    list(model.rerank("a query", TEXTS[:40], show_progress=rec))
    assert rec.calls[-1] == (40, 40)  # the documents; the query is not counted
    rec = Recorder()
    model.rank("a query", TEXTS[:40], top_k=2, show_progress=rec)
    assert rec.calls[-1] == (40, 40)


def test_image_methods() -> None:
    images = [str(p) for p in IMAGES] * 3
    clip = ImageEmbedding(model_path=MODELS / "tiny-clip")
    rec = Recorder()
    out = list(clip.embed(images, batch_size=2, show_progress=rec))
    assert same(out, list(clip.embed(images, batch_size=2)))
    assert rec.calls[-1] == (len(images), len(images)) and all(s <= 2 for s in rec.steps)
    colpali = LateInteractionMultimodalEmbedding(model_path=MODELS / "tiny-colpali")
    rec = Recorder()
    list(colpali.embed_image(images[:4], batch_size=2, show_progress=rec))
    assert rec.calls[-1] == (4, 4)
    rec = Recorder()
    list(colpali.embed_text(["a query", "another"], show_progress=rec))
    assert rec.calls[-1] == (2, 2)
    rec = Recorder()
    colpali.rank("a query", images[:3], show_progress=rec)
    assert rec.calls[-1] == (3, 3)


# -- bad input ---------------------------------------------------------------------------
BAD_VALUES = ["yes", 1, 0.5, [True]]


@pytest.mark.parametrize("value", BAD_VALUES)
@pytest.mark.parametrize("method", ["embed", "query_embed", "passage_embed"])
def test_bad_show_progress_is_refused_at_the_call(
    bert: TextEmbedding, method: str, value: Any
) -> None:
    with pytest.raises(ArgumentTypeError, match=rf"TextEmbedding\.{method}\(\): show_progress"):
        getattr(bert, method)(TEXTS[:2], show_progress=value)  # raised before iteration


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.rerank("q", ["d"], show_progress="yes"),
        lambda m: m.rank("q", ["d"], show_progress="yes"),
        lambda m: m.rerank_pairs([("q", "d")], show_progress="yes"),
    ],
)
def test_bad_show_progress_cross_encoder(call: Any) -> None:
    model = TextCrossEncoder(model_path=MODELS / "tiny-cross-encoder")
    with pytest.raises(ArgumentTypeError, match="show_progress"):
        list(call(model))


def test_bad_show_progress_images_and_misspelling() -> None:
    clip = ImageEmbedding(model_path=MODELS / "tiny-clip")
    with pytest.raises(ArgumentTypeError, match=r"ImageEmbedding\.embed\(\): show_progress"):
        clip.embed([str(IMAGES[0])], show_progress="yes")
    with pytest.raises(ArgumentTypeError, match="did you mean 'show_progress'"):
        clip.embed([str(IMAGES[0])], show_progres=True)
    colpali = LateInteractionMultimodalEmbedding(model_path=MODELS / "tiny-colpali")
    with pytest.raises(ArgumentTypeError, match="show_progress"):
        colpali.embed_text(["q"], show_progress=2)


# -- the pieces ----------------------------------------------------------------------------
def test_known_length() -> None:
    assert known_length([1, 2]) == 2
    assert known_length(np.zeros(3)) == 3
    assert known_length(iter([1])) is None
    assert known_length(x for x in "ab") is None


def test_forward_to_sums_calls_into_one_bar() -> None:
    total = Progress(10, bar=False)
    first, second = forward_to(total), forward_to(total)
    first(3, 5)
    second(4, 5)
    first(5, 5)
    second(5, 5)
    assert total.done == 10


def test_progress_initial_counts_earlier_work() -> None:
    rec = Recorder()
    progress = Progress(100, bar=False, callback=rec, initial=40)
    progress.advance(10)
    assert rec.calls == [(50, 100)]


# -- the adapters ----------------------------------------------------------------------------
def final_frame(err: str) -> str:
    return err.replace("\r", "\n").strip().splitlines()[-1]


def test_langchain_show_progress_field(capsys: Any) -> None:
    from embed_plugins.integrations.langchain import (
        EmbedPluginsEmbeddings,
        EmbedPluginsSparseEmbeddings,
    )

    dense = EmbedPluginsEmbeddings(model_path=str(MODELS / "tiny-bert"), show_progress=True)
    vectors = dense.embed_documents(TEXTS[:300])
    assert re.search(r"300/300 \[.*texts/s\]", final_frame(capsys.readouterr().err))
    quiet = EmbedPluginsEmbeddings(model_path=str(MODELS / "tiny-bert"))
    assert quiet.embed_documents(TEXTS[:300]) == vectors
    assert capsys.readouterr().err == ""
    sparse = EmbedPluginsSparseEmbeddings(show_progress=True)  # BM25
    sparse.embed_documents(TEXTS[:50])
    assert "50/50" in final_frame(capsys.readouterr().err)


def test_llama_index_show_progress_is_one_engine_bar(capsys: Any) -> None:
    from embed_plugins.integrations.llama_index import EmbedPluginsEmbedding

    model = EmbedPluginsEmbedding(model_path=str(MODELS / "tiny-bert"), embed_batch_size=64)
    vectors = model.get_text_embedding_batch(TEXTS[:300], show_progress=True)
    err = capsys.readouterr().err
    last = final_frame(err)
    # One bar over all 300 texts (LlamaIndex calls the model five times), in texts/s;
    # LlamaIndex's own bar (it/s, counting texts as they are queued) is not shown.
    assert last.startswith("Generating embeddings: 100%") and "300/300" in last, last
    assert "texts/s" in last and "it/s" not in err
    # (how it advances, batch by batch: tests/test_llama_index_embeddings.py)
    assert model.get_text_embedding_batch(TEXTS[:300]) == vectors
    assert capsys.readouterr().err == ""


async def test_llama_index_async_show_progress(capsys: Any) -> None:
    from embed_plugins.integrations.llama_index import EmbedPluginsEmbedding

    model = EmbedPluginsEmbedding(model_path=str(MODELS / "tiny-bert"), embed_batch_size=50)
    vectors = await model.aget_text_embedding_batch(TEXTS[:200], show_progress=True)
    assert len(vectors) == 200
    assert "200/200" in final_frame(capsys.readouterr().err)
