"""Core: one task pings every WebSocket viewer, where websockets would run one task each.

A client that answers no ping within :data:`PING_INTERVAL` is gone (its machine slept, its
network dropped without a reset): its connection is closed (1011, ``keepalive ping
timeout``, as websockets' own keepalive says), which ends its stream and frees its
subscription. websockets does this with a sleeping task per connection (~1.5 KiB each: with
10,000 idle viewers, 15 MB); here one task visits them all, spread over the interval (a slice
of :data:`SLICE` connections at a time, so the event loop is never held for long). A
connection whose writes are blocked (a stalled viewer: its stream cuts it after
``STALL_TIMEOUT``) or that is closing is not pinged."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Protocol

from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

PING_INTERVAL = 20.0  # seconds between two pings of one client, and what a pong may take
SLICE = 32  # connections visited at once


class WriteBuffer(Protocol):
    """The part of an asyncio transport that says whether a write would wait."""

    def get_write_buffer_limits(self) -> tuple[int, int]: ...

    def get_write_buffer_size(self) -> int: ...


class Peer(Protocol):
    """What the keepalive needs of a connection (websockets' ``ServerConnection`` has it)."""

    @property
    def state(self) -> State: ...

    @property
    def transport(self) -> WriteBuffer: ...

    async def ping(self) -> Awaitable[float]: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


def _writable(peer: Peer) -> bool:
    """Open, and its write buffer under the mark at which its writes wait."""
    if peer.state is not State.OPEN:
        return False
    _, high = peer.transport.get_write_buffer_limits()
    return peer.transport.get_write_buffer_size() <= high


def _answered(pong: Awaitable[float]) -> bool:
    """The pong came (or the connection closed, which ends the wait too)."""
    return not isinstance(pong, asyncio.Future) or pong.done()


class Keepalive:
    """Pings the connections :meth:`run` is given, each once per ``interval``."""

    def __init__(self, interval: float = PING_INTERVAL) -> None:
        self.interval = interval
        self.closed = 0  # connections closed because they answered no ping
        self._pongs: dict[Peer, tuple[Awaitable[float], float]] = {}  # the last ping, when
        self._closing: set[asyncio.Task[None]] = set()

    async def run(self, peers: Callable[[], Collection[Peer]]) -> None:
        """Visit ``peers()`` (the open log streams) every ``interval``, until cancelled."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                start = loop.time()
                await self.sweep(list(peers()), start + self.interval)
                await asyncio.sleep(max(0.0, start + self.interval - loop.time()))
        finally:
            for task in self._closing:
                task.cancel()

    async def sweep(self, peers: Sequence[Peer], deadline: float) -> None:
        """Visit every peer once, in slices spread until ``deadline``: close those that left
        the previous ping unanswered, ping the others."""
        loop = asyncio.get_running_loop()
        pongs, self._pongs = self._pongs, {}  # peers gone since are forgotten
        start, count = loop.time(), len(peers)
        for first in range(0, count, SLICE):
            for peer in peers[first : first + SLICE]:
                await self._visit(peer, pongs.get(peer))
            due = start + (deadline - start) * min(first + SLICE, count) / count
            await asyncio.sleep(max(0.0, due - loop.time()))

    async def _visit(self, peer: Peer, last: tuple[Awaitable[float], float] | None) -> None:
        now = asyncio.get_running_loop().time()
        if last is not None and not _answered(last[0]):
            if now - last[1] < self.interval:
                self._pongs[peer] = last  # it still has time
                return
            self.closed += 1
            task = asyncio.create_task(self._close(peer))  # its closing handshake may take long
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
            return
        if not _writable(peer):
            return  # (a ping would wait for it)
        with contextlib.suppress(ConnectionClosed):
            pong = await peer.ping()  # (the write does not wait: it is writable)
            self._pongs[peer] = (pong, now)

    @staticmethod
    async def _close(peer: Peer) -> None:
        with contextlib.suppress(ConnectionClosed):
            await peer.close(1011, "keepalive ping timeout")
