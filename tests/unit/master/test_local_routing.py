"""WithLocalWorker: only the embedded worker's own name and address go in process."""

from __future__ import annotations

from typing import Any

import pytest

from master.local_worker import WithLocalWorker


class Remote:
    """Stands in for GrpcWorkers: records what it was asked for."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []
        self.closed = False

    def get(self, address: str, name: str) -> Any:
        self.asked.append((address, name))
        return ("remote", address, name)

    async def close(self) -> None:
        self.closed = True


def test_the_embedded_worker_is_called_in_process_and_every_other_worker_remotely():
    remote = Remote()
    workers = WithLocalWorker(remote)
    local: Any = object()

    def get(address: str, name: str) -> Any:
        return workers.get(address, name)

    # nothing attached yet
    assert get("127.0.0.1:5000", "local-abc123") == ("remote", "127.0.0.1:5000", "local-abc123")
    workers.attach("127.0.0.1:5000", "local-abc123", local)
    assert get("127.0.0.1:5000", "local-abc123") is local
    # the same name elsewhere, or another worker at that address, is not this process's
    assert get("10.0.0.2:5000", "local-abc123")[0] == "remote"
    assert get("127.0.0.1:5000", "gpu-1")[0] == "remote"
    workers.detach()
    assert get("127.0.0.1:5000", "local-abc123")[0] == "remote"
    assert len(remote.asked) == 4


@pytest.mark.asyncio
async def test_closing_closes_the_remote_channels():
    remote = Remote()
    await WithLocalWorker(remote).close()
    assert remote.closed
