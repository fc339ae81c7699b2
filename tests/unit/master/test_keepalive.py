"""Keepalive (master/keepalive.py) against fake connections: one task pings them all, spread
over the interval; a connection that leaves a ping unanswered for an interval is closed with
1011; one that cannot be written to, or is closing, is left alone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from websockets.protocol import State

from master.keepalive import SLICE, Keepalive
from tests.fixtures import eventually

pytestmark = pytest.mark.asyncio

INTERVAL = 0.05


class FakeTransport:
    def __init__(self) -> None:
        self.buffered = 0

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return 16 * 1024, 64 * 1024

    def get_write_buffer_size(self) -> int:
        return self.buffered


class FakePeer:
    """Answers each ping on the next turn of the loop, unless ``silent``."""

    def __init__(self, log: list[str] | None = None, *, silent: bool = False) -> None:
        self.state = State.OPEN
        self.transport = FakeTransport()
        self.silent = silent
        self.pings = 0
        self.closed: tuple[int, str] | None = None
        self.log = log

    async def ping(self) -> Awaitable[float]:
        self.pings += 1
        if self.log is not None:
            self.log.append("ping")
        pong: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if not self.silent:
            asyncio.get_running_loop().call_soon(pong.set_result, 0.001)
        return pong

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = (code, reason)
        self.state = State.CLOSED


async def run_until(keepalive: Keepalive, peers: list[FakePeer], done: Callable[[], bool]) -> None:
    """Run the keepalive until ``done()`` (within 5 s, else the test fails)."""
    task = asyncio.create_task(keepalive.run(lambda: peers))
    try:
        await eventually(done, "the keepalive to get there", timeout=5)
    finally:
        task.cancel()
        await asyncio.wait((task,))


async def test_answering_peers_are_pinged_every_interval_and_kept() -> None:
    peers = [FakePeer() for _ in range(3)]
    loop = asyncio.get_running_loop()
    start = loop.time()
    await run_until(Keepalive(INTERVAL), peers, lambda: all(p.pings >= 4 for p in peers))
    assert loop.time() - start >= 3 * INTERVAL  # once per interval, not more
    assert all(p.closed is None for p in peers)


async def test_a_silent_peer_is_closed_with_1011_after_an_interval_and_the_others_kept() -> None:
    silent, answering = FakePeer(silent=True), FakePeer()
    keepalive = Keepalive(INTERVAL)
    loop = asyncio.get_running_loop()
    await run_until(keepalive, [silent, answering], lambda: silent.pings == 1)
    pinged = loop.time()
    assert silent.closed is None
    await run_until(keepalive, [silent, answering], lambda: silent.closed is not None)
    assert loop.time() - pinged >= INTERVAL  # it had its interval
    assert silent.closed == (1011, "keepalive ping timeout")
    assert silent.pings == 1  # not pinged again while its ping was pending
    assert answering.closed is None and answering.pings >= 2 and keepalive.closed == 1


async def test_a_ping_sent_late_in_one_sweep_has_its_interval_in_the_next() -> None:
    first, last = FakePeer(silent=True), FakePeer(silent=True)
    keepalive = Keepalive(INTERVAL)
    loop = asyncio.get_running_loop()
    await keepalive.sweep([first, last], loop.time())
    await keepalive.sweep([last, first], loop.time())  # visited again at once: not late yet
    assert (first.closed, last.closed) == (None, None)
    await asyncio.sleep(INTERVAL)
    await keepalive.sweep([last, first], loop.time())
    await asyncio.sleep(0)
    assert first.closed == last.closed == (1011, "keepalive ping timeout")


async def test_a_blocked_or_closing_peer_is_not_pinged() -> None:
    blocked, closing = FakePeer(), FakePeer()
    blocked.transport.buffered = 64 * 1024 + 1  # a stalled viewer: its stream cuts it
    closing.state = State.CLOSING
    answering = FakePeer()
    peers = [blocked, closing, answering]
    await run_until(Keepalive(INTERVAL), peers, lambda: answering.pings >= 3)
    assert blocked.pings == closing.pings == 0
    assert blocked.closed is closing.closed is None


async def test_a_sweep_gives_the_loop_back_after_each_slice() -> None:
    log: list[str] = []
    peers = [FakePeer(log) for _ in range(5 * SLICE)]

    async def ticker() -> None:
        while True:
            log.append("tick")
            await asyncio.sleep(0)

    ticking = asyncio.create_task(ticker())
    await Keepalive(INTERVAL).sweep(peers, asyncio.get_running_loop().time() + INTERVAL)
    ticking.cancel()
    runs = "".join("p" if entry == "ping" else " " for entry in log).split()
    assert sum(len(run) for run in runs) == 5 * SLICE
    assert max(len(run) for run in runs) <= SLICE
