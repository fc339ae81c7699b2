"""Merged views, the pure parts on the master's side: the ``/logs?tasks=`` route and its query,
frames naming their task, tagged plain lines, and the monitor's configuration."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from master.merged_monitor import MergedMonitorConfig
from master.merged_plain import TAG_SGR, TaggedPrinter, task_tag
from master.webroutes import LOG_KINDS, parse_merged_logs_query, route, scoped_task_ids
from master.wsframes import task_frames
from shared.errors import InvalidRequest
from shared.merge import MAX_TASKS, TaskBatch, colour_index
from shared.model import (
    STDERR,
    STDOUT,
    Batch,
    ConnectionState,
    Gap,
    LogLine,
    Stream,
    TaskEnd,
    TaskStatus,
)

TS = "2026-11-22T19:41:43.606115068Z"


def test_the_merged_routes():
    merged = route("/logs?tasks=task-a,task-b&after=task-a:3")
    assert (merged.kind, merged.query) == ("merged_logs", "tasks=task-a,task-b&after=task-a:3")
    assert merged.kind in LOG_KINDS and route("/logs/task-a").kind in LOG_KINDS
    assert route("/tasks?ids=task-a,task-b").file == "merged.html"
    assert route("/tasks").kind == "page"
    # a token limited to some tasks is checked against each task of the view
    assert scoped_task_ids(merged) == ("task-a", "task-b")
    assert scoped_task_ids(route("/logs/task-c")) == ("task-c",)
    assert scoped_task_ids(route("/logs?tasks=../x")) == ()  # refused by the stream itself
    assert scoped_task_ids(route("/api/tasks")) == ()


def test_the_merged_query():
    q = parse_merged_logs_query("tasks=task-a,task-b&after=task-b:98,task-a:120&batch=1&tail=5")
    assert q.tasks == ("task-a", "task-b")
    assert q.after == (("task-b", 98), ("task-a", 120))
    assert (q.tail, q.batch, q.lossless) == (5, True, False)
    q = parse_merged_logs_query("tasks=task-a&tasks=task-b&lossless=1&stream=stderr")
    assert q.tasks == ("task-b",) and q.lossless  # the last tasks= counts, as for any parameter
    assert q.line_filter.stream is Stream.STDERR
    for bad, says in [
        ("", "no task named"),
        ("tasks=task-a&after=task-c:1", "task-c, which is not one of the tasks"),
        ("tasks=task-a&after=3", "expected TASK_ID:SEQ"),
        ("tasks=task-a&tail=-1", "tail must be"),
        ("tasks=task-a&colour=1", "unknown query parameter"),
        ("tasks=" + ",".join(f"task-{i}" for i in range(MAX_TASKS + 1)), f"at most {MAX_TASKS}"),
        ("tasks=task-a,TASK-B", "invalid task id"),
    ]:
        with pytest.raises(InvalidRequest, match=says):
            parse_merged_logs_query(bad)


def test_every_frame_of_a_merged_stream_names_its_task_first():
    batch = Batch(
        state=ConnectionState.STREAMING,
        gap=Gap(1, 2),
        lines=[LogLine(3, TS, STDOUT, 'say "hi"'), LogLine(4, TS, STDERR, "<b>")],
        end=TaskEnd(TaskStatus.FAILED, 3),
    )
    single = task_frames("task-a", batch, batched=False, status="running")
    parsed = [json.loads(f) for f in single]
    assert all(next(iter(f)) == "task" and f["task"] == "task-a" for f in parsed)
    assert [f["type"] for f in parsed] == ["state", "gap", "log", "log", "log"]
    assert parsed[2]["content"] == 'say "hi"' and parsed[3]["content"] == "<b>"
    assert parsed[-1] == {
        "task": "task-a",
        "type": "log",
        "content": "",
        "isComplete": True,
        "status": "failed",
        "exitCode": 3,
    }
    batched = [json.loads(f) for f in task_frames("task-a", batch, batched=True, status="x")]
    assert [f["type"] for f in batched] == ["state", "gap", "batch", "log"]
    assert [ln["seq"] for ln in batched[2]["lines"]] == [3, 4]


def test_plain_lines_carry_their_task_coloured_only_on_a_terminal():
    assert task_tag("task-a", 8) == "task-a   | "
    sgr = TAG_SGR[colour_index("task-a")]
    assert task_tag("task-a", 0, colour=True) == f"\x1b[{sgr}mtask-a |\x1b[0m "
    out, err = io.StringIO(), io.StringIO()
    printer = TaggedPrinter(["task-a", "task-bb"], out, err, clean=True)

    async def show() -> None:
        await printer.take(
            TaskBatch("task-a", Batch(lines=[LogLine(1, TS, STDOUT, "\x1b]0;x\x07hi")]))
        )
        await printer.take(
            TaskBatch(
                "task-bb",
                Batch(
                    state=ConnectionState.RECONNECTING,
                    lines=[LogLine(1, TS, STDERR, "oops")],
                    end=TaskEnd(TaskStatus.FAILED, 3),
                ),
            )
        )

    asyncio.run(show())
    assert out.getvalue() == "task-a  | ^[]0;x^Ghi\ntask-bb | oops\n"
    assert err.getvalue() == (
        "logcast: task-bb: connection: reconnecting\n"
        "logcast: task-bb: Task Completed - Status: failed (exit code 3)\n"
    )


def test_the_merged_monitor_config_validates_itself():
    config = MergedMonitorConfig(("task-a", "task-b"), tail=5, after=(("task-b", 7),))
    assert config.for_task("task-a").tail == 5 and config.for_task("task-a").after is None
    assert config.for_task("task-b").after == 7 and config.for_task("task-b").tail is None
    assert MergedMonitorConfig(labels=(("job", "nightly"),)).task_ids == ()
    for kwargs, says in [
        ({}, "give a task id, several, or --label"),
        ({"task_ids": ("task-a", "../x")}, "invalid task id"),
        ({"task_ids": ("task-a",), "tail": -1}, "--tail"),
        ({"task_ids": tuple(f"task-{i}" for i in range(MAX_TASKS + 1))}, f"at most {MAX_TASKS}"),
    ]:
        with pytest.raises(InvalidRequest, match=says):
            MergedMonitorConfig(**kwargs)  # type: ignore[arg-type]
