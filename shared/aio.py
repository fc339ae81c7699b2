"""Small asyncio helpers."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_set(event: asyncio.Event, timeout: float) -> None:
    """Wait until ``event`` is set, at most ``timeout`` seconds; a cancellation always
    propagates. Not ``asyncio.wait_for``: on Python 3.11 it swallows a cancellation that comes
    in the step the event is set (python/cpython#86296, fixed in 3.12), and the cancelled
    caller runs on (a stopping master's log stream kept streaming; a stopping worker's
    heartbeat loop could go on, and its stop wait for ever)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
