"""Persistent worker processes: one pool per model object, started on first use.

Each worker builds the pipeline once from the picklable recipe and then runs
pre-processing, inference and post-processing for whole chunks of inputs,
sending back only final results.  The parent:

* cuts the input stream into windows, sorts each window by text length and
  cuts it into chunks of similar length (so workers pad little);
* keeps a bounded number of chunks in flight per worker (back-pressure: the
  input iterator is read only as fast as results are consumed);
* yields results in input order;
* waits on the result pipes *and* the process sentinels, so a worker killed by
  a signal is noticed at once and reported by name and signal, never a hang;
* re-raises a worker's exception with its original type, message and the
  worker's traceback text.

A pool that saw a failure is torn down; the next call starts a fresh one.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import pickle
import queue as queue_mod
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from ..errors import WorkerError
from .batching import validated_windows
from .pipeline import PipelineRecipe, Task
from .session import default_threads

#: How often (seconds) the parent re-checks worker health while waiting.
_POLL_S = 0.5
#: Chunks each worker may hold (one running, one queued) before the parent waits.
_IN_FLIGHT_PER_WORKER = 2

Validator = Callable[[Any, int], Any]


class RemoteTraceback(Exception):
    """The formatted traceback of an exception raised in a worker (set as ``__cause__``)."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f"\n\nWorker traceback:\n{self.tb}"


def _worker_main(recipe: PipelineRecipe, tasks: Any, results: Connection, name: str) -> None:
    """Worker loop: build the pipeline once, then process chunks until told to stop."""
    # The parent handles Ctrl-C; a worker interrupted mid-chunk would only lose work.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        pipeline = recipe.create()
    except BaseException as exc:
        results.send(("error", -1, _pack_error(exc)))
        return
    while True:
        message = tasks.get()
        if message is None:
            return
        chunk_id, items, batch_size, task = message
        try:
            out = pipeline.process(items, batch_size, task)
        except BaseException as exc:
            results.send(("error", chunk_id, _pack_error(exc)))
            continue
        results.send(("ok", chunk_id, out))


def _pack_error(exc: BaseException) -> tuple[str, str, str, bytes | None]:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    payload: bytes | None
    try:
        payload = pickle.dumps(exc)
        pickle.loads(payload)  # some exceptions pickle but cannot be rebuilt
    except Exception:
        payload = None
    return (type(exc).__qualname__, str(exc), tb, payload)


def _unpack_error(packed: tuple[str, str, str, bytes | None], worker: str) -> BaseException:
    type_name, message, tb, payload = packed
    if payload is not None:
        try:
            exc: BaseException = pickle.loads(payload)
            exc.__cause__ = RemoteTraceback(tb)
            return exc
        except Exception:
            pass
    error = WorkerError(f"{worker} raised {type_name}: {message}")
    error.__cause__ = RemoteTraceback(tb)
    return error


@dataclass
class _Worker:
    name: str
    process: BaseProcess
    tasks: Any
    results: Connection
    in_flight: int = 0


@dataclass
class _Window:
    size: int
    results: list[Any]
    pending: int


def describe_exit(process: BaseProcess) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            sig = signal.Signals(-code).name
        except ValueError:
            sig = f"signal {-code}"
        return f"was killed by {sig}"
    return f"exited unexpectedly with code {code}"


class WorkerPool:
    """N worker processes serving one model; see the module docstring."""

    def __init__(
        self,
        recipe: PipelineRecipe,
        n_workers: int,
        *,
        threads_per_worker: int | None = None,
        start_method: str | None = None,
    ) -> None:
        if n_workers < 1:
            raise ValueError(f"a pool needs at least one worker, got {n_workers}")
        self.size = n_workers
        self.start_method = start_method or os.environ.get("EMBED_PLUGINS_START_METHOD", "spawn")
        self._ctx: Any = mp.get_context(self.start_method)
        threads = threads_per_worker or recipe.session.threads
        if threads is None:
            threads = max(1, default_threads() // n_workers)
        self.threads_per_worker = threads
        worker_recipe = recipe.with_session(recipe.session.with_threads(threads))
        self._workers: list[_Worker] = []
        self._broken: str | None = None
        self._lock = threading.Lock()
        try:
            for i in range(n_workers):
                self._workers.append(self._start(worker_recipe, i))
        except BaseException:
            self.close()
            raise

    def _start(self, recipe: PipelineRecipe, index: int) -> _Worker:
        tasks = self._ctx.Queue()
        reader, writer = self._ctx.Pipe(duplex=False)
        name = f"embed_plugins worker {index}"
        process = self._ctx.Process(
            target=_worker_main, args=(recipe, tasks, writer, name), name=name, daemon=True
        )
        process.start()
        writer.close()
        worker = _Worker(name=name, process=process, tasks=tasks, results=reader)
        worker.name = f"{name} (pid {process.pid})"
        return worker

    @property
    def healthy(self) -> bool:
        return self._broken is None and all(w.process.is_alive() for w in self._workers)

    # -- running -------------------------------------------------------------
    def run(
        self,
        items: Iterable[Any],
        batch_size: int,
        task: Task,
        validate: Validator,
        size_hint: Callable[[Any], int] = len,
    ) -> Iterator[Any]:
        """Results in input order; chunks of ``batch_size`` items go to the workers."""
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(
                "this model's worker pool is already serving another call; "
                "finish iterating the first result before starting a second parallel call"
            )
        try:
            yield from self._run(items, batch_size, task, validate, size_hint)
        finally:
            self._lock.release()

    @property
    def busy(self) -> bool:
        """A call is iterating over this pool's results right now."""
        return self._lock.locked()

    def _check_open(self) -> None:
        if self._broken is not None:
            raise WorkerError(f"the worker pool was shut down during this call ({self._broken})")

    def _run(
        self,
        items: Iterable[Any],
        batch_size: int,
        task: Task,
        validate: Validator,
        size_hint: Callable[[Any], int],
    ) -> Iterator[Any]:
        max_in_flight = _IN_FLIGHT_PER_WORKER * self.size
        window_iter = self._windows(
            items, batch_size, batch_size * max_in_flight, 2 * max_in_flight, validate, size_hint
        )
        alive: deque[_Window] = deque()  # windows read from the input and not yet yielded
        todo: deque[tuple[_Window, list[int], list[Any]]] = deque()
        owners: dict[int, tuple[_Window, list[int]]] = {}
        try:
            yield from self._loop(window_iter, batch_size, task, max_in_flight, alive, todo, owners)
        except BaseException:
            # Results still in flight would reach the next call: only a fresh pool is safe.
            if owners:
                self._broken = self._broken or "a call ended with work in flight"
                self.close(timeout=0)
            raise

    def _loop(
        self,
        window_iter: Iterator[tuple[_Window, list[tuple[list[int], list[Any]]]]],
        batch_size: int,
        task: Task,
        max_in_flight: int,
        alive: deque[_Window],
        todo: deque[tuple[_Window, list[int], list[Any]]],
        owners: dict[int, tuple[_Window, list[int]]],
    ) -> Iterator[Any]:
        next_id = 0
        exhausted = False
        while True:
            self._check_open()
            # Fill: dispatch while there is room.  At most two windows are alive (the one
            # being yielded and the next), so reading the input never runs ahead further.
            while sum(w.in_flight for w in self._workers) < max_in_flight:
                if not todo:
                    if exhausted or len(alive) >= 2:
                        break
                    try:
                        window, parts = next(window_iter)
                    except StopIteration:
                        exhausted = True
                        break
                    alive.append(window)
                    todo.extend((window, positions, chunk) for positions, chunk in parts)
                window, positions, chunk = todo.popleft()
                worker = min(self._workers, key=lambda w: w.in_flight)
                worker.tasks.put((next_id, chunk, batch_size, task))
                worker.in_flight += 1
                owners[next_id] = (window, positions)
                next_id += 1
            # Drain: yield finished windows in order.
            while alive and alive[0].pending == 0:
                done = alive.popleft()
                yield from done.results
                done.results = []
            if exhausted and not owners and not todo:
                return
            self._collect(owners)

    @staticmethod
    def _windows(
        items: Iterable[Any],
        batch_size: int,
        window_items: int,
        chunks_per_window: int,
        validate: Validator,
        size_hint: Callable[[Any], int],
    ) -> Iterator[tuple[_Window, list[tuple[list[int], list[Any]]]]]:
        """Validated windows, each cut into chunks of similar-size items and similar cost.

        Items are sorted by ``size_hint`` and cut into about ``chunks_per_window``
        chunks of equal total size (at most ``batch_size`` items each), so even a
        small input keeps every worker busy; the costliest chunks come first, so no
        worker is left finishing one big chunk alone at the end of a window.
        """
        for checked in validated_windows(items, window_items, validate):
            sizes = [max(1, size_hint(item)) for item in checked]
            order = sorted(range(len(checked)), key=sizes.__getitem__)
            target = sum(sizes) / chunks_per_window
            parts: list[tuple[list[int], list[Any]]] = []
            positions: list[int] = []
            cost = 0
            for i in order:
                positions.append(i)
                cost += sizes[i]
                if cost >= target or len(positions) == batch_size:
                    parts.append((positions, [checked[j] for j in positions]))
                    positions, cost = [], 0
            if positions:
                parts.append((positions, [checked[j] for j in positions]))
            parts.reverse()
            yield (
                _Window(size=len(checked), results=[None] * len(checked), pending=len(parts)),
                parts,
            )

    def _collect(self, owners: dict[int, tuple[_Window, list[int]]]) -> None:
        """Wait for one or more results; raise at once if a worker died."""
        self._check_open()
        by_conn = {w.results: w for w in self._workers}
        by_sentinel = {w.process.sentinel: w for w in self._workers}
        ready = wait([*by_conn, *by_sentinel], timeout=_POLL_S)
        for obj in ready:
            worker = by_conn.get(obj)  # type: ignore[call-overload]
            if worker is None:
                continue
            try:
                status, chunk_id, payload = worker.results.recv()
            except (EOFError, OSError):
                continue  # the sentinel check below names the cause
            if status == "error":
                self._fail(f"{worker.name} failed")
                raise _unpack_error(payload, worker.name)
            worker.in_flight -= 1
            window, positions = owners.pop(chunk_id)
            for pos, result in zip(positions, payload, strict=True):
                window.results[pos] = result
            window.pending -= 1
        for worker in self._workers:
            if not worker.process.is_alive():
                how = describe_exit(worker.process)
                self._fail(f"{worker.name} {how}")
                raise WorkerError(
                    f"{worker.name} {how} while processing {worker.in_flight} chunk(s) "
                    "(if SIGKILL: often the out-of-memory killer; try a smaller batch_size "
                    "or fewer workers). The pool was shut down; the next call starts a new one."
                )

    def _fail(self, reason: str) -> None:
        self._broken = reason
        self.close()

    # -- shutdown --------------------------------------------------------------
    def close(self, timeout: float = 5.0) -> None:
        """Stop every worker: ask politely (``timeout`` seconds in all), then terminate, then kill.

        A broken pool is not asked: a worker may be blocked sending a result nobody reads.
        """
        workers, self._workers = self._workers, []
        if self._broken is not None:
            timeout = 0
        self._broken = self._broken or "closed"
        for w in workers:
            if w.process.is_alive():
                with contextlib.suppress(ValueError, OSError, queue_mod.Full):
                    w.tasks.put_nowait(None)
        deadline = time.monotonic() + timeout
        for w in workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.terminate()
                w.process.join(1.0)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(1.0)
            w.results.close()
            w.tasks.close()
            w.tasks.cancel_join_thread()
