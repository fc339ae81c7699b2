"""A proxy in front of the Docker socket that counts API requests and can cut the engine off.

Tests point a worker at the proxy's socket to prove how many log requests it made per
container, that bad input never reached Docker, and how it copes when Docker goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from pathlib import Path

_REQUEST = re.compile(rb"(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP/1\.[01]\r\n")
_LOGS = re.compile(r"/containers/([0-9a-f]+)/logs")


class DockerProxy:
    """Listen on ``path``, forward every connection to the real Docker socket."""

    def __init__(self, path: Path, upstream: str = "/var/run/docker.sock") -> None:
        self.path = path
        self.upstream = upstream
        self.requests: list[tuple[str, str]] = []  # (method, path) in arrival order
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._refusing = False

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def log_requests(self, *, follow: bool | None = None) -> Counter[str]:
        """Log requests per container id (only follow / only non-follow ones if asked)."""
        counts: Counter[str] = Counter()
        for _, target in self.requests:
            m = _LOGS.search(target)
            if m and (follow is None or ("follow=1" in target) == follow):
                counts[m.group(1)] += 1
        return counts

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.cut()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def cut(self) -> None:
        """Break every open connection."""
        for w in list(self._conns):
            w.transport.abort()
        self._conns.clear()

    def refuse(self, refusing: bool) -> None:
        """While refusing, new connections are closed at once (Docker "unreachable")."""
        self._refusing = refusing
        if refusing:
            self.cut()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._forward(reader, writer)
        except asyncio.CancelledError:
            writer.transport.abort()
        finally:
            self._handlers.discard(task)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._conns.update((writer, up_writer))

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, count: bool) -> None:
            tail = b""
            try:
                while data := await src.read(65536):
                    if count:
                        scan = tail + data
                        for m in _REQUEST.finditer(scan):
                            if m.end() > len(tail):  # not already counted
                                self.requests.append((m.group(1).decode(), m.group(2).decode()))
                        tail = scan[-300:]
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.transport.abort() if self._refusing else dst.close()

        await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))
        self._conns.discard(writer)
        self._conns.discard(up_writer)
