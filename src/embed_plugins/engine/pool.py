"""Persistent worker processes: one pool per model object, shared by concurrent calls.

Each worker (:mod:`.worker`) builds the pipeline once and runs pre-processing,
inference and post-processing for whole chunks of inputs, sending back only
final results.  The parent:

* cuts each call's input into windows and cost-balanced chunks (:mod:`.chunks`);
* keeps at most two chunks per worker in flight, over all calls together
  (back-pressure: a call's input is read only as fast as its results are consumed);
* serves any number of concurrent calls (threads, async tasks): every chunk is
  tagged with its call, and results go back to that call, in its input order;
* waits on result pipes and process sentinels (one reading thread at a time), so a
  death is noticed at once; a worker that died before starting a chunk is replaced;
* reports a worker that died *while running* a chunk with a :class:`WorkerError`
  naming it, the signal and the inputs it held, to the call that chunk belongs to;
* kills and replaces a worker silent past the hang deadline, and tells the call;
* re-raises a worker's exception with its original type, message and the worker's
  traceback text, to the call whose input raised it (the pool stays usable).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import wait
from typing import Any

from ..errors import InferenceError, InvalidInputError, WorkerError
from .chunks import Call, Chunk, Validator, Window, cut_windows
from .main_guard import refuse_while_bootstrapping, start_failure
from .pipeline import PipelineRecipe, Task
from .session import default_threads
from .worker import (
    ACK,
    ERROR,
    HANG_TIMEOUT_ENV,
    NO_CHUNK,
    OK,
    READY,
    RemoteTraceback,
    Worker,
    describe_exit,
    hang_timeout_from_env,
    start_worker,
    unpack_error,
)

__all__ = ["RemoteTraceback", "WorkerPool", "describe_exit"]

#: How often (seconds) a waiting caller re-checks worker health and deadlines.
_POLL_S = 0.25
#: Chunks each worker may hold (one running, one queued) before callers wait.
_IN_FLIGHT_PER_WORKER = 2


class WorkerPool:
    """N worker processes serving one model; see the module docstring."""

    def __init__(
        self,
        recipe: PipelineRecipe,
        n_workers: int,
        *,
        threads_per_worker: int | None = None,
        start_method: str | None = None,
        hang_timeout: float | None = None,
    ) -> None:
        if n_workers < 1:
            raise ValueError(f"a pool needs at least one worker, got {n_workers}")
        refuse_while_bootstrapping()  # a worker re-running an unguarded script: exits
        self.size = n_workers
        self.start_method = start_method or os.environ.get("EMBED_PLUGINS_START_METHOD", "spawn")
        self.hang_timeout = hang_timeout if hang_timeout is not None else hang_timeout_from_env()
        if self.hang_timeout <= 0:
            raise ValueError(f"the hang timeout must be positive, got {self.hang_timeout}")
        self._ctx: Any = mp.get_context(self.start_method)
        threads = threads_per_worker or recipe.session.threads
        if threads is None:
            threads = max(1, default_threads() // n_workers)
        self.threads_per_worker = threads
        self._recipe = recipe.with_session(recipe.session.with_threads(threads))
        self._cond = threading.Condition()
        self._workers: list[Worker] = []
        self._started: dict[int, float] = {}  # chunk id -> when a worker acknowledged it
        self._next_id = 0
        self._active: list[Call] = []  # calls iterating now, in arrival order
        self._turn = 0  # round-robin position among calls with chunks to send
        self._reading = False  # one thread at a time reads the pipes
        self._broken: str | None = None
        self._fatal: BaseException | None = None
        self._seconds_per_cost: float | None = None
        try:
            for i in range(n_workers):
                self._workers.append(self._start(i))
        except BaseException:
            self.close()
            raise

    def _start(self, index: int) -> Worker:
        return start_worker(self._ctx, self._recipe, index)

    @property
    def healthy(self) -> bool:
        return self._broken is None

    @property
    def busy(self) -> bool:
        """At least one call is iterating over this pool's results right now."""
        return bool(self._active)

    # -- running -------------------------------------------------------------
    def run(
        self,
        items: Iterable[Any],
        batch_size: int,
        task: Task,
        validate: Validator,
        size_hint: Callable[[Any], int] = len,
        on_done: Callable[[int], None] | None = None,
    ) -> Iterator[Any]:
        """Results in input order; chunks of at most ``batch_size`` items go to the workers.

        ``on_done(n)`` is called in the caller's thread as chunks of ``n`` items come back.
        """
        call = Call(batch_size=batch_size, task=task)
        max_in_flight = _IN_FLIGHT_PER_WORKER * self.size
        windows = cut_windows(
            items, call, batch_size * max_in_flight, self._chunks_per_window, validate, size_hint
        )
        with self._cond:
            self._check_open()
            self._active.append(call)
            self._replace_dead_idle_workers()
        try:
            yield from self._serve(call, windows, on_done)
        finally:
            with self._cond:
                self._active.remove(call)
                call.closed = True  # results still in flight are dropped on arrival
                call.todo.clear()
                call.error = None  # no cycle through the raised exception's traceback

    def _serve(
        self,
        call: Call,
        windows: Iterator[tuple[Window, list[Chunk]]],
        on_done: Callable[[int], None] | None = None,
    ) -> Iterator[Any]:
        exhausted = False
        reported = 0
        while True:
            # Read ahead outside the lock (the input may be slow): at most two windows alive.
            if not exhausted and not call.todo and len(call.alive) < 2:
                try:
                    window, chunks = next(windows)
                except StopIteration:
                    exhausted = True
                else:
                    with self._cond:
                        call.alive.append(window)
                        call.todo.extend(chunks)
            with self._cond:
                self._check_open()
                if call.error is not None:
                    raise call.error
                self._dispatch()
                finished = []
                while call.alive and call.alive[0].pending == 0:
                    finished.append(call.alive.popleft())
                done = exhausted and not call.alive
                can_read = not exhausted and not call.todo and len(call.alive) < 2
                newly_done, reported = call.done - reported, call.done
            if on_done is not None and newly_done:
                on_done(newly_done)
            for window in finished:
                yield from window.results
                window.results = []
            if done:
                return
            if not finished and not can_read:
                self._await_progress()

    def _dispatch(self) -> None:
        """Send chunks while workers have room, one call's chunk at a time in turn, so a
        small call is not queued behind a large one (the lock is held).

        Chunks are pickled here, in the caller's thread: an input that cannot be sent
        fails its call with the inputs named, instead of being lost in the queue's
        feeder thread.
        """
        while self._workers:
            worker = min(self._workers, key=lambda w: (len(w.chunks), not w.ready))
            if len(worker.chunks) >= _IN_FLIGHT_PER_WORKER:
                return
            waiting = [c for c in self._active if c.todo and c.error is None and not c.closed]
            if not waiting:
                return
            call = waiting[self._turn % len(waiting)]
            self._turn += 1
            chunk = call.todo.popleft()
            chunk_id = self._next_id
            self._next_id += 1
            try:
                message = chunk.message(chunk_id)
            except InvalidInputError as exc:
                call.error = exc
                continue
            if not worker.chunks:
                worker.last_heard = time.monotonic()  # its deadline starts now
            worker.tasks.put(message)
            worker.chunks[chunk_id] = chunk

    def _chunks_per_window(self) -> int:
        """Chunks to cut a window into: enough to keep every worker busy with two, shared
        between the calls running now (small chunks cost more per input)."""
        return max(1, 2 * _IN_FLIGHT_PER_WORKER * self.size // max(1, len(self._active)))

    def _check_open(self) -> None:
        if self._fatal is not None:
            raise self._fatal
        if self._broken is not None:
            raise WorkerError(f"the worker pool was shut down during this call ({self._broken})")

    # -- collecting ------------------------------------------------------------
    def _await_progress(self) -> None:
        """Wait until some result arrives (or a poll interval passes).

        One waiting thread reads the pipes and routes what it reads to the calls;
        the others sleep on the condition until it is done.
        """
        with self._cond:
            if self._reading:
                self._cond.wait(_POLL_S)
                return
            self._reading = True
            waitables: list[Any] = []
            for w in self._workers:
                waitables += [w.results, w.process.sentinel]
        try:
            try:
                ready = wait(waitables, timeout=_POLL_S) if waitables else []
            except (OSError, ValueError):  # the pool was closed meanwhile
                ready = []
            with self._cond:
                if self._broken is None:
                    self._receive(ready)
                    self._check_workers()
                    self._dispatch()  # freed slots, requeued chunks: keep the workers busy
        finally:
            with self._cond:
                self._reading = False
                self._cond.notify_all()

    def _receive(self, ready: list[Any]) -> None:
        by_conn = {w.results: w for w in self._workers}
        for obj in ready:
            worker = by_conn.get(obj)
            if worker is None:
                continue
            self._drain(worker)  # a death is handled by _check_workers

    def _drain(self, worker: Worker) -> None:
        try:
            while worker.results.poll():
                self._handle(worker, *worker.results.recv())
        except (EOFError, OSError):
            pass

    def _handle(self, worker: Worker, kind: str, chunk_id: int, payload: Any) -> None:
        now = time.monotonic()
        worker.last_heard = now
        if kind == READY:
            worker.ready = True
            return
        if kind == ERROR and chunk_id == NO_CHUNK:  # the pipeline could not be built
            self._fatal = unpack_error(payload, worker.name)
            self._fail(f"{worker.name} could not start")
            return
        chunk = worker.chunks.get(chunk_id)
        if chunk is None:
            return
        if kind == ACK:
            worker.running = chunk_id
            self._started[chunk_id] = now
            return
        del worker.chunks[chunk_id]
        worker.running = None
        started = self._started.pop(chunk_id, None)
        if kind == OK:
            if started is not None and chunk.cost > 0:
                rate = (now - started) / chunk.cost
                old = self._seconds_per_cost
                self._seconds_per_cost = rate if old is None else 0.8 * old + 0.2 * rate
            call = chunk.call
            if not call.closed and call.error is None:
                for pos, result in zip(chunk.positions, payload, strict=True):
                    chunk.window.results[pos] = result
                chunk.window.pending -= 1
                call.done += len(chunk.positions)
        elif kind == ERROR and not chunk.call.closed and chunk.call.error is None:
            error = unpack_error(payload, worker.name)
            if isinstance(error, InferenceError):  # chunk positions -> the call's input numbers
                absolute = [chunk.window.offset + p for p in chunk.positions]
                error = error.relocated(absolute)
            chunk.call.error = error

    def _check_workers(self) -> None:
        """Deaths and hangs: replace the worker; tell the call whose chunk it was running."""
        now = time.monotonic()
        for worker in list(self._workers):
            if not worker.process.is_alive():
                self._drain(worker)  # what it sent before dying counts
                how = describe_exit(worker.process)
            elif worker.chunks and now - worker.last_heard > self._deadline(worker):
                how = (
                    f"stopped responding: no word for {now - worker.last_heard:.0f} s while "
                    f"holding work (hang deadline {self._deadline(worker):.0f} s; set "
                    f"{HANG_TIMEOUT_ENV} to change it); it was killed"
                )
                worker.process.kill()
            else:
                continue
            if not worker.ready:
                self._fatal = start_failure(worker.name, worker.process, how, self.start_method)
                self._fail(f"{worker.name} {how} before it was ready")
                return
            self._replace(worker, how)

    def _deadline(self, worker: Worker) -> float:
        if not worker.ready:
            return max(self.hang_timeout, 300.0)  # loading the model
        running = worker.chunks.get(worker.running) if worker.running is not None else None
        if running is None:
            return self.hang_timeout
        if self._seconds_per_cost is None:  # nothing measured yet: allow for slow models
            return self.hang_timeout * max(1, len(running.items))
        cost: int = running.cost
        return max(self.hang_timeout, 10 * self._seconds_per_cost * cost)

    def _replace(self, worker: Worker, how: str) -> None:
        """A fresh worker in ``worker``'s place; its chunks go back to their calls."""
        running = worker.chunks.get(worker.running) if worker.running is not None else None
        if running is not None and not running.call.closed and running.call.error is None:
            running.call.error = WorkerError(
                f"{worker.name} {how} while processing {running.span()} of this call "
                "(if SIGKILL: often the out-of-memory killer; try a smaller batch_size or fewer "
                "workers). A fresh worker took its place; the next call runs normally."
            )
        for chunk_id, chunk in reversed(list(worker.chunks.items())):
            self._started.pop(chunk_id, None)
            if chunk is not running and not chunk.call.closed:
                chunk.call.todo.appendleft(chunk)  # never started: safe to run elsewhere
        worker.chunks.clear()
        worker.finish(timeout=0)
        self._workers[self._workers.index(worker)] = self._start(worker.index)

    def _replace_dead_idle_workers(self) -> None:
        for worker in list(self._workers):
            if not worker.chunks and not worker.process.is_alive() and worker.ready:
                self._replace(worker, describe_exit(worker.process))

    def _fail(self, reason: str) -> None:
        self._broken = reason
        self._close_workers(timeout=0)

    # -- shutdown --------------------------------------------------------------
    def close(self, timeout: float = 5.0) -> None:
        """Stop every worker: ask politely (``timeout`` seconds in all), then terminate, then kill.

        A call still iterating in another thread gets a :class:`WorkerError` at once.
        """
        with self._cond:
            self._broken = self._broken or "closed"
            self._close_workers(timeout)
            self._cond.notify_all()

    def _close_workers(self, timeout: float) -> None:
        workers, self._workers = self._workers, []
        for w in workers:
            if timeout > 0:
                w.ask_to_stop()
        deadline = time.monotonic() + timeout
        for w in workers:
            w.finish(deadline - time.monotonic())
