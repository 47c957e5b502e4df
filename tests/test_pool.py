"""The persistent worker pool: reuse, order, back-pressure, failures, start methods.

Workers are real processes running the tiny BERT fixture; the failure tests
kill them for real with ``os.kill``.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from embed_plugins import DenseSpec, InputTypeError, TextEmbedding, WorkerError
from embed_plugins.engine import pool as pool_mod
from pool_helpers import consume_in_thread, run_slow, slow_pool, worker_inside_stuck_chunk

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "models" / "tiny-bert"

TEXTS = [("word " * (i % 40)) + f"text number {i}" for i in range(300)]


@pytest.fixture(scope="module")
def model() -> TextEmbedding:
    m = TextEmbedding(model_path=TINY)
    yield m
    m.close()


def local(model: TextEmbedding, texts: list[str]) -> np.ndarray:
    return np.stack(list(model.embed(texts, batch_size=16)))


def test_parallel_matches_in_process_in_order(model: TextEmbedding) -> None:
    expected = local(model, TEXTS)
    got = np.stack(list(model.embed(TEXTS, batch_size=16, parallel=2)))
    np.testing.assert_array_equal(got, expected)


def test_pool_is_started_once_and_reused(model: TextEmbedding) -> None:
    list(model.embed(TEXTS[:10], parallel=2))
    pool = model._runner._pool
    assert pool is not None
    pids = [w.process.pid for w in pool._workers]
    list(model.embed(TEXTS[:10], parallel=2))
    list(model.query_embed(TEXTS[:10], parallel=2))
    assert model._runner._pool is pool
    assert [w.process.pid for w in pool._workers] == pids


def test_parallel_zero_means_one_worker_per_core(model: TextEmbedding) -> None:
    from embed_plugins.engine.session import default_threads

    list(model.embed(TEXTS[:5], parallel=0))
    assert model._runner._pool is not None
    assert model._runner._pool.size == default_threads()


def test_threads_do_not_oversubscribe(model: TextEmbedding) -> None:
    list(model.embed(TEXTS[:5], parallel=2))
    pool = model._runner._pool
    assert pool is not None
    assert pool.threads_per_worker * pool.size <= max(2, os.cpu_count() or 1)


def test_streams_a_generator_with_bounded_reads(model: TextEmbedding) -> None:
    """The input iterator is read only as far as results are consumed (back-pressure)."""
    pulled = 0

    def source():  # type: ignore[no-untyped-def]
        nonlocal pulled
        for i in range(1_000_000):
            pulled += 1
            yield f"text {i}"

    results = model.embed(source(), batch_size=8, parallel=2)
    first = [next(results) for _ in range(20)]
    assert len(first) == 20
    # Two chunks per worker in flight at most, plus one window being assembled.
    assert pulled <= 8 * 2 * 2 * 2 + 8
    results.close()  # type: ignore[attr-defined]


def test_input_errors_name_the_index_under_parallel(model: TextEmbedding) -> None:
    with pytest.raises(InputTypeError, match="input 3: expected str, got int"):
        list(model.embed(["a", "b", "c", 3], parallel=2))  # type: ignore[list-item]


def test_worker_exception_keeps_type_message_and_traceback(model: TextEmbedding) -> None:
    """An exception raised inside a worker reaches the caller as itself, with the
    worker's traceback text attached as the cause."""
    pool = model._runner.pool(2)
    results = pool.run(
        [1, 2, 3], batch_size=2, task="document", validate=lambda x, i: x, size_hint=lambda x: 0
    )
    with pytest.raises(TypeError, match="has no len") as info:
        list(results)
    cause = info.value.__cause__
    assert isinstance(cause, pool_mod.RemoteTraceback)
    assert "Worker traceback" in str(cause)
    assert "encode_texts" in cause.tb  # the frame inside the worker that raised
    # An input's exception does not harm the workers: the same pool serves the next call.
    np.testing.assert_array_equal(
        np.stack(list(model.embed(TEXTS[:20], batch_size=16, parallel=2))), local(model, TEXTS[:20])
    )
    assert model._runner._pool is pool


@pytest.mark.parametrize(
    ("sig", "name"), [(signal.SIGKILL, "SIGKILL"), (signal.SIGTERM, "SIGTERM")]
)
def test_worker_killed_mid_chunk_is_named_fast_then_replaced(sig: int, name: str) -> None:
    pool = slow_pool()
    try:
        items = list(range(80))
        thread, errors = consume_in_thread(run_slow(pool, items))
        victim = worker_inside_stuck_chunk(pool)
        os.kill(victim.process.pid, sig)
        start = time.monotonic()
        thread.join(30)
        elapsed = time.monotonic() - start
        assert elapsed < 5, elapsed
        assert len(errors) == 1 and isinstance(errors[0], WorkerError), errors
        message = str(errors[0])
        assert name in message and str(victim.process.pid) in message
        assert f"worker {victim.index}" in message
        assert re.search(r"while processing inputs? \d+(-\d+)? of this call", message)
        # The dead worker was replaced in place: no orphan, a fresh process at its index.
        assert not victim.process.is_alive()
        assert victim not in pool._workers
        assert pool._workers[victim.index].index == victim.index
        assert list(run_slow(pool, items[:12])) == [2 * i for i in items[:12]]
    finally:
        pool.close()
    assert not any(w.process.is_alive() for w in [victim, *pool._workers])


def test_a_killed_worker_fails_the_call_fast_on_a_real_model(model: TextEmbedding) -> None:
    # Whether the kill lands mid-chunk (reported) or between chunks (repaired), the call
    # never hangs, and the model keeps giving the right numbers.
    results = model.embed(TEXTS * 20, batch_size=8, parallel=2)
    next(results)
    pool = model._runner._pool
    assert pool is not None
    os.kill(pool._workers[1].process.pid, signal.SIGKILL)
    start = time.monotonic()
    try:
        rest = list(results)
    except WorkerError as exc:
        assert "SIGKILL" in str(exc)
    else:
        assert len(rest) == len(TEXTS) * 20 - 1
    assert time.monotonic() - start < 10
    got = np.stack(list(model.embed(TEXTS[:50], batch_size=16, parallel=2)))
    np.testing.assert_array_equal(got, local(model, TEXTS[:50]))


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_start_methods_with_a_runtime_custom_spec(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spec made at run time (not in the catalogue) reaches spawned workers intact."""
    monkeypatch.setenv("EMBED_PLUGINS_START_METHOD", method)
    spec = DenseSpec(
        model="runtime/custom-cls",
        model_file="onnx/model.onnx",
        dim=32,
        pooling="cls",
        normalize=False,
        max_length=12,
    )
    with TextEmbedding(spec=spec, model_path=TINY) as m:
        expected = local(m, TEXTS[:40])
        got = np.stack(list(m.embed(TEXTS[:40], batch_size=16, parallel=2)))
        np.testing.assert_array_equal(got, expected)
        pool = m._runner._pool
        assert pool is not None
        assert pool.start_method == method
    # close() via the context manager stopped the workers.
    assert not any(w.process.is_alive() for w in pool._workers)


def test_close_and_garbage_collection_stop_workers() -> None:
    m = TextEmbedding(model_path=TINY)
    list(m.embed(TEXTS[:5], parallel=2))
    pool = m._runner._pool
    assert pool is not None
    processes = [w.process for w in pool._workers]
    assert all(p.is_alive() for p in processes)
    del m, pool
    import gc

    gc.collect()
    deadline = time.monotonic() + 10
    while any(p.is_alive() for p in processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(p.is_alive() for p in processes)


def test_parallel_argument_is_checked(model: TextEmbedding) -> None:
    for bad in (-1, 1.5, "2", True):
        with pytest.raises(ValueError, match="parallel"):
            model.embed(["x"], parallel=bad)  # type: ignore[arg-type]


def test_interleaved_parallel_calls_on_one_thread_both_succeed(model: TextEmbedding) -> None:
    first = model.embed(TEXTS * 5, batch_size=8, parallel=2)
    head = next(first)
    second = list(model.embed(TEXTS[:3], parallel=2))  # while the first is open
    np.testing.assert_array_equal(np.stack(second), local(model, TEXTS[:3]))
    rest = list(first)
    np.testing.assert_array_equal(np.stack([head, *rest]), local(model, TEXTS * 5))


def test_empty_input_starts_no_work(model: TextEmbedding) -> None:
    assert list(model.embed([], parallel=2)) == []
    assert threading.active_count() >= 1


def test_close_during_a_call_raises_a_clear_error_not_a_hang() -> None:
    m = TextEmbedding(model_path=TINY)
    results = m.embed(TEXTS * 5, batch_size=4, parallel=2)
    for _ in range(5):
        next(results)
    m.close()
    start = time.monotonic()
    with pytest.raises(WorkerError, match="shut down during this call"):
        list(results)
    assert time.monotonic() - start < 5
    # The model still works, with a fresh pool.
    got = np.stack(list(m.embed(TEXTS[:20], batch_size=16, parallel=2)))
    np.testing.assert_array_equal(got, local(m, TEXTS[:20]))
    m.close()


def test_stopping_early_without_work_in_flight_keeps_the_pool(model: TextEmbedding) -> None:
    list(model.embed(TEXTS[:10], parallel=2))
    pool = model._runner._pool
    results = model.embed(TEXTS[:10], batch_size=16, parallel=2)
    next(results)  # one window: everything is back when the first result is yielded
    results.close()  # type: ignore[attr-defined]
    list(model.embed(TEXTS[:10], parallel=2))
    assert model._runner._pool is pool


def test_stopping_early_with_work_in_flight_keeps_the_pool(model: TextEmbedding) -> None:
    results = model.embed(TEXTS * 20, batch_size=4, parallel=2)
    next(results)
    pool = model._runner._pool
    results.close()  # type: ignore[attr-defined]
    got = np.stack(list(model.embed(TEXTS[:30], batch_size=16, parallel=2)))
    np.testing.assert_array_equal(got, local(model, TEXTS[:30]))  # no stale results
    assert model._runner._pool is pool


def test_a_different_parallel_while_a_call_is_open_is_refused(model: TextEmbedding) -> None:
    first = model.embed(TEXTS * 5, batch_size=8, parallel=2)
    next(first)
    with pytest.raises(RuntimeError, match="serving another call"):
        next(model.embed(TEXTS[:5], parallel=1))
    assert len(list(first)) == len(TEXTS) * 5 - 1


def test_lazy_model_with_workers_loads_no_model_in_this_process() -> None:
    m = TextEmbedding(model_path=TINY, lazy_load=True)
    try:
        (vector,) = list(m.embed(["just one text"], parallel=2))
        assert m._runner._pipeline is None  # the one item went to a worker
        np.testing.assert_allclose(
            vector, next(TextEmbedding(model_path=TINY).embed("just one text")), atol=1e-6
        )
    finally:
        m.close()
