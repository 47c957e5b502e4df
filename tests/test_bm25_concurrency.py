"""One BM25 model shared by many threads gives exactly the single-threaded vectors.

The adapters' async methods (``asyncio.to_thread``) and any threaded server
share one :class:`~embed_plugins.SparseTextEmbedding`, so its caches (chunk
dictionaries, key tables, the multi-index table, the generations that age
them) see concurrent callers.  Every vector of every thread is compared with
a fresh single-threaded model's, and every exception is counted: a race shows
up as wrong vectors as often as it shows up as an error.

The text is real and multilingual (many distinct non-ASCII words: the races
need new cache entries while other threads read), committed under
``tests/fixtures/data/`` so that every machine runs the same test.  The GIL's
switch interval is shortened while the threads run, so that they interleave
inside the cache updates rather than only between them.
"""

from __future__ import annotations

import asyncio
import random
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from embed_plugins import SparseTextEmbedding
from embed_plugins.families import bm25 as bm25_module
from embed_plugins.families.bm25_scan import KeyTable
from embed_plugins.results import SparseVector

CORPUS = Path(__file__).parent / "fixtures" / "data" / "bm25_multilingual.tsv"
THREADS_PER_KIND = 8  # embedding threads, and as many querying threads
ROUNDS = 3
SWITCH_INTERVAL_S = 1e-5


def _corpus() -> list[tuple[str, str]]:
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        language, text = line.split("\t")
        rows.append((language, text))
    return rows


ROWS = _corpus()
TEXTS = [text for _, text in ROWS]


@pytest.fixture(scope="module")
def reference() -> dict[str, list[SparseVector]]:
    """Document and query vectors of every text from fresh single-threaded models."""
    return {
        "documents": list(SparseTextEmbedding("Qdrant/bm25").embed(TEXTS)),
        "queries": list(SparseTextEmbedding("Qdrant/bm25").query_embed(TEXTS)),
    }


def _same(got: SparseVector, want: SparseVector) -> bool:
    return np.array_equal(got.indices, want.indices) and np.array_equal(got.values, want.values)


@pytest.fixture
def short_switch_interval() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@dataclass
class Tally:
    vectors: int = 0
    mismatches: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def report(self) -> str:
        return (
            f"{self.mismatches} of {self.vectors} vectors differ from the single-threaded "
            f"reference; {sum(self.errors.values())} calls raised: {dict(self.errors)}"
        )


def _batches(seed: int, count: int) -> list[list[int]]:
    """Every text number once, shuffled, cut into batches of 1-8 texts (the small-call path)
    and 9-160 texts (the numpy path)."""
    rng = random.Random(seed)
    order = list(range(count))
    rng.shuffle(order)
    batches, start = [], 0
    while start < count:
        size = rng.randint(1, 8) if rng.random() < 0.5 else rng.randint(9, 160)
        batches.append(order[start : start + size])
        start += size
    return batches


def _worker(
    embed: Callable[[list[str]], Iterable[SparseVector]],
    want: list[SparseVector],
    seed: int,
    tally: Tally,
    start: threading.Barrier,
) -> None:
    start.wait()
    for batch in _batches(seed, len(TEXTS)):
        try:
            got = list(embed([TEXTS[i] for i in batch]))
            bad = sum(not _same(g, want[i]) for g, i in zip(got, batch, strict=True))
        except Exception as exc:  # counted, and the thread goes on
            where = traceback.extract_tb(exc.__traceback__)[-1].name
            with tally.lock:
                tally.errors[f"{type(exc).__name__} in {where}"] += 1
            continue
        with tally.lock:
            tally.vectors += len(got)
            tally.mismatches += bad


def _hammer(model: SparseTextEmbedding, reference: dict[str, list[SparseVector]]) -> Tally:
    """8 threads embedding and 8 querying, all through ``model``, released at once."""
    tally = Tally()
    start = threading.Barrier(2 * THREADS_PER_KIND)
    threads = [
        threading.Thread(
            target=_worker,
            args=(embed, reference[kind], seed, tally, start),
            name=f"bm25-{kind}-{seed}",
        )
        for seed in range(THREADS_PER_KIND)
        for embed, kind in ((model.embed, "documents"), (model.query_embed, "queries"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


@pytest.fixture(params=["default", "tiny"])
def caches(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The caches' bounds: the defaults, or tiny ones, so that the caches age (start new
    generations) every few batches while other threads are using them."""
    if request.param == "tiny":
        monkeypatch.setattr(bm25_module, "_MAX_CACHED_CHUNKS", 256)
        monkeypatch.setattr(bm25_module, "_MAX_CACHED_CHARS", 4096)
        monkeypatch.setattr(bm25_module, "_MAX_CACHED_TOKENS", 256)
        monkeypatch.setattr(bm25_module, "_MAX_KEYED", 512)
    return str(request.param)


@pytest.mark.usefixtures("short_switch_interval", "caches")
def test_shared_model_threads_match_single_threaded_reference(
    reference: dict[str, list[SparseVector]],
) -> None:
    for _ in range(ROUNDS):  # a fresh shared model each round: the races need cold caches
        model = SparseTextEmbedding("Qdrant/bm25")
        tally = _hammer(model, reference)
        assert not tally.errors and tally.mismatches == 0, tally.report()
        assert tally.vectors == 2 * THREADS_PER_KIND * len(TEXTS)
        # The shared model is still right afterwards, single-threaded.
        again = list(model.embed(TEXTS))
        assert all(_same(g, w) for g, w in zip(again, reference["documents"], strict=True))


@pytest.mark.usefixtures("short_switch_interval", "caches")
async def test_langchain_concurrent_aembed_documents_french_german() -> None:
    """200 concurrent ``aembed_documents`` calls on one adapter (``asyncio.to_thread``)."""
    pytest.importorskip("langchain_qdrant")
    from embed_plugins.integrations.langchain import EmbedPluginsSparseEmbeddings

    texts = [text for language, text in ROWS if language in ("fr", "de")]
    reference = EmbedPluginsSparseEmbeddings(model_name="Qdrant/bm25").embed_documents(texts)
    want = {text: (v.indices, v.values) for text, v in zip(texts, reference, strict=True)}
    rng = random.Random(12)
    for _ in range(ROUNDS):  # a fresh shared adapter each round: the races need cold caches
        calls = []
        for _ in range(200):  # mostly the small-call path (<= 8 texts), some numpy batches
            size = rng.randint(1, 12)
            start = rng.randrange(len(texts) - size)
            calls.append(texts[start : start + size])
        shared = EmbedPluginsSparseEmbeddings(model_name="Qdrant/bm25")
        results = await asyncio.gather(
            *(shared.aembed_documents(call) for call in calls), return_exceptions=True
        )
        errors = Counter(type(r).__name__ for r in results if isinstance(r, BaseException))
        wrong = sum(
            any((v.indices, v.values) != want[text] for v, text in zip(result, call, strict=True))
            for result, call in zip(results, calls, strict=True)
            if not isinstance(result, BaseException)
        )
        assert not errors and wrong == 0, (
            f"{sum(errors.values())} of 200 calls raised ({dict(errors)}), {wrong} returned "
            "vectors that differ from the single-threaded reference"
        )


@pytest.mark.usefixtures("short_switch_interval")
def test_key_table_concurrent_adds_keep_every_key_once() -> None:
    """Threads adding to one key table (each its own keys, and all of them the same shared
    keys) lose none and store none twice, while lookups run."""
    rng = np.random.default_rng(5)
    keys = rng.choice(np.uint64(1) << np.uint64(62), size=40_000, replace=False).astype(np.uint64)
    words = rng.integers(0, 1 << 62, size=(keys.size, 4), dtype=np.int64).astype(np.uint64)
    codes = np.arange(keys.size, dtype=np.int64)
    shared = np.arange(4_000)  # every thread adds these, in the same batches
    own = np.array_split(np.arange(4_000, keys.size), THREADS_PER_KIND)
    table = KeyTable()
    start = threading.Barrier(THREADS_PER_KIND)
    failures: list[str] = []

    def add(rows: np.ndarray) -> None:
        rows = rows[np.argsort(keys[rows])]
        codes_now, found, clash = table.lookup(keys[rows], words[rows])
        if clash.any() or not np.array_equal(codes_now[found], codes[rows][found]):
            failures.append("lookup")
        missing = rows[~(found | clash)]
        table.add(keys[missing], words[missing], codes[missing])

    def worker(mine: np.ndarray) -> None:
        start.wait()
        for part, common in zip(
            np.array_split(mine, 100), np.array_split(shared, 100), strict=True
        ):
            add(part)
            add(common)

    threads = [threading.Thread(target=worker, args=(rows,)) for rows in own]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert len(table) == keys.size  # no key lost, none stored twice
    got, found, clash = table.lookup(keys, words)
    assert found.all() and not clash.any() and np.array_equal(got, codes)
