"""The worker pool's bookkeeping: calls, windows and chunks, and how a window of
validated inputs is cut into cost-balanced chunks (pure data, no processes)."""

from __future__ import annotations

import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInputError
from .batching import validated_windows
from .pipeline import Task

Validator = Callable[[Any, int], Any]


@dataclass(eq=False)
class Window:
    offset: int
    results: list[Any]
    pending: int


@dataclass(eq=False)
class Call:
    batch_size: int
    task: Task
    todo: deque[Chunk] = field(default_factory=deque)
    alive: deque[Window] = field(default_factory=deque)
    error: BaseException | None = None
    closed: bool = False
    done: int = 0  # items whose chunk came back (progress)


@dataclass(eq=False)
class Chunk:
    call: Call
    window: Window
    positions: list[int]
    items: list[Any]
    cost: int

    def message(self, chunk_id: int) -> bytes:
        """The pickled task a worker receives, pickled in the caller's thread: an input
        that cannot be sent fails its call with the inputs named (never lost in a queue's
        feeder thread)."""
        try:
            return pickle.dumps(
                (chunk_id, self.items, self.call.batch_size, self.call.task),
                pickle.HIGHEST_PROTOCOL,
            )
        except Exception as exc:
            raise InvalidInputError(
                f"{self.span()} cannot be sent to a worker process "
                f"({type(exc).__name__}: {exc}); pass paths or bytes instead"
            ) from exc

    def span(self) -> str:
        first = self.window.offset + min(self.positions)
        last = self.window.offset + max(self.positions)
        return f"inputs {first}-{last}" if last > first else f"input {first}"


def cut_windows(
    items: Iterable[Any],
    call: Call,
    window_items: int,
    chunks_per_window: Callable[[], int],
    validate: Validator,
    size_hint: Callable[[Any], int],
) -> Iterator[tuple[Window, list[Chunk]]]:
    """Validated windows, each cut into chunks of similar-size items and similar cost.

    Items are sorted by ``size_hint`` and cut into about ``chunks_per_window()``
    chunks of equal total size (at most ``batch_size`` items each), so even a
    small input keeps every worker busy (fewer, larger chunks when other calls
    keep them busy too); the costliest chunks come first, so no
    worker is left finishing one big chunk alone at the end of a window.
    """
    offset = 0
    for checked in validated_windows(items, window_items, validate):
        sizes = [max(1, size_hint(item)) for item in checked]
        order = sorted(range(len(checked)), key=sizes.__getitem__)
        target = sum(sizes) / chunks_per_window()
        window = Window(offset=offset, results=[None] * len(checked), pending=0)
        chunks: list[Chunk] = []
        positions: list[int] = []
        cost = 0
        for i in order:
            positions.append(i)
            cost += sizes[i]
            if cost >= target or len(positions) == call.batch_size:
                chunks.append(Chunk(call, window, positions, [checked[j] for j in positions], cost))
                positions, cost = [], 0
        if positions:
            chunks.append(Chunk(call, window, positions, [checked[j] for j in positions], cost))
        chunks.reverse()
        window.pending = len(chunks)
        offset += len(checked)
        yield window, chunks
