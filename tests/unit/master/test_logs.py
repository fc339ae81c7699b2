"""`master logs`: its configuration, how lines are printed, where they go, its exit codes. Pure
(the printers write to in-memory streams)."""

from __future__ import annotations

import io
import json
import os
from typing import Any

import pytest

from master.logs import (
    JsonlPrinter,
    LogsConfig,
    TextPrinter,
    jsonl_text,
    line_text,
    print_log,
    printer_for,
    split_text,
    worth_saying,
)
from master.plain import PREFIX, format_line, same_destination
from master.presentation import end_summary, gap_notice
from shared.errors import InvalidRequest, InvalidTaskId
from shared.model import STDERR, STDOUT, Batch, Gap, LogLine, TaskEnd, TaskStatus

TS = "2026-11-22T19:41:43.606115068Z"


def line(seq: int, content: str, stream=STDOUT, **extra: Any) -> LogLine:
    return LogLine(seq, TS, stream, content, **extra)


def test_by_default_the_whole_log_is_asked_for_losslessly():
    config = LogsConfig("task-123456")
    assert (config.tail, config.after, config.follow, config.lossless) == (None, 0, False, True)
    assert LogsConfig("task-123456", tail=5).after is None  # the last 5, not everything
    assert LogsConfig("task-123456", after=7).after == 7


def test_a_config_validates_itself():
    with pytest.raises(InvalidTaskId):
        LogsConfig("../etc/passwd")
    bad: list[dict[str, Any]] = [
        {"tail": -1},
        {"after": -5},
        {"tail": 5, "after": 7},  # which one? refused rather than guessed
        {"output": "yaml"},
    ]
    for kwargs in bad:
        with pytest.raises(InvalidRequest):
            LogsConfig("task-123456", **kwargs)


def test_a_line_the_task_ended_without_newline_is_printed_without_one_like_docker_logs():
    assert line_text(line(1, "done"), timestamps=False) == "done\n"
    assert line_text(line(2, "50%...", unterminated=True), timestamps=False) == "50%..."
    assert line_text(line(3, "x"), timestamps=True) == f"{TS} x\n"
    cut = line_text(line(4, "aaaa", truncated=99), timestamps=False)
    assert cut == "aaaa [logcast: 99 more bytes truncated]\n"


def test_stdout_lines_and_stderr_lines_are_split_in_order():
    lines = [line(1, "o1"), line(2, "e1", STDERR), line(3, "o2"), line(4, "e2", STDERR)]
    assert split_text(lines, timestamps=False) == ("o1\no2\n", "e1\ne2\n")
    assert split_text(lines[:1], timestamps=False) == ("o1\n", "")


def test_only_a_terminal_gets_control_characters_shown_instead_of_obeyed():
    hostile = line(1, "\x1b]0;pwned\x07\x1b[31mred\x1b[0m\x1b[2J")
    assert format_line(hostile, timestamps=False) == hostile.content  # a pipe: as written
    shown = "^[]0;pwned^G^[[31mred^[[0m^[[2J"
    assert format_line(hostile, timestamps=False, clean=True) == shown
    out, err = split_text(
        [hostile, line(2, "\x1b[2Jerr", STDERR)], timestamps=False, clean_err=True
    )
    assert (out, err) == (hostile.content + "\n", "^[[2Jerr\n")


def test_raw_keeps_the_bytes_on_a_terminal_and_notices_never_carry_control_characters():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out, err = Terminal(), Terminal()
    printer = printer_for(LogsConfig("task-123456", raw=True), out, err)
    printer.lines([line(1, "\x1b[31mred\x1b[0m")])
    printer.end("task-123456", TaskEnd(TaskStatus.FAILED, None, "no \x1b]0;such\x07 file"))
    assert out.getvalue() == "\x1b[31mred\x1b[0m\n"
    assert err.getvalue().endswith("failed — no ^[]0;such^G file\n")
    cooked = printer_for(LogsConfig("task-123456"), Terminal(), Terminal())
    assert cooked.clean_out and cooked.clean_err and not printer.clean_out


def test_jsonl_is_one_object_per_line_with_seq_timestamp_stream_content():
    text = jsonl_text([line(1, 'say "hi"\t'), line(2, "oops", STDERR, truncated=3)])
    rows = [json.loads(r) for r in text.splitlines()]
    assert text.endswith("\n")
    assert rows == [
        {"seq": 1, "timestamp": TS, "stream": "stdout", "content": 'say "hi"\t'},
        {"seq": 2, "timestamp": TS, "stream": "stderr", "content": "oops", "truncated": 3},
    ]


def test_split_printer_writes_each_stream_once_per_batch():
    class Counting(io.StringIO):
        writes = 0

        def write(self, s: str) -> int:
            self.writes += 1
            return super().write(s)

    out, err = Counting(), Counting()
    printer = TextPrinter(out, err)
    printer.lines([line(i, f"o{i}", STDERR if i % 2 else STDOUT) for i in range(1, 1001)])
    assert (out.writes, err.writes) == (1, 1)
    assert out.getvalue().count("\n") == err.getvalue().count("\n") == 500


def test_one_destination_for_both_streams_gets_every_line_in_order_in_one_write():
    both = io.StringIO()
    printer = TextPrinter(both, both)
    printer.lines([line(1, "o1"), line(2, "e1", STDERR), line(3, "o2")])
    printer.notice(PREFIX + "hello")
    assert both.getvalue() == "o1\ne1\no2\nlogcast: hello\n"


def test_same_destination_is_told_by_the_file_not_the_object():
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    files = [open(fd, "w") for fd in (w1, os.dup(w1), w2)]
    try:
        assert same_destination(files[0], files[1])  # 2>&1
        assert not same_destination(files[0], files[2])  # 2>elsewhere
        assert not same_destination(io.StringIO(), io.StringIO())  # no file: apart
    finally:
        for f in files:
            f.close()
        os.close(r1)
        os.close(r2)


def test_printer_for_picks_the_output_and_merges_a_shared_destination():
    out, err = io.StringIO(), io.StringIO()
    assert isinstance(
        printer_for(LogsConfig("task-123456", output="jsonl"), out, err), JsonlPrinter
    )
    text = printer_for(LogsConfig("task-123456", timestamps=True), out, out)
    assert type(text) is TextPrinter and text.err is out and text.timestamps


def test_the_end_is_said_only_when_logcast_knows_more_than_the_exit_code():
    assert not worth_saying(TaskEnd(TaskStatus.SUCCESS, 0))
    assert not worth_saying(TaskEnd(TaskStatus.FAILED, 3))  # the task's own stderr says why
    assert worth_saying(TaskEnd(TaskStatus.FAILED, 137, "out of memory (OOMKilled)"))
    assert worth_saying(TaskEnd(TaskStatus.LOST, None, "worker w1 stopped answering"))
    assert worth_saying(TaskEnd(TaskStatus.FAILED, None, "image not on this worker"))


async def script(*batches: Batch):
    for batch in batches:
        yield batch


@pytest.mark.asyncio
async def test_without_follow_the_exit_code_is_0_once_printed_with_follow_as_monitor():
    failed = TaskEnd(TaskStatus.FAILED, 3)
    for follow, end, code in [
        (False, failed, 0),
        (False, None, 0),  # a running task: what is stored now
        (True, TaskEnd(TaskStatus.SUCCESS, 0), 0),
        (True, failed, 1),
    ]:
        out, err = io.StringIO(), io.StringIO()
        config = LogsConfig("task-123456", follow=follow)
        got = await print_log(
            config, script(Batch(lines=[line(1, "x")]), Batch(end=end)), TextPrinter(out, err)
        )
        assert got == code, (follow, end)
        assert out.getvalue() == "x\n" and err.getvalue() == ""


@pytest.mark.asyncio
async def test_notices_and_a_telling_end_go_to_stderr_lines_stay_clean():
    lost = TaskEnd(TaskStatus.LOST, None, "worker w1 stopped answering")
    gap = Gap(1, 80, "expired")
    out, err = io.StringIO(), io.StringIO()
    batches = script(Batch(gap=gap, lines=[line(81, "o"), line(82, "e", STDERR)]), Batch(end=lost))
    code = await print_log(LogsConfig("task-123456", follow=True), batches, TextPrinter(out, err))
    assert code == 1
    assert out.getvalue() == "o\n"
    assert err.getvalue() == (
        f"{PREFIX}{gap_notice(gap)}\ne\n{PREFIX}task-123456: {end_summary(lost)}\n"
    )
    assert "lines 1-80 are no longer available (expired)" in err.getvalue()


@pytest.mark.asyncio
async def test_jsonl_printer_keeps_stdout_for_json_alone():
    out, err = io.StringIO(), io.StringIO()
    batches = script(
        Batch(gap=Gap(1, 2, "expired"), lines=[line(3, "o"), line(4, "e", STDERR)]),
        Batch(end=TaskEnd(TaskStatus.SUCCESS, 0)),
    )
    await print_log(LogsConfig("task-123456", output="jsonl"), batches, JsonlPrinter(out, err))
    assert [json.loads(r)["seq"] for r in out.getvalue().splitlines()] == [3, 4]
    assert err.getvalue() == PREFIX + gap_notice(Gap(1, 2, "expired")) + "\n"
