"""Adapter: read a container's raw log stream from the Docker Engine API.

docker-py's ``logs(stream=True)`` loses the stdout/stderr tag, may hand back half a frame, and
yields single bytes for TTY containers; this reader hands the raw response body, chunk by
chunk, to :class:`worker.frames.DockerLogDecoder`, which does all the parsing. The HTTP
client is aiohttp (one connection pool per worker, over the Unix socket or TCP); log requests
use HTTP/1.0 so the body is the raw stream, not one HTTP chunk per log message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp

from shared.errors import ContainerGone, DockerUnavailable

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


class DockerLogAPI:
    """``GET /containers/{id}/logs`` as an async stream of byte chunks."""

    def __init__(self, docker_host: str = DEFAULT_DOCKER_HOST) -> None:
        self.docker_host = docker_host
        url = urlsplit(docker_host)
        self._socket_path: str | None = None
        if url.scheme == "unix":
            self._socket_path = url.path
            self._base = "http://docker"
        elif url.scheme in ("tcp", "http"):
            self._base = f"http://{url.netloc}"
        else:
            raise ValueError(f"unsupported Docker host {docker_host!r} (use unix:// or tcp://)")
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # no connection limit: every followed container holds one connection for as long as
            # it runs (aiohttp's default of 100 made the 101st container wait for a free one)
            connector: aiohttp.BaseConnector = (
                aiohttp.UnixConnector(path=self._socket_path, limit=0)
                if self._socket_path is not None
                else aiohttp.TCPConnector(limit=0)
            )
            self._session = aiohttp.ClientSession(
                base_url=self._base,
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
                # HTTP/1.0: Docker then sends the raw stream instead of one HTTP chunk per
                # log message, which halves the parsing work (measured: bench/b01_burst.py)
                version=aiohttp.HttpVersion10,
            )
        return self._session

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def chunks(
        self,
        container_id: str,
        *,
        since: str | None = None,
        follow: bool = True,
        tail: int | None = None,
    ) -> AsyncIterator[bytes]:
        """The container's log (stdout and stderr, with timestamps) as raw chunks.

        ``since`` starts at a time (Docker scans the whole log file for it); ``tail`` returns
        only the last lines (read from the end of the file). Ends when Docker ends the stream
        (for ``follow``, when the container stops). The first chunk is empty: the stream is
        open (Docker answered).
        Raises :class:`ContainerGone` for an unknown container and
        :class:`~shared.errors.DockerUnavailable` when the engine cannot be reached.
        """
        params = {"stdout": "1", "stderr": "1", "timestamps": "1", "follow": "1" if follow else "0"}
        if since is not None:
            params["since"] = since
        if tail is not None:
            params["tail"] = str(tail)
        try:
            async with self._client().get(
                f"/containers/{container_id}/logs", params=params
            ) as resp:
                if resp.status == 404:
                    raise ContainerGone(f"container {container_id[:12]} no longer exists")
                if resp.status != 200:
                    text = (await resp.text())[:200]
                    raise DockerUnavailable(
                        f"Docker refused the log request ({resp.status}): {text}"
                    )
                yield b""  # open
                async for chunk in resp.content.iter_any():
                    yield chunk
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise DockerUnavailable(
                f"lost the Docker log stream of {container_id[:12]}: {exc or type(exc).__name__}"
            ) from exc
