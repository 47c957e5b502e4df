"""Progress of one call: a tqdm bar (items/s, and an ETA when the input length is known)
and/or a callback ``(done, total)``, advancing as batches finish.

The public methods take ``show_progress=``: ``False`` (the default) shows nothing,
``True`` a bar on stderr, a callable is called with ``(done, total)`` (``total`` is
``None`` when the input has no ``len()``, a generator say) after every step.  The
runner advances the count where work finishes:

* in this process, after every ONNX batch: :func:`~embed_plugins.engine.session.run_session`
  reports its rows through :func:`rows_done` to the hook the runner installs around
  one window (:meth:`Progress.window`); whatever a family ran without a session
  (BM25, blank texts) is counted when the window ends;
* with workers, as each chunk (at most ``batch_size`` items) comes back from a worker,
  counted by the pool in the caller's thread.

tqdm is a dependency of huggingface_hub, so it is always installed; it is imported
only when a bar is shown.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from ..errors import ArgumentTypeError

T = TypeVar("T")

#: Called with ``(done, total)``; ``total`` is ``None`` when the input length is unknown.
ProgressCallback = Callable[[int, int | None], object]
#: What ``show_progress=`` accepts.
ShowProgress = bool | ProgressCallback | None

#: The current window's row counter in this thread's context (set by the runner only
#: while ``pipeline.process`` runs, so nested or concurrent calls never see another's).
_ON_ROWS: ContextVar[Callable[[int], None] | None] = ContextVar(
    "embed_plugins_progress_rows", default=None
)


def rows_done(n: int) -> None:
    """An ONNX batch of ``n`` rows has finished (called by ``run_session``)."""
    hook = _ON_ROWS.get()
    if hook is not None:
        hook(n)


def check_show_progress(value: Any, where: str) -> ShowProgress:
    """``show_progress`` must be a bool, ``None`` or a callable ``(done, total)``."""
    if value is None or isinstance(value, bool) or callable(value):
        return value  # type: ignore[no-any-return]
    raise ArgumentTypeError(
        f"{where}: show_progress must be True, False or a callable (done, total) -> None, "
        f"got {type(value).__name__}"
    )


def known_length(items: Any) -> int | None:
    """``len(items)`` when it has one (a list, tuple, array...), else ``None``."""
    if isinstance(items, Sized) and not isinstance(items, Iterator):
        try:
            return len(items)
        except TypeError:
            return None
    return None


class Progress:
    """Counts finished items of one call; shows a bar and/or calls a callback.

    Thread-safe: adapters may share one among calls running in threads.  The bar is
    created by :meth:`start` (when iteration begins, not when the call is made) and
    closed by :meth:`close`.  ``initial`` counts items done before (a resumed job).
    """

    def __init__(
        self,
        total: int | None,
        *,
        bar: bool = True,
        callback: ProgressCallback | None = None,
        desc: str = "",
        unit: str = "item",
        initial: int = 0,
    ) -> None:
        self.total = total
        self.done = initial
        self.desc = desc
        self.unit = unit
        self._show_bar = bar
        self._callback = callback
        self._bar: Any = None
        self._lock = threading.Lock()
        self._initial = initial

    def start(self) -> None:
        with self._lock:
            if self._show_bar and self._bar is None:
                from tqdm.auto import tqdm

                self._bar = tqdm(
                    total=self.total,
                    initial=self._initial,
                    desc=self.desc or None,
                    unit=f" {self.unit}s",  # "1,234 texts/s"
                    dynamic_ncols=True,
                    smoothing=0.1,
                    mininterval=0.2,
                )

    def advance(self, n: int) -> None:
        if n <= 0:
            return
        with self._lock:
            self.done += n
            done = self.done
            if self._bar is not None:
                self._bar.update(n)
        if self._callback is not None:
            self._callback(done, self.total)

    def close(self) -> None:
        with self._lock:
            bar, self._bar = self._bar, None
            self._show_bar = False
        if bar is not None:
            bar.close()

    @contextmanager
    def window(self, size: int) -> Iterator[None]:
        """Count the rows ONNX batches report while one window of ``size`` items is
        processed (at most ``size``); on success, the rest of the window (items no
        session saw: BM25, blank texts)."""
        counted = 0

        def on_rows(n: int) -> None:
            nonlocal counted
            step = min(n, size - counted)
            if step > 0:
                counted += step
                self.advance(step)

        token = _ON_ROWS.set(on_rows)
        try:
            yield
        finally:
            _ON_ROWS.reset(token)
        self.advance(size - counted)

    def track(self, results: Iterator[T]) -> Iterator[T]:
        """``results``, with the bar open from the first ``next()`` until the end (or an
        error, or the caller closing the generator)."""
        self.start()
        try:
            yield from results
        finally:
            self.close()


def progress_for(
    show_progress: Any, items: Any, where: str, *, unit: str = "item", desc: str = ""
) -> Progress | None:
    """The :class:`Progress` of one call (``None`` when off); ``items`` gives the total."""
    option = check_show_progress(show_progress, where)
    if option is None or option is False:
        return None
    callback = None if isinstance(option, bool) else option
    return Progress(
        known_length(items), bar=callback is None, callback=callback, desc=desc, unit=unit
    )


def forward_to(progress: Progress) -> ProgressCallback:
    """A callback for one call that adds its steps to ``progress`` (a bar spanning several
    calls, as an adapter's batch loop makes)."""
    seen = 0
    lock = threading.Lock()

    def callback(done: int, total: int | None) -> None:
        nonlocal seen
        with lock:
            step, seen = done - seen, done
        progress.advance(step)

    return callback
