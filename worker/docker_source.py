"""Adapter: the :class:`~worker.logsource.LogSource` of one Docker container."""

from __future__ import annotations

from collections.abc import AsyncIterator

from worker.docker_containers import ContainerRuntime
from worker.docker_logs import DockerLogAPI


class DockerContainerLog:
    """A container's log through the Engine API (``container_id`` is set once it exists)."""

    def __init__(self, api: DockerLogAPI, runtime: ContainerRuntime, *, tty: bool) -> None:
        self.api = api
        self.runtime = runtime
        self._tty = tty
        self.container_id = ""

    @property
    def tty(self) -> bool:
        """Whether the container has a TTY."""
        return self._tty

    def chunks(
        self, since: str | None, *, follow: bool = True, tail: int | None = None
    ) -> AsyncIterator[bytes]:
        """The container's raw log from ``since`` (or its last ``tail`` lines)."""
        return self.api.chunks(self.container_id, since=since, follow=follow, tail=tail)

    async def still_running(self) -> bool:
        """Whether the container still runs."""
        return (await self.runtime.inspect(self.container_id)).running
