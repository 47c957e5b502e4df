"""One pool, many callers; workers that die while idle or hang (issue: reliability).

Real processes on the tiny BERT fixture; faults are injected with real signals
(SIGKILL, SIGSTOP).  Every result is compared with the in-process result of the
same text.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from embed_plugins import InvalidInputError, TextEmbedding, WorkerError
from embed_plugins.engine.worker import HANG_TIMEOUT_ENV
from pool_helpers import consume_in_thread, run_slow, slow_pool, worker_inside_stuck_chunk

TINY = Path(__file__).parent / "fixtures" / "models" / "tiny-bert"
#: Several scripts the tiny vocabulary knows (Latin with accents, Cyrillic, Arabic, CJK).
SEEDS = [
    "the cat sat on the mat",
    "Le café est très bon à Paris",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein",
    "Москва — столица России",
    "اللغة العربية جميلة",
    "東京 中文 日本",
    "numbers 1234 and symbols !?",
]
TEXTS = [f"{SEEDS[i % len(SEEDS)]} {'word ' * (i % 23)}#{i}" for i in range(400)]


@pytest.fixture
def model() -> Iterator[TextEmbedding]:
    m = TextEmbedding(model_path=TINY)
    yield m
    m.close()


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    m = TextEmbedding(model_path=TINY)
    return dict(zip(TEXTS, m.embed(TEXTS, batch_size=16), strict=True))


def check(texts: list[str], got: list[np.ndarray], reference: dict[str, np.ndarray]) -> None:
    assert len(got) == len(texts)
    for text, vector in zip(texts, got, strict=True):
        np.testing.assert_allclose(vector, reference[text], atol=1e-6)


def test_sixteen_threads_share_one_pool(model: TextEmbedding, reference: dict) -> None:
    errors: list[BaseException] = []
    results: dict[int, list[np.ndarray]] = {}

    def work(k: int) -> None:
        texts = TEXTS[k * 25 : (k + 1) * 25] + TEXTS[: k + 1]
        try:
            results[k] = list(model.embed(texts, batch_size=4, parallel=2))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    for k in range(16):
        check(TEXTS[k * 25 : (k + 1) * 25] + TEXTS[: k + 1], results[k], reference)
    pool = model._runner._pool
    assert pool is not None and pool.healthy and not pool.busy


def test_async_tasks_through_the_langchain_adapter(reference: dict) -> None:
    from embed_plugins.integrations.langchain import EmbedPluginsEmbeddings

    emb = EmbedPluginsEmbeddings(
        model_path=str(TINY), parallel=2, batch_size=4, doc_embed_type="default"
    )

    async def main() -> list[list[list[float]]]:
        calls = [emb.aembed_documents(TEXTS[k * 10 : k * 10 + 17]) for k in range(20)]
        return await asyncio.gather(*calls)

    try:
        out = asyncio.run(main())
    finally:
        emb.close()
    for k, vectors in enumerate(out):
        check(TEXTS[k * 10 : k * 10 + 17], [np.asarray(v, np.float32) for v in vectors], reference)


def test_a_worker_killed_while_idle_does_not_fail_the_next_call(
    model: TextEmbedding, reference: dict
) -> None:
    for round_ in range(4):
        got = list(model.embed(TEXTS[:40], batch_size=4, parallel=2))
        check(TEXTS[:40], got, reference)
        pool = model._runner._pool
        assert pool is not None
        victim = pool._workers[round_ % 2]
        os.kill(victim.process.pid, signal.SIGKILL)
        # At once: the kill may not even be delivered yet when the call starts.
        got = list(model.embed(TEXTS[40:90], batch_size=4, parallel=2))
        check(TEXTS[40:90], got, reference)
        assert victim not in pool._workers
        assert model._runner._pool is pool


def test_a_hung_worker_is_killed_and_named() -> None:
    pool = slow_pool(hang_timeout=2)
    try:
        items = list(range(80))
        thread, errors = consume_in_thread(run_slow(pool, items))
        victim = worker_inside_stuck_chunk(pool)
        os.kill(victim.process.pid, signal.SIGSTOP)
        start = time.monotonic()
        thread.join(30)
        elapsed = time.monotonic() - start
        assert elapsed < 8, elapsed
        assert len(errors) == 1 and isinstance(errors[0], WorkerError), errors
        message = str(errors[0])
        assert "stopped responding" in message
        assert str(victim.process.pid) in message and f"worker {victim.index}" in message
        assert HANG_TIMEOUT_ENV in message and re.search(r"inputs? \d+", message)
        assert not victim.process.is_alive()
        # The pool goes on with a fresh worker in its place.
        again = list(run_slow(pool, items[:12]))
        assert again == [2 * i for i in items[:12]]
    finally:
        pool.close()


def test_a_worker_stopped_while_idle_is_replaced_and_the_call_succeeds(
    monkeypatch: pytest.MonkeyPatch, reference: dict
) -> None:
    monkeypatch.setenv(HANG_TIMEOUT_ENV, "2")
    model = TextEmbedding(model_path=TINY)
    try:
        list(model.embed(TEXTS[:20], batch_size=4, parallel=2))
        pool = model._runner._pool
        assert pool is not None
        victim = pool._workers[1]
        os.kill(victim.process.pid, signal.SIGSTOP)  # never starts what it is sent
        start = time.monotonic()
        got = list(model.embed(TEXTS[:60], batch_size=4, parallel=2))
        assert time.monotonic() - start < 10
        check(TEXTS[:60], got, reference)
        assert victim not in pool._workers
    finally:
        model.close()


def test_hang_timeout_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HANG_TIMEOUT_ENV, "soon")
    model = TextEmbedding(model_path=TINY)
    with pytest.raises(ValueError, match=HANG_TIMEOUT_ENV):
        list(model.embed(TEXTS[:4], parallel=2))


def test_a_small_call_is_not_queued_behind_a_large_one() -> None:
    pool = slow_pool()  # 0.1 s an item, chunks of 4: the large call takes about 10 s
    try:
        large_done: list[float] = []
        start = time.monotonic()

        def large() -> None:
            assert list(run_slow(pool, list(range(200)))) == [2 * i for i in range(200)]
            large_done.append(time.monotonic() - start)

        thread = threading.Thread(target=large)
        thread.start()
        time.sleep(1.0)
        small_start = time.monotonic()
        assert list(run_slow(pool, list(range(8)))) == [2 * i for i in range(8)]
        small = time.monotonic() - small_start
        assert small < 4, small  # its chunks take turns with the large call's
        assert not large_done  # and it finished long before the large call
        thread.join(60)
        assert large_done
    finally:
        pool.close()


def test_an_input_that_cannot_be_sent_fails_its_call_and_names_it() -> None:
    pool = slow_pool()
    try:
        items = [1, 2, 3, lambda: 4, 5]  # a lambda does not pickle
        with pytest.raises(InvalidInputError, match="cannot be sent to a worker"):
            list(pool.run(items, 2, "document", lambda x, i: x, lambda x: 1))
        assert list(run_slow(pool, [1, 2, 3])) == [2, 4, 6]  # the pool goes on
    finally:
        pool.close()
