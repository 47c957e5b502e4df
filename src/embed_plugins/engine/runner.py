"""The one dispatch path: validate inputs, window them, run in-process or on the pool.

Every public model class holds one :class:`ModelRunner`.  It owns the lazily
built in-process pipeline and the lazily started worker pool, and yields
results in input order, streaming over iterables of any length with memory
bounded by the window size.
"""

from __future__ import annotations

import pickle
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from ..errors import ArgumentTypeError, InferenceError, InputTypeError, InvalidArgumentError
from .batching import validated_windows
from .pipeline import Pipeline, PipelineRecipe, Task
from .pool import WorkerPool
from .progress import Progress
from .quantize import prebuild
from .session import default_threads

Out = TypeVar("Out")

#: Validates one item (``item, absolute index -> item``) or raises InvalidInputError.
Validator = Callable[[Any, int], Any]


def check_text(item: Any, index: int) -> str:
    if isinstance(item, str):
        return item
    raise InputTypeError(
        f"input {index}: expected str, got {type(item).__name__}"
        + (" (decode bytes to str first)" if isinstance(item, (bytes, bytearray)) else "")
    )


def as_items(
    documents: Any, *, single: type | tuple[type, ...] = str, what: str = "documents"
) -> Iterable[Any]:
    """The user's argument as an iterable of items; one bare item becomes a list of one.

    ``None``, bare bytes and non-iterables raise :class:`InputTypeError` now,
    not at the first ``next()``.
    """
    if isinstance(documents, single):
        return [documents]
    if documents is None:
        raise InputTypeError(f"{what} must be a string or an iterable of strings, got None")
    if isinstance(documents, (bytes, bytearray, memoryview)):
        raise InputTypeError(f"{what} must be str, not {type(documents).__name__}: decode it first")
    if isinstance(documents, dict) or not isinstance(documents, Iterable):
        raise InputTypeError(
            f"{what} must be a string or an iterable of strings, got {type(documents).__name__}"
        )
    return documents


def check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidArgumentError(f"batch_size must be a positive int, got {batch_size!r}")
    return batch_size


class ModelRunner(Generic[Out]):
    """Runs one model's pipeline over user inputs, in-process or in workers."""

    def __init__(self, recipe: PipelineRecipe, *, lazy: bool = False) -> None:
        self.recipe = recipe
        self._pipeline: Pipeline[Any, Out] | None = None
        self._pool: WorkerPool | None = None
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize[Any, Any] | None = None
        if not lazy:
            self.pipeline()

    @property
    def loaded(self) -> Pipeline[Any, Out] | None:
        """The in-process pipeline if it is built, else ``None`` (builds nothing)."""
        return self._pipeline

    def pipeline(self) -> Pipeline[Any, Out]:
        """The in-process pipeline, built on first use."""
        pipeline = self._pipeline
        if pipeline is None:
            with self._lock:
                if self._pipeline is None:
                    self._pipeline = self.recipe.create()
                pipeline = self._pipeline
        return pipeline

    def run(
        self,
        items: Iterable[Any],
        *,
        batch_size: int,
        task: Task,
        validate: Validator = check_text,
        parallel: int | None = None,
        size_hint: Callable[[Any], int] = len,
        progress: Progress | None = None,
    ) -> Iterator[Out]:
        """Results in input order; a generator, so nothing runs until iterated.

        ``parallel=None`` runs in this process; ``parallel=N`` on the model's
        worker pool of N processes (``0``: one per core), started on first use
        and reused by later calls.  ``progress`` advances as ONNX batches finish
        (in-process) or as chunks come back from workers.
        """
        check_batch_size(batch_size)
        n_workers = None if parallel is None else check_parallel(parallel)
        one = isinstance(items, (list, tuple)) and len(items) <= 1
        results: Iterator[Out]
        if n_workers is None or (one and self._pipeline is not None):
            # One item gains nothing from a worker and would pay a round trip for it (unless
            # this process has no model loaded: lazy_load with workers loads none here).
            results = self._run_local(items, batch_size, task, validate, progress)
        else:
            results = self._run_pool(
                n_workers, items, batch_size, task, validate, size_hint, progress
            )
        return results if progress is None else progress.track(results)

    def _run_pool(
        self,
        n_workers: int,
        items: Iterable[Any],
        batch_size: int,
        task: Task,
        validate: Validator,
        size_hint: Callable[[Any], int],
        progress: Progress | None,
    ) -> Iterator[Out]:
        # The pool is fetched (and started, or replaced) only when iteration begins.
        on_done = None if progress is None else progress.advance
        yield from self.pool(n_workers).run(items, batch_size, task, validate, size_hint, on_done)

    def pool(self, n_workers: int) -> WorkerPool:
        """The model's worker pool with ``n_workers`` workers (a broken one is replaced)."""
        with self._lock:
            pool = self._pool
            if pool is not None and (pool.size != n_workers or not pool.healthy):
                if pool.busy and pool.healthy:
                    raise RuntimeError(
                        "this model's worker pool is serving another call; finish iterating "
                        "it before starting a call with a different parallel setting"
                    )
                pool.close()
                pool = None
            if pool is None:
                check_sendable(self.recipe, n_workers)
                prebuild(self.recipe)  # an int8 graph: built here once, loaded by the workers
                pool = WorkerPool(self.recipe, n_workers)
                self._pool = pool
                if self._finalizer is not None:
                    self._finalizer.detach()
                self._finalizer = weakref.finalize(self, pool.close)
            return pool

    def _run_local(
        self,
        items: Iterable[Any],
        batch_size: int,
        task: Task,
        validate: Validator,
        progress: Progress | None = None,
    ) -> Iterator[Out]:
        pipeline = self.pipeline()
        offset = 0
        for window in validated_windows(items, max(4 * batch_size, 2048), validate):
            try:
                if progress is None:
                    results = pipeline.process(window, batch_size, task)
                else:
                    with progress.window(len(window)):
                        results = pipeline.process(window, batch_size, task)
            except InferenceError as exc:  # its indices count from the window's start
                raise exc.relocated(range(offset, offset + len(window))) from exc.__cause__
            offset += len(window)
            yield from results

    def close(self) -> None:
        """Stop the worker pool, if any (the in-process session stays usable)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None


def check_sendable(recipe: PipelineRecipe, n_workers: int) -> None:
    """Workers rebuild the pipeline from a pickled recipe: refuse one that does not pickle
    (a custom BM25 stemmer defined inside a function, say) with the reason, before any
    process starts.  In-process use never pickles, so it works without this."""
    spec = recipe.spec
    stemmer = getattr(spec, "stemmer", None)
    if stemmer is not None:
        from ..families.bm25_options import check_stemmer

        check_stemmer(stemmer, f"parallel={n_workers} with BM25 model {spec.model!r}")
    try:
        pickle.dumps(recipe, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise ArgumentTypeError(
            f"parallel={n_workers}: {spec.model!r} cannot be sent to worker processes, which "
            f"rebuild it from its pickled settings ({type(exc).__name__}: {exc}); make every "
            "custom object in its spec picklable, or use parallel=None"
        ) from exc


def check_parallel(parallel: Any) -> int:
    """``parallel`` as a worker count: ``0`` means one per core."""
    if isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 0:
        raise InvalidArgumentError(f"parallel must be None or an int >= 0, got {parallel!r}")
    return default_threads() if parallel == 0 else parallel
