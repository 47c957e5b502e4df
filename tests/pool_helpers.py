"""A slow stand-in pipeline for the pool's fault tests, importable by worker processes.

Its chunks take 0.1 s an item, and the chunk holding ``STUCK`` 5 s more, so a test can
wait until one worker is surely inside that chunk and signal it there (the case the
pool must report), never between chunks (the case it repairs silently).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from embed_plugins.catalog.spec import ModelSpec
from embed_plugins.engine.pipeline import PipelineRecipe
from embed_plugins.engine.pool import WorkerPool
from embed_plugins.engine.worker import Worker

STUCK = 40


class SlowPipeline:
    def process(self, items: list[int], batch_size: int, task: str) -> list[int]:
        time.sleep(0.1 * len(items) + (5.0 if STUCK in items else 0.0))
        return [2 * i for i in items]


def build_slow(recipe: PipelineRecipe) -> SlowPipeline:
    return SlowPipeline()


def slow_pool(workers: int = 2, **kwargs: object) -> WorkerPool:
    recipe = PipelineRecipe(build=build_slow, spec=ModelSpec(model="slow"), model_dir=None)
    return WorkerPool(recipe, workers, **kwargs)  # type: ignore[arg-type]


def run_slow(pool: WorkerPool, items: list[int]):  # type: ignore[no-untyped-def]
    return pool.run(items, 4, "document", lambda x, i: x, lambda x: 1)


def consume_in_thread(results: Iterator[Any]) -> tuple[threading.Thread, list[BaseException]]:
    """Iterate ``results`` on a thread (so the call keeps dispatching); errors collected."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in results:
                pass
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def worker_inside_stuck_chunk(pool: WorkerPool, timeout: float = 20.0) -> Worker:
    """The worker holding the ``STUCK`` chunk, once it has surely started it (a chunk
    queued before it takes at most 0.4 s; the stuck one 5 s more)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in list(pool._workers):
            if any(STUCK in chunk.items for chunk in list(worker.chunks.values())):
                time.sleep(1.0)
                return worker
        time.sleep(0.02)
    raise AssertionError("no worker received the stuck chunk")


class DevicePipeline:
    """Answers each item with the device its worker's session config names (no session is
    built, so no GPU is needed to see where ``device_ids`` placed each worker)."""

    def __init__(self, recipe: PipelineRecipe) -> None:
        self.device = recipe.session.resolved_providers()[0]

    def process(self, items: list[int], batch_size: int, task: str) -> list[Any]:
        time.sleep(0.05)  # long enough that both workers take chunks
        return [self.device for _ in items]


def build_device(recipe: PipelineRecipe) -> DevicePipeline:
    return DevicePipeline(recipe)
