"""A slow stand-in pipeline for the pool's fault tests, importable by worker processes.

Its chunks take 0.1 s an item, so a signal sent to a worker after its first result
lands while it runs a chunk (the case the pool must report), not between chunks
(the case it repairs silently).
"""

from __future__ import annotations

import time

from embed_plugins.catalog.spec import ModelSpec
from embed_plugins.engine.pipeline import PipelineRecipe
from embed_plugins.engine.pool import WorkerPool


class SlowPipeline:
    def process(self, items: list[int], batch_size: int, task: str) -> list[int]:
        time.sleep(0.1 * len(items))
        return [2 * i for i in items]


def build_slow(recipe: PipelineRecipe) -> SlowPipeline:
    return SlowPipeline()


def slow_pool(workers: int = 2, **kwargs: object) -> WorkerPool:
    recipe = PipelineRecipe(build=build_slow, spec=ModelSpec(model="slow"), model_dir=None)
    return WorkerPool(recipe, workers, **kwargs)  # type: ignore[arg-type]


def run_slow(pool: WorkerPool, items: list[int]):  # type: ignore[no-untyped-def]
    return pool.run(items, 4, "document", lambda x, i: x, lambda x: 1)
