"""The contract's words and exit codes, shared by plain output and the TUI. Pure."""

from __future__ import annotations

import io

import pytest

from master.plain import notices, print_stream
from master.presentation import (
    dropped_notice,
    end_summary,
    exit_code_for,
    exit_code_for_all,
    gap_notice,
    state_notice,
)
from master.tui.render import banner_text, render_notice
from shared.model import STDOUT, Batch, ConnectionState, Dropped, Gap, LogLine, TaskEnd, TaskStatus

ENDS = [
    TaskEnd(TaskStatus.SUCCESS, 0),
    TaskEnd(TaskStatus.FAILED, 3, "out of memory (OOMKilled)"),
    TaskEnd(TaskStatus.CANCELLED, 137, "stopped on request"),
    TaskEnd(TaskStatus.LOST, None, "worker w1 stopped answering"),
]


def test_exit_codes():
    assert exit_code_for(TaskEnd(TaskStatus.SUCCESS, 0)) == 0
    assert [exit_code_for(end) for end in ENDS[1:]] == [1, 1, 1]
    assert exit_code_for(None) == 1  # the stream ended before the task did
    assert exit_code_for_all([ENDS[0], ENDS[0]]) == 0
    assert exit_code_for_all([ENDS[0], ENDS[1]]) == 1


def test_the_end_banner_names_the_status_the_exit_code_and_why():
    assert end_summary(ENDS[0]) == "Task Completed - Status: success (exit code 0)"
    assert (
        end_summary(ENDS[1])
        == "Task Completed - Status: failed (exit code 3) — out of memory (OOMKilled)"
    )
    assert end_summary(ENDS[3]) == "Task Completed - Status: lost — worker w1 stopped answering"


@pytest.mark.parametrize("end", ENDS)
def test_the_tui_banner_says_exactly_what_plain_output_says(end):
    assert banner_text(end).plain == end_summary(end)


def test_notices_read_the_same_in_plain_output_and_the_tui():
    gap, dropped = Gap(1, 80, "evicted"), Dropped(120, 300, 419)
    assert gap_notice(gap) == "lines 1-80 are no longer available (evicted)"
    assert dropped_notice(dropped) == "120 lines dropped (seq 300-419): this viewer fell behind"
    assert state_notice(ConnectionState.DOCKER_UNREACHABLE) == "connection: docker unreachable"
    plain = notices(
        Batch(state=ConnectionState.RECONNECTING, gap=gap, dropped=dropped), troubled=False
    )
    assert plain == [
        "logcast: connection: reconnecting",
        "logcast: " + gap_notice(gap),
        "logcast: " + dropped_notice(dropped),
    ]
    assert render_notice(gap).plain == f"── {gap_notice(gap)} ──"
    assert render_notice(dropped).plain == f"── {dropped_notice(dropped)} ──"


@pytest.mark.asyncio
async def test_plain_output_prints_lines_on_stdout_and_the_end_on_stderr():
    async def batches():
        yield Batch(lines=[LogLine(1, "t", STDOUT, "hello")])
        yield Batch(end=ENDS[1])

    out, err = io.StringIO(), io.StringIO()
    code = await print_stream("task-123456", batches(), out, err)
    assert code == 1
    assert out.getvalue() == "hello\n"
    assert err.getvalue() == f"logcast: task-123456: {end_summary(ENDS[1])}\n"
