"""WebSocket frames and download bodies: valid JSON with exactly the contract's fields,
whatever the content."""

from __future__ import annotations

import json

from master.export import LAST_CHUNK, chunk, download_headers, encode_lines, response_head
from master.wsframes import error_frame, frames, line_json
from shared.model import STDERR, STDOUT, Batch, Dropped, Gap, LogLine, TaskEnd, TaskStatus

TS = "2026-11-22T19:41:43.606115068Z"


def test_line_frames_are_valid_json_for_any_content():
    nasty = 'quote " backslash \\ nul \x00 esc \x1b[31m ctrl \x07 unicode é ☃ \u2028 </script>'
    lines = [LogLine(1, TS, STDOUT, nasty), LogLine(2, TS, STDERR, "x", truncated=5)]
    single = [json.loads(f) for f in frames(Batch(lines=lines), batched=False, status="running")]
    assert single[0] == {
        "type": "log",
        "seq": 1,
        "timestamp": TS,
        "stream": "stdout",
        "content": nasty,
        "isComplete": False,
        "status": "running",
    }
    assert single[1]["truncated"] == 5 and single[1]["stream"] == "stderr"
    (batched,) = [json.loads(f) for f in frames(Batch(lines=lines), batched=True, status="x")]
    assert batched["type"] == "batch"
    assert [ln["content"] for ln in batched["lines"]] == [nasty, "x"]
    assert set(batched["lines"][0]) == {"seq", "timestamp", "stream", "content"}


def test_notices_and_the_end_in_order():
    batch = Batch(
        lines=[LogLine(9, TS, STDOUT, "a")],
        gap=Gap(1, 4, "evicted"),
        dropped=Dropped(3, 5, 7),
        end=TaskEnd(TaskStatus.FAILED, 2, "boom"),
    )
    got = [json.loads(f) for f in frames(batch, batched=True, status="running")]
    assert [f["type"] for f in got] == ["gap", "dropped", "batch", "log"]
    assert got[0] == {"type": "gap", "fromSeq": 1, "toSeq": 4, "reason": "evicted"}
    assert got[1] == {"type": "dropped", "count": 3, "fromSeq": 5, "toSeq": 7}
    assert got[3] == {
        "type": "log",
        "content": "",
        "isComplete": True,
        "status": "failed",
        "exitCode": 2,
        "error": "boom",
    }
    assert json.loads(error_frame("not_found", "no task")) == {
        "type": "error",
        "code": "not_found",
        "message": "no task",
    }


def test_download_bodies_are_one_line_per_log_line_in_either_format():
    nasty = 'quote " nul \x00 esc \x1b[31m é ☃ \u2028 lone \udc80 surrogate'
    lines = [LogLine(1, TS, STDOUT, "out"), LogLine(2, TS, STDERR, nasty, truncated=3)]
    text = encode_lines(lines, "text")
    assert text == ("out\n" + nasty.replace("\udc80", "?") + "\n").encode()
    assert encode_lines(lines, "text", timestamps=True).startswith(f"{TS} out\n{TS} ".encode())
    body = encode_lines(lines, "jsonl").decode()
    assert body.endswith("\n")
    rows = [json.loads(row) for row in body[:-1].split("\n")]  # JSON Lines: split at \n only
    assert rows[0] == {"seq": 1, "timestamp": TS, "stream": "stdout", "content": "out"}
    assert rows[1]["stream"] == "stderr" and rows[1]["truncated"] == 3
    assert encode_lines([], "jsonl") == b""


def test_download_chunks_and_head_follow_http_1_1():
    assert chunk(b"hello\n") == b"6\r\nhello\n\r\n"
    assert chunk(b"x" * 300)[:5] == b"12c\r\n"
    assert LAST_CHUNK == b"0\r\n\r\n"
    head = response_head(200, "OK", download_headers("task-1", "jsonl"))
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")
    assert b'Content-Disposition: attachment; filename="task-1.jsonl"\r\n' in head
    assert b"Transfer-Encoding: chunked\r\n" in head and b"Connection: close\r\n" in head
    assert b'filename="task-1.log"' in response_head(200, "OK", download_headers("task-1", "text"))


def test_a_big_batch_goes_in_frames_of_at_most_frame_chars_built_one_at_a_time():
    """A stalled viewer's memory is its lines: what it is being sent is one frame of at most
    FRAME_CHARS of lines, built when the previous one was sent, not the whole batch."""
    from master.wsframes import FRAME_CHARS

    lines = [LogLine(i, f"2026-11-23T10:00:00.{i:09d}Z", STDOUT, "x" * 200) for i in range(1, 2001)]
    lines.insert(1000, LogLine(1001, "2026-11-23T10:00:01Z", STDOUT, "y" * (FRAME_CHARS + 1)))
    for later in lines[1001:]:
        later.seq += 1
    out = frames(Batch(lines=lines), batched=True, status="running")
    first = next(out)
    assert lines[-1].wire is None  # the later frames are not built yet
    sent = [json.loads(frame) for frame in [first, *out]]
    got = [ln["seq"] for frame in sent for ln in frame["lines"]]
    assert got == list(range(1, 2002))  # every line, in order, once
    by_seq = {ln.seq: ln for ln in lines}
    for frame in sent:
        text = ",".join(line_json(by_seq[ln["seq"]]) for ln in frame["lines"])
        assert len(text) <= FRAME_CHARS or len(frame["lines"]) == 1  # (the long line alone)
    assert len(sent) > 2000 * 270 // FRAME_CHARS  # not one frame for the batch
