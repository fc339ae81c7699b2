"""One worker per data directory: an exclusive lock (``DATA_DIR/lock``, flock) held while it
runs, so a second worker on the same directory (two masters with ``--local-worker`` on one
state directory, a unit started twice) is refused before it touches the store or adopts the
first one's containers."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from shared.errors import ConfigError

LOCK = "lock"


class DataDirLock:
    """Held from :meth:`acquire` to :meth:`release` (or the process's end: the kernel lets go)."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir
        self._fd: int | None = None

    def acquire(self) -> None:
        """Hold the lock, else ConfigError naming the process that holds it."""
        path = self.dir / LOCK
        try:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(f"cannot use the data directory {self.dir}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ConfigError(
                f"the data directory {self.dir} is in use by another worker (pid {holder}); "
                "give this one another --data-dir or --name"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
