"""The queue between the event loop and the store's writer thread, with commit windows.

A ``queue.SimpleQueue`` wakes the consumer on every put. In a burst the loop publishes
thousands of small batches a second, and each wake-up costs the writer thread a context switch
and a round trip for the GIL: measured in a 200,000-line burst, ~1 us of worker CPU per line,
more than writing the lines. Here a put never blocks and wakes the writer only when it must
act: the first operation after it went idle (which opens a commit window), an urgent one, or a
full transaction (both close the window early). Everything else waits in a deque until the
window ends.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Inbox(Generic[T]):
    """Many puts from one thread, :meth:`take` from another (the writer)."""

    def __init__(self, window: float, max_lines: int) -> None:
        self.window = window  # seconds the writer gathers after the first operation
        self.max_lines = max_lines  # lines that close the window early
        self._ops: deque[tuple[T, int]] = deque()  # (operation, its lines)
        self._wake = threading.Event()
        self._idle = False  # the writer waits for a first operation
        self._urgent = False
        # lines put and taken, each counter written by one thread only (no lost update)
        self._put_lines = 0
        self._taken_lines = 0
        self.wakeups = 0  # times a put woke the writer

    def put(self, op: T, *, lines: int = 0, urgent: bool = False) -> None:
        """Queue ``op`` (carrying ``lines`` lines). Never blocks."""
        self._ops.append((op, lines))
        self._put_lines += lines
        if urgent:
            self._urgent = True
        if self._idle or urgent or self._full():
            self._idle = False  # one wake-up, even before the writer runs again
            self.wakeups += 1
            self._wake.set()

    def take(self, timeout: float | None = None) -> list[T]:
        """Wait for an operation, gather for the window (less when urgent or full), and
        return everything queued, in order; nothing when none came within ``timeout``."""
        wake = self._wake
        while not self._ops:
            wake.clear()
            self._idle = True
            # checked after saying idle: a put now wakes us
            if not self._ops and not wake.wait(timeout) and not self._ops:
                self._idle = False
                return []
            self._idle = False
        deadline = time.monotonic() + self.window
        while not (self._urgent or self._full()):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            wake.clear()
            if self._urgent or self._full():  # (set between the check and the clear)
                break
            wake.wait(left)
        self._urgent = False
        ops: list[T] = []
        lines = 0
        take = self._ops.popleft
        for _ in range(len(self._ops)):  # (puts may go on meanwhile: they wait for next time)
            op, n = take()
            ops.append(op)
            lines += n
        self._taken_lines += lines
        return ops

    def _full(self) -> bool:
        return self._put_lines - self._taken_lines >= self.max_lines
