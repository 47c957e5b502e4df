"""One progress bar over a host framework's batch loop (LlamaIndex's ``show_progress``).

LlamaIndex cuts ``get_text_embedding_batch(texts, show_progress=True)`` into calls of
``embed_batch_size`` texts; its own bar counts texts as they are queued, before any is
embedded.  The adapters show the engine's bar instead (texts/s and an ETA, advancing per
ONNX batch): :func:`batch_progress` opens one bar for the whole list, and each engine call
made inside it (in this thread, or in the worker threads of the async methods, which
copy the context) adds its progress to that bar through :func:`call_progress`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ..engine.progress import Progress, ProgressCallback, forward_to

_BAR: ContextVar[Progress | None] = ContextVar("embed_plugins_adapter_progress", default=None)


@contextmanager
def batch_progress(show: bool, total: int, desc: str = "Generating embeddings") -> Iterator[None]:
    """A bar over ``total`` texts while the block runs (nothing when ``show`` is false)."""
    if not show:
        yield
        return
    progress = Progress(total, desc=desc, unit="text")
    progress.start()
    token = _BAR.set(progress)
    try:
        yield
    finally:
        _BAR.reset(token)
        progress.close()


def call_progress() -> ProgressCallback | None:
    """``show_progress=`` for one engine call: adds to the open bar, if any."""
    progress = _BAR.get()
    return None if progress is None else forward_to(progress)
