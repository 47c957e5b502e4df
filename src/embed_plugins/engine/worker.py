"""One worker process of the pool: its main loop, its messages, and how its end is described.

A worker builds the pipeline once from the picklable recipe, says ``ready``, then
for every chunk it takes from its task queue says ``ack`` (it has started that
chunk) and later ``ok`` with the final results or ``error`` with the packed
exception.  The ``ack`` is what lets the parent tell a chunk the worker was
running when it died (suspect: reported) from chunks it never started (safe:
given to a fresh worker).

Messages on the result pipe are ``(kind, chunk_id, payload)`` tuples.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue as queue_mod
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from ..errors import WorkerError
from .pipeline import PipelineRecipe

READY, ACK, OK, ERROR = "ready", "ack", "ok", "error"
#: ``chunk_id`` of messages about the worker itself (``ready``, a start-up ``error``).
NO_CHUNK = -1


class RemoteTraceback(Exception):
    """The formatted traceback of an exception raised in a worker (set as ``__cause__``)."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f"\n\nWorker traceback:\n{self.tb}"


def worker_main(recipe: PipelineRecipe, tasks: Any, results: Connection, name: str) -> None:
    """Worker loop: build the pipeline once, then process chunks until told to stop."""
    # The parent handles Ctrl-C; a worker interrupted mid-chunk would only lose work.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()
    try:
        pipeline = recipe.create()
    except BaseException as exc:
        results.send((ERROR, NO_CHUNK, pack_error(exc)))
        return
    results.send((READY, NO_CHUNK, None))
    while True:
        message = tasks.get()
        if message is None:
            return
        chunk_id, items, batch_size, task = pickle.loads(message)  # pickled by the parent
        results.send((ACK, chunk_id, None))
        try:
            out = pipeline.process(items, batch_size, task)
            reply = pickle.dumps((OK, chunk_id, out), pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:
            results.send((ERROR, chunk_id, pack_error(exc)))
            continue
        results.send_bytes(reply)


def exit_with_parent() -> None:
    """End this worker when its parent dies, even by SIGKILL (``embed-plugins embed``
    killed mid-run): an idle worker waits on its task queue, which never reports the
    parent's end, and would otherwise live on holding a model."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="embed_plugins parent watch", daemon=True).start()


def pack_error(exc: BaseException) -> tuple[str, str, str, bytes | None]:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    payload: bytes | None
    try:
        payload = pickle.dumps(exc)
        pickle.loads(payload)  # some exceptions pickle but cannot be rebuilt
    except Exception:
        payload = None
    return (type(exc).__qualname__, str(exc), tb, payload)


def unpack_error(packed: tuple[str, str, str, bytes | None], worker: str) -> BaseException:
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


def describe_exit(process: BaseProcess) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            sig = signal.Signals(-code).name
        except ValueError:
            sig = f"signal {-code}"
        return f"was killed by {sig}"
    return f"exited unexpectedly with code {code}"


@dataclass(eq=False)
class Worker:
    """The parent's handle on one worker process and the chunks it holds."""

    index: int
    name: str
    process: BaseProcess
    tasks: Any
    results: Connection
    #: chunk id -> chunk, in the order they were sent; the acked one is running.
    chunks: dict[int, Any] = field(default_factory=dict)
    running: int | None = None
    ready: bool = False
    #: ``time.monotonic()`` of the last sign of life that matters for the hang deadline.
    last_heard: float = 0.0

    def ask_to_stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(ValueError, OSError, queue_mod.Full):
                self.tasks.put_nowait(None)

    def finish(self, timeout: float) -> None:
        """Wait ``timeout`` seconds for the process to end, then terminate, then kill;
        close the pipes."""
        self.process.join(max(0.0, timeout))
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(1.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)
        self.results.close()
        self.tasks.close()
        self.tasks.cancel_join_thread()


#: Default hang deadline (seconds without a word from a worker holding work); the
#: environment variable overrides it.  A chunk expected to take longer (from the
#: pool's measured seconds per unit of ``size_hint``) gets ten times that instead.
DEFAULT_HANG_TIMEOUT_S = 120.0
HANG_TIMEOUT_ENV = "EMBED_PLUGINS_WORKER_TIMEOUT"


def hang_timeout_from_env() -> float:
    value = os.environ.get(HANG_TIMEOUT_ENV, "")
    try:
        return float(value) if value.strip() else DEFAULT_HANG_TIMEOUT_S
    except ValueError:
        raise ValueError(f"{HANG_TIMEOUT_ENV} must be a number of seconds, got {value!r}") from None


def start_worker(ctx: Any, recipe: PipelineRecipe, index: int) -> Worker:
    """Start worker ``index`` on its own device (:meth:`SessionConfig.for_worker`), with a
    task queue and a result pipe; the pool replaces a dead one with the same index."""
    tasks = ctx.Queue()
    reader, writer = ctx.Pipe(duplex=False)
    name = f"embed_plugins worker {index}"
    own = recipe.with_session(recipe.session.for_worker(index))
    process = ctx.Process(
        target=worker_main, args=(own, tasks, writer, name), name=name, daemon=True
    )
    process.start()
    writer.close()
    return Worker(
        index=index,
        name=f"{name} (pid {process.pid})",
        process=process,
        tasks=tasks,
        results=reader,
        last_heard=time.monotonic(),
    )
