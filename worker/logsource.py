"""Where a broadcaster reads a container's log from: the :class:`LogSource` interface.

Implementations: :class:`worker.docker_source.DockerContainerLog` (a real container, through
the Docker Engine API) and, for tests, ``tests.fakes.logsource.ScriptedLogSource`` (a log
played from a script, with breaks and endings where the test wants them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol


class LogSource(Protocol):
    """One container's raw log stream, as Docker's log API serves it.

    Errors: :class:`~shared.errors.DockerUnavailable` when the engine cannot be reached (the
    broadcaster retries), :class:`~shared.errors.ContainerGone` when the container no longer
    exists (the broadcaster stops reading).
    """

    @property
    def tty(self) -> bool:
        """Whether the container has a TTY (a raw stream, no stdout/stderr frames)."""
        ...

    def chunks(
        self, since: str | None, *, follow: bool = True, tail: int | None = None
    ) -> AsyncIterator[bytes]:
        """The raw log from ``since`` (Docker's ``since``: a time, inclusive; None: the
        beginning), or only its last ``tail`` log messages, until Docker ends it (``follow``:
        when the container stops; otherwise at the end of what is logged). May yield empty
        chunks: the Docker source yields one as soon as the stream is open."""
        ...

    async def still_running(self) -> bool:
        """Whether the container still runs (its log may go on after a stream ended)."""
        ...
