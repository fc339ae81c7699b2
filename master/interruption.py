"""Core: cancel a task from a callback (a protocol's ``data_received``, ``connection_lost``),
and absorb that cancellation alone where the task asked for it.

A WebSocket log stream runs in its connection's handler task; the connection interrupts it
when the client sends data or goes away (:class:`master.web_server._Connection`), so that no
second task per viewer waits for that. Any other cancellation of the task (the server
stopping) still reaches it: ``Task.uncancel`` counts them apart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class Interruption:
    """One task's interruption by callbacks, within :meth:`watching`."""

    __slots__ = ("_task", "happened")  # one per WebSocket connection

    def __init__(self) -> None:
        self._task: asyncio.Task[object] | None = None
        self.happened = False

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Within the block, :meth:`interrupt` cancels the current task; the block ends with
        that cancellation absorbed (:attr:`happened` then tells). Interrupted before the block,
        the task is cancelled at its first wait in it."""
        task = asyncio.current_task()
        assert task is not None, "watching() runs in a task"
        self._task = task
        try:
            if self.happened:
                self.happened = False
                self.interrupt()
            yield
        except asyncio.CancelledError:
            if not self.happened or task.uncancel() > 0:
                raise  # not ours, or not ours alone
        finally:
            self._task = None

    def interrupt(self) -> None:
        """Cancel the watched task (once); before :meth:`watching`, remember to. Called from a
        callback, so the task is waiting in the block and the cancellation lands there (even
        when what it waits for is already done)."""
        if self.happened:
            return
        self.happened = True
        if self._task is not None:
            self._task.cancel()
