"""A hung worker (`kill -STOP`): real `master serve` and `worker serve` processes and a real
task. The master marks the worker down and its task lost within `--worker-timeout` + slack;
once the worker continues (`kill -CONT`) the task is running again at once, and
`master monitor --plain` streams its new lines."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import time
import uuid

import pytest

from master.master_client import MasterClient
from shared.model import TaskSpec, TaskStatus
from tests.fixtures import TEST_IMAGE, eventually_async, remove_containers
from tests.integration.test_fanout import numbered
from tests.procs import MASTER, free_port, start_master, start_worker

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]

WORKER_TIMEOUT = 2.0
SLACK = 2.0
SEQ = re.compile(r"seq=(\d+)")


def monitor_plain(master: str, task_id: str) -> subprocess.Popen[str]:
    """``master monitor TASK --plain --tail 5``, its output read by the test."""
    return subprocess.Popen(
        [MASTER, "monitor", task_id, "--plain", "--tail", "5", "--master", master],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def read_until_seq(monitor: subprocess.Popen[str], beyond: int, timeout: float) -> int:
    """Read the monitor's stdout until a line ``seq=N`` with N > ``beyond``; return N."""
    assert monitor.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            remaining = deadline - time.monotonic()
            line = await asyncio.wait_for(asyncio.to_thread(monitor.stdout.readline), remaining)
        except TimeoutError:
            break
        if not line:
            break
        m = SEQ.fullmatch(line.strip())
        if m and int(m.group(1)) > beyond:
            return int(m.group(1))
    raise AssertionError(f"the monitor printed no line after seq={beyond} in {timeout} s")


async def test_a_stopped_worker_is_down_in_time_and_believed_again_when_it_continues(
    tmp_path, docker_engine
):
    master = start_master(tmp_path, free_port(), "--worker-timeout", str(WORKER_TIMEOUT))
    name = f"w{uuid.uuid4().hex[:6]}"
    worker = start_worker(tmp_path, master.address, name)
    pid = worker.popen.pid
    monitors: list[subprocess.Popen[str]] = []
    try:
        async with MasterClient(master.address) as client:

            async def alive() -> bool:
                return any(w.name == name and w.alive for w in await client.workers())

            await eventually_async(alive, "the worker to register")
            spec = TaskSpec("", TEST_IMAGE, ("sh", "-c", numbered(100_000, "sleep 0.1")))
            task_id = (await client.run(spec)).task_id

            async def printing() -> bool:
                return (await client.get(task_id)).lines >= 5

            await eventually_async(printing, "the task to print")
            # watched while it hangs: this monitor is told the task is lost (and exits 1)
            watching = await asyncio.to_thread(monitor_plain, master.address, task_id)
            monitors.append(watching)
            await read_until_seq(watching, 0, timeout=10.0)

            os.kill(pid, signal.SIGSTOP)
            stopped_at = time.monotonic()

            async def lost() -> bool:
                info = await client.get(task_id)
                return info.status is TaskStatus.LOST and not await alive()

            await eventually_async(lost, "the worker down, its task lost", WORKER_TIMEOUT + 10)
            took = time.monotonic() - stopped_at
            assert took <= WORKER_TIMEOUT + SLACK, f"marked down {took:.1f} s after the stop"
            info = await client.get(task_id)
            assert f"worker {name} stopped answering" in info.error
            seen = info.lines  # what the worker had read when it stopped
            _, said = await asyncio.to_thread(watching.communicate, timeout=10)
            assert watching.returncode == 1 and "Status: lost" in said, said

            os.kill(pid, signal.SIGCONT)
            continued_at = time.monotonic()

            async def running() -> bool:
                return (await client.get(task_id)).status is TaskStatus.RUNNING and await alive()

            await eventually_async(running, "the task running again", 5.0)
            assert time.monotonic() - continued_at < 3.0
            listed, _ = await client.tasks()
            assert {t.task_id: t.status for t in listed}[task_id] is TaskStatus.RUNNING

        # a monitor started now follows the running task (not the relay that ended it lost):
        # the lines it printed during and after the stop
        monitor = await asyncio.to_thread(monitor_plain, master.address, task_id)
        monitors.append(monitor)
        got = await read_until_seq(monitor, seen + 10, timeout=15.0)
        assert got > seen + 10
        assert monitor.poll() is None  # still following
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
        for proc in monitors:
            proc.kill()
            proc.communicate(timeout=30)
        worker.stop()
        master.stop()
        remove_containers(docker_engine.api, name)
