"""Docker's own log file stays bounded and its rotation costs nothing; a task with a huge
command does not break the heartbeat."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from shared.model import TaskStatus
from tests.cluster import worker_channel
from tests.fixtures import collect, start_task

pytestmark = [pytest.mark.docker, pytest.mark.asyncio]


async def test_rotation_of_the_containers_log_during_follow_repeats_nothing(
    worker_factory, docker_engine
):
    """json-file rotated every ~100 KB while logcast follows: Docker 20.10's follower sends
    lines again after a rotation, may send some late, and may skip the unread rest of the old
    file (see the README's known limits). Every line logcast publishes comes once, and the
    store holds exactly what was published, in the same order."""
    total = 60_000
    async with worker_factory(docker_log_max_size="100k", docker_log_max_file=50) as w:
        from shared.protos import logcast_pb2_grpc as pb_grpc

        async with worker_channel(w.address, w.config.name) as channel:
            stub = pb_grpc.WorkerStub(channel)
            script = (
                f"i=1; while [ $i -le {total} ]; do echo seq=$i; "
                "[ $((i % 2000)) -eq 0 ] && sleep 0.05; i=$((i+1)); done"
            )
            info = await start_task(stub, script)
            config = docker_engine.api.inspect_container(info.container_id)["HostConfig"]
            assert config["LogConfig"] == {
                "Type": "json-file",
                "Config": {"max-size": "100k", "max-file": "50"},
            }
            got = await collect(stub, info.task_id, after_seq=0, lossless=True)
        assert got.end.status is TaskStatus.SUCCESS
        assert w.manager.get(info.task_id).rereads > 0  # rotations were seen
        numbers = got.numbers()
        assert len(numbers) == len(set(numbers)), twice(got.lines)  # no line twice
        assert numbers[0] == 1 and total in numbers
        assert got.check(published=len(numbers)) == []
        stored = await collect_stored(w, info.task_id)
        assert stored == [f"seq={i}" for i in numbers]


def twice(lines: list) -> str:
    """Each line published twice, with its neighbours (seq, timestamp, content): the failure
    says where Docker's rotation got past the filter."""
    first: dict[str, int] = {}
    out = []
    for i, ln in enumerate(lines):
        if ln.content in first:
            j = first[ln.content]
            around = [*lines[j - 2 : j + 3], "...", *lines[i - 2 : i + 3]]
            out.append("; ".join(str(x) for x in around))
        first.setdefault(ln.content, i)
    return "\n".join(out[:3])


async def collect_stored(w, task_id: str) -> list[str]:
    await w.store.flush()
    out: list[str] = []
    after = 0
    while True:
        batch = await w.store.read(task_id, after, 0, 5000, 1 << 20)
        if not batch.lines:
            return out
        out += [ln.content for ln in batch.lines]
        after = batch.lines[-1].seq


async def test_tasks_with_megabyte_commands_keep_their_worker_alive(master_factory):
    """A 1.1 MB command is refused with the limit (64 KiB of command, environment and labels
    in all); commands at the limit travel in heartbeats as summaries, so the worker stays up
    and the tasks are listed (their commands cut, with a note)."""
    from master.master_client import MasterClient
    from shared.errors import InvalidRequest
    from shared.model import TaskSpec
    from tests.fixtures import TEST_IMAGE

    huge = tuple("x" * 100_000 for _ in range(11))  # 1.1 MB
    big = tuple("x" * 20_000 for _ in range(3))  # 60 KB: under the limit
    async with master_factory(worker_timeout=2.0) as (running, _):
        async with MasterClient(running.grpc_address) as client:
            with pytest.raises(InvalidRequest, match="65536 bytes \\(64 KiB\\)"):
                await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", "sleep 6", *huge)))
            ids = [
                (await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", "sleep 6", *big)))).task_id
                for _ in range(2)
            ]
            await asyncio.sleep(3.0)  # past the worker timeout
            workers = await client.workers()
            assert all(w.alive for w in workers)
            listed, _ = await client.tasks(limit=10)
        by_id = {t.task_id: t for t in listed}
        for task_id in ids:
            assert by_id[task_id].status is TaskStatus.RUNNING
            assert by_id[task_id].command[-1].startswith("[... ")


async def test_a_memory_only_worker_still_reports_how_its_tasks_ended(worker_factory):
    """`worker serve --no-store` (for measurements): finished tasks are reported from memory,
    never taken for lost."""
    from master.config import MasterConfig
    from master.master_client import MasterClient
    from master.running import run_master
    from shared.model import TaskSpec
    from tests.fixtures import TEST_IMAGE, eventually

    config = MasterConfig(
        grpc_listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        cluster_listen="127.0.0.1:0",
        worker_timeout=1.0,
    )
    async with (
        run_master(config) as running,
        worker_factory(master=running.grpc_address, store=False),
    ):
        await eventually(lambda: running.master.registry.workers(), "the worker to register")
        async with MasterClient(running.grpc_address) as client:
            info = await client.run(
                TaskSpec("", TEST_IMAGE, ("sh", "-c", "seq 1 3000; echo hi >&2; exit 3"))
            )
            lines, gaps = [], []
            stream = client.stream(info.task_id, after=0, lossless=True)  # from its first line
            async with contextlib.aclosing(stream) as batches:
                async for batch in batches:
                    gaps += [batch.gap] if batch.gap else []
                    lines.extend(batch.lines)
                    if batch.end is not None:
                        break
            # its log comes through as a worker with a store sends it (the end included), but
            # from memory: lines that left the worker's ring before this client came (the
            # task prints them at once) are gone, and the stream says so
            first = lines[0].seq
            assert [ln.seq for ln in lines] == list(range(first, 3002))
            assert first == 1 or [(g.from_seq, g.to_seq) for g in gaps] == [(1, first - 1)]
            contents = [ln.content for ln in lines]  # (stderr's line may come among the last)
            numbers = sorted(int(c) for c in contents if c != "hi")
            assert "hi" in contents and numbers == list(range(3001 - len(numbers), 3001))
            registry = running.master.registry
            await eventually(
                lambda: registry.status(info.task_id).is_final, "the task to end", timeout=10
            )
            await asyncio.sleep(2.5)  # past the worker timeout: still what the worker said
            got = await client.get(info.task_id)
        assert got.status is TaskStatus.FAILED and got.exit_code == 3
