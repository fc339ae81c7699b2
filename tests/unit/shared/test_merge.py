"""Merged views of several tasks: timestamp order within the reorder window, per-task cursors,
stable colours. Pure: batches and times in, what may go out now out."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shared.errors import InvalidRequest
from shared.merge import (
    MAX_TASKS,
    MergedCursor,
    MergeWindow,
    TaskBatch,
    colour_index,
    format_cursor,
    parse_cursor,
    parse_task_ids,
    timestamp_key,
)
from shared.model import STDOUT, Batch, ConnectionState, Dropped, Gap, LogLine, TaskEnd, TaskStatus

A, B, C = "task-a", "task-b", "task-c"
OK = TaskEnd(TaskStatus.SUCCESS, 0)
FAILED = TaskEnd(TaskStatus.FAILED, 3)


def ts(ms: int) -> str:
    """A Docker timestamp ``ms`` milliseconds into a minute."""
    return f"2026-11-22T19:41:{ms // 1000:02d}.{ms % 1000:03d}000000Z"


def lines(*pairs: tuple[int, int]) -> list[LogLine]:
    """Lines from (seq, millisecond) pairs; the content says both."""
    return [LogLine(seq, ts(ms), STDOUT, f"{seq}@{ms}") for seq, ms in pairs]


def flat(out: list[TaskBatch]) -> list[tuple[str, str]]:
    """What went out, as (task, content) in order."""
    return [(item.task_id, ln.content) for item in out for ln in item.batch.lines]


def test_lines_of_two_tasks_go_out_in_timestamp_order_each_task_in_its_own_order():
    merge = MergeWindow([A, B])
    merge.feed(A, Batch(lines=lines((1, 100), (2, 300), (3, 500))), now=0.0)
    assert merge.take(0.0) == []  # B may still send an earlier line
    merge.feed(B, Batch(lines=lines((1, 200), (2, 400))), now=0.05)
    out = merge.take(0.05)
    # B's last line (400) waits for nobody: A has 500 held, so it goes; A's 500 waits for B
    assert flat(out) == [(A, "1@100"), (B, "1@200"), (A, "2@300"), (B, "2@400")]
    assert merge.held(A) == 1 and merge.held(B) == 0
    merge.feed(B, Batch(lines=lines((3, 600))), now=0.1)
    assert flat(merge.take(0.1)) == [(A, "3@500")]
    assert [item.task_id for item in out] == [A, B, A, B]  # one batch per run of one task


def test_a_quiet_task_holds_the_others_no_longer_than_the_window():
    merge = MergeWindow([A, B], window=0.2)
    merge.feed(A, Batch(lines=lines((1, 100))), now=10.0)
    assert merge.take(10.1) == []
    assert merge.wake_at() == pytest.approx(10.2)
    assert flat(merge.take(10.2)) == [(A, "1@100")]
    assert merge.wake_at() is None
    # B's line earlier than what A sent goes at once: it is late, nothing can come before it
    merge.feed(B, Batch(lines=lines((1, 50))), now=10.3)
    assert flat(merge.take(10.3)) == [(B, "1@50")]
    # a later one waits for A (open, its newest 100): for the window, or until A is later
    merge.feed(B, Batch(lines=lines((2, 150))), now=10.4)
    assert merge.take(10.45) == []
    merge.feed(A, Batch(lines=lines((2, 700))), now=10.5)
    assert flat(merge.take(10.5)) == [(B, "2@150")]


def test_a_task_that_ended_holds_nobody_back_and_its_end_keeps_its_place():
    merge = MergeWindow([A, B])
    merge.feed(B, Batch(lines=lines((1, 150)), end=FAILED), now=0.0)
    merge.feed(A, Batch(lines=lines((1, 100), (2, 200))), now=0.0)
    out = merge.take(0.0)
    assert flat(out) == [(A, "1@100"), (B, "1@150"), (A, "2@200")]  # B ended: A alone is open
    assert out[1].task_id == B and out[1].batch.end == FAILED  # right after B's last line
    assert merge.ends == {A: None, B: FAILED}
    assert not merge.done
    merge.feed(A, Batch(end=OK), now=0.01)
    assert merge.take(0.01) == [TaskBatch(A, Batch(end=OK))]
    assert merge.done and merge.ends == {A: OK, B: FAILED}


def test_a_single_open_task_is_never_held():
    merge = MergeWindow([A, B])
    merge.feed(B, Batch(end=OK), now=0.0)
    merge.feed(A, Batch(lines=lines((1, 100))), now=0.0)
    out = merge.take(0.0)
    assert out[0] == TaskBatch(B, Batch(end=OK))
    assert flat(out) == [(A, "1@100")]


def test_notices_keep_their_place_among_their_tasks_lines():
    merge = MergeWindow([A, B])
    merge.feed(B, Batch(lines=lines((1, 100))), now=0.0)
    merge.feed(
        A,
        Batch(
            state=ConnectionState.RECONNECTING,
            gap=Gap(1, 9),
            dropped=Dropped(5, 10, 14),
            lines=lines((15, 50), (16, 300)),
        ),
        now=0.0,
    )
    merge.feed(B, Batch(end=OK), now=0.0)
    out = merge.take(0.0)
    first = out[0]
    assert first.task_id == A and first.batch.gap == Gap(1, 9)
    assert first.batch.state is ConnectionState.RECONNECTING
    assert first.batch.dropped == Dropped(5, 10, 14)
    assert [ln.seq for ln in first.batch.lines] == [15]  # the notice batch carries its lines
    assert flat(out) == [(A, "15@50"), (B, "1@100"), (A, "16@300")]
    assert out[1].batch.end == OK  # B ended: A's 300 is held by nobody


def test_equal_timestamps_go_in_the_order_the_tasks_were_given_and_lines_without_one_follow():
    merge = MergeWindow([A, B])
    merge.feed(B, Batch(lines=lines((1, 100))), now=0.0)
    merge.feed(A, Batch(lines=lines((1, 100))), now=0.0)
    merge.feed(A, Batch(lines=[LogLine(2, "", STDOUT, "no time")]), now=0.0)
    merge.feed(A, Batch(end=OK), now=0.0)
    merge.feed(B, Batch(end=OK), now=0.0)
    assert flat(merge.take(0.0)) == [(A, "1@100"), (A, "no time"), (B, "1@100")]


def test_a_task_whose_stream_stopped_without_an_end_is_closed():
    merge = MergeWindow([A, B])
    merge.feed(A, Batch(lines=lines((1, 100))), now=0.0)
    assert merge.take(0.0) == []
    merge.close(B)
    assert flat(merge.take(0.0)) == [(A, "1@100")]
    merge.close(A)
    assert merge.done and merge.ends == {A: None, B: None}


def test_many_tasks_merge_into_one_sorted_stream():
    tasks = [f"task-{i}" for i in range(20)]
    merge = MergeWindow(tasks)
    out: list[TaskBatch] = []
    for round_ in range(50):
        for i, task in enumerate(tasks):
            merge.feed(task, Batch(lines=lines((round_ + 1, round_ * 100 + i * 3))), now=round_)
            out += merge.take(round_)
    for task in tasks:
        merge.feed(task, Batch(end=OK), now=50)
    out += merge.take(50)
    got = [(ln.timestamp, item.task_id) for item in out for ln in item.batch.lines]
    assert len(got) == 1000 and got == sorted(got, key=lambda g: (g[0], tasks.index(g[1])))
    assert merge.done


def test_timestamp_keys_sort_any_rfc3339_form_in_time_order():
    fixed = "2026-11-22T19:41:43.606115068Z"
    assert timestamp_key(fixed) == fixed
    assert timestamp_key("2026-11-22T19:41:43.6Z") == "2026-11-22T19:41:43.600000000Z"
    assert timestamp_key("2026-11-22T19:41:43Z") == "2026-11-22T19:41:43.000000000Z"
    assert timestamp_key("2026-11-22T21:41:43.5+02:00") == "2026-11-22T19:41:43.500000000Z"
    assert timestamp_key("2026-11-22T18:00:00-01:30") == "2026-11-22T19:30:00.000000000Z"
    for bad in ("", "yesterday", "2026-13-45T99:00:00Z", "2026-11-22T19:41:43"):
        assert timestamp_key(bad) is None
    # trimmed fractions (as Go prints them) still sort by time, not by text
    assert timestamp_key("2026-11-22T19:41:43.6061Z") < timestamp_key(
        "2026-11-22T19:41:43.60611507Z"
    )


def test_task_lists_are_checked_and_bounded():
    assert parse_task_ids(["task-a,task-b", "task-c", "task-a"]) == (A, B, C)
    assert parse_task_ids([" task-a , task-b "]) == (A, B)
    with pytest.raises(InvalidRequest, match=r"invalid task id '\.\./x'"):
        parse_task_ids(["task-a,../x"])
    with pytest.raises(InvalidRequest, match="no task"):
        parse_task_ids(["", ","])
    with pytest.raises(InvalidRequest, match=f"at most {MAX_TASKS}"):
        parse_task_ids([",".join(f"task-{i}" for i in range(MAX_TASKS + 1))])
    assert len(parse_task_ids([",".join(f"task-{i}" for i in range(MAX_TASKS))])) == MAX_TASKS


def test_the_per_task_cursor_reads_and_writes_task_seq_pairs():
    assert parse_cursor("task-a:120,task-b:98") == {A: 120, B: 98}
    assert parse_cursor("") == {}
    assert format_cursor({A: 120, B: 98}) == "task-a:120,task-b:98"
    assert parse_cursor(format_cursor({A: 0, C: 7})) == {A: 0, C: 7}
    assert parse_cursor("task-a:5", [A, B]) == {A: 5}
    for bad, says in [
        ("task-a", "expected TASK_ID:SEQ"),
        ("task-a:-1", "non-negative integer"),
        ("task-a:1e3", "non-negative integer"),
        ("task-a:", "non-negative integer"),
        ("task-a:1,task-a:2", "names task-a twice"),
        ("../etc:1", "invalid task id"),
        ("task-a:1,", "expected TASK_ID:SEQ"),
        ("task-a:99999999999999", "non-negative integer"),
    ]:
        with pytest.raises(InvalidRequest, match=says):
            parse_cursor(bad)
    with pytest.raises(InvalidRequest, match="task-c, which is not one of the tasks"):
        parse_cursor("task-c:1", [A, B])


def test_the_merged_cursor_resumes_each_task_after_what_it_accounted_for():
    cursor = MergedCursor()
    cursor.advance(TaskBatch(A, Batch(lines=lines((1, 0), (2, 0)))))
    cursor.advance(TaskBatch(B, Batch(gap=Gap(1, 40), lines=lines((41, 0)))))
    cursor.advance(TaskBatch(C, Batch(state=ConnectionState.STREAMING)))
    cursor.advance(TaskBatch(A, Batch(dropped=Dropped(3, 3, 5))))
    assert cursor.positions() == {A: 5, B: 41}
    assert str(cursor) == "task-a:5,task-b:41"


def test_a_tasks_colour_is_stable_across_processes_and_spread_over_the_palette():
    code = "from shared.merge import colour_index as c; print(c('task-123456'), c('task-a'))"
    runs = {  # (each with its own salt for hash())
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(3)
    }
    assert runs == {f"{colour_index('task-123456')} {colour_index('task-a')}\n"}
    assert colour_index("a", 2**32) == 0xE40C292C  # FNV-1a's published value for "a"
    indices = {colour_index(f"task-{i}") for i in range(100)}
    assert indices == set(range(8))
    assert all(0 <= colour_index(f"task-{i}", 3) < 3 for i in range(20))
