"""Decoding what a real Docker engine sends, end to end through the worker's gRPC stream."""

from __future__ import annotations

import asyncio

import pytest

from shared.model import STDERR, STDOUT, TaskStatus
from shared.protos import logcast_pb2_grpc as pb_grpc
from tests.cluster import worker_channel
from tests.fixtures import collect, start_task
from worker.frames import DEFAULT_MAX_LINE_BYTES

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]


async def test_40000_byte_line_arrives_as_one_line(stub):
    info = await start_task(stub, "head -c 40000 /dev/zero | tr '\\0' a; echo; echo second")
    got = await collect(stub, info.task_id)
    assert [len(ln.content) for ln in got.lines] == [40_000, 6]
    assert got.lines[0].content == "a" * 40_000
    assert got.end.status is TaskStatus.SUCCESS
    assert got.check(published=2) == []


async def test_last_line_without_newline_is_delivered_and_marked(stub):
    info = await start_task(stub, "echo first; printf 'no newline at the end'")
    got = await collect(stub, info.task_id)
    assert [(ln.content, ln.unterminated) for ln in got.lines] == [
        ("first", False),
        ("no newline at the end", True),
    ]


async def test_tty_task_gives_clean_lines(stub):
    info = await start_task(
        stub,
        "echo one; echo two >&2; head -c 20000 /dev/zero | tr '\\0' t; echo; printf end",
        tty=True,
    )
    got = await collect(stub, info.task_id)
    assert [ln.content for ln in got.lines] == ["one", "two", "t" * 20_000, "end"]
    assert {ln.stream for ln in got.lines} == {STDOUT}  # a TTY has one stream
    assert got.lines[-1].unterminated


async def test_stdout_and_stderr_keep_their_tags_in_order(stub):
    info = await start_task(
        stub, "for i in 1 2 3; do echo out$i; sleep 0.05; echo err$i >&2; sleep 0.05; done"
    )
    got = await collect(stub, info.task_id)
    assert [(ln.stream, ln.content) for ln in got.lines] == [
        (STDOUT, "out1"),
        (STDERR, "err1"),
        (STDOUT, "out2"),
        (STDERR, "err2"),
        (STDOUT, "out3"),
        (STDERR, "err3"),
    ]
    assert all(ln.timestamp.endswith("Z") and "T" in ln.timestamp for ln in got.lines)


async def test_64k_of_random_bytes_arrive_as_docker_logs_shows_them(worker_factory, docker_engine):
    """Random bytes (invalid UTF-8, control bytes, carriage returns) come out line for line as
    `docker logs` prints them, replacement characters included, and later lines still arrive."""
    async with worker_factory(keep_containers=True) as worker:
        async with worker_channel(worker.address, worker.config.name) as channel:
            stub = pb_grpc.WorkerStub(channel)
            info = await start_task(
                stub, "head -c 65536 /dev/urandom; echo; echo alive; echo still"
            )
            got = await collect(stub, info.task_id)
        container = worker.executor.info(info.task_id).container_id
        docker_output = docker_engine.api.logs(container, stdout=True, stderr=False)
    expected = docker_output.decode("utf-8", "replace").split("\n")
    assert expected[-1] == ""  # ends with a newline
    assert [ln.content for ln in got.lines] == expected[:-1]
    assert [ln.content for ln in got.lines[-2:]] == ["alive", "still"]
    assert got.check(published=len(expected) - 1) == []
    assert got.end.status is TaskStatus.SUCCESS


async def test_10_mib_line_is_truncated_marked_and_the_stream_continues(stub):
    info = await start_task(
        stub, "head -c 10485760 /dev/zero | tr '\\0' x; echo; echo after; echo done"
    )
    got = await collect(stub, info.task_id)
    first = got.lines[0]
    assert len(first.content) == DEFAULT_MAX_LINE_BYTES
    assert first.truncated == 10 * 1024 * 1024 - DEFAULT_MAX_LINE_BYTES
    assert [ln.content for ln in got.lines[1:]] == ["after", "done"]
    assert got.end.status is TaskStatus.SUCCESS


async def test_last_output_of_busy_tty_tasks_is_never_lost(stub):
    """Docker's follow stream can end before a task's final unterminated output when the engine
    is busy; the worker's catch-up read after the exit finds it (measured on Docker 20.10)."""
    script = "echo one; head -c 20000 /dev/zero | tr '\\0' t; echo; printf end"
    infos = await asyncio.gather(*(start_task(stub, script, tty=True) for _ in range(20)))
    results = await asyncio.gather(*(collect(stub, i.task_id) for i in infos))
    for got in results:
        assert [ln.content[:5] for ln in got.lines] == ["one", "ttttt", "end"]
