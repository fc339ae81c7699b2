"""The WebSocket protocol's frames (JSON text), built from batches. Pure.

Each line's JSON is built once and cached on the line, so a hundred browsers watching one
task cost one encoding per line, not a hundred.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring

from shared.model import Batch, LogLine, TaskEnd

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def line_json(line: LogLine) -> str:
    """``{"seq":..,"timestamp":..,"stream":..,"content":..}`` (plus ``truncated`` when cut).

    Formatted directly with the C string escaper: 4x faster than encoding a dict."""
    cached = line.wire
    if cached is None:
        cached = (
            f'{{"seq":{line.seq:d},"timestamp":{encode_basestring(line.timestamp)},'
            f'"stream":"{line.stream.value}","content":{encode_basestring(line.content)}'
        )
        cached = line.wire = (
            f'{cached},"truncated":{line.truncated:d}}}' if line.truncated else cached + "}"
        )
    return cached


def end_frame(end: TaskEnd) -> str:
    """The final message: ``{"type":"log","content":"","isComplete":true,...}``."""
    obj: dict[str, object] = {
        "type": "log",
        "content": "",
        "isComplete": True,
        "status": end.status.value,
    }
    if end.exit_code is not None:
        obj["exitCode"] = end.exit_code
    if end.error:
        obj["error"] = end.error
    return _dumps(obj)


def error_frame(code: str, message: str) -> str:
    """``{"type":"error","code":..,"message":..}``."""
    return _dumps({"type": "error", "code": code, "message": message})


def frames(batch: Batch, *, batched: bool, status: str) -> list[str]:
    """The frames for one batch, in order: state, gap, dropped, lines, end."""
    out = []
    if batch.state is not None:
        out.append(_dumps({"type": "state", "state": batch.state.value}))
    if batch.gap is not None:
        g = batch.gap
        out.append(
            _dumps({"type": "gap", "fromSeq": g.from_seq, "toSeq": g.to_seq, "reason": g.reason})
        )
    if batch.dropped is not None:
        d = batch.dropped
        out.append(
            _dumps({"type": "dropped", "count": d.count, "fromSeq": d.from_seq, "toSeq": d.to_seq})
        )
    if batch.lines:
        if batched:
            out.append('{"type":"batch","lines":[' + ",".join(map(line_json, batch.lines)) + "]}")
        else:
            tail = ',"isComplete":false,"status":' + _dumps(status) + "}"
            out.extend('{"type":"log",' + line_json(ln)[1:-1] + tail for ln in batch.lines)
    if batch.end is not None:
        out.append(end_frame(batch.end))
    return out


def task_frames(task_id: str, batch: Batch, *, batched: bool, status: str) -> list[str]:
    """The frames for one batch of a merged stream (``/logs?tasks=``): :func:`frames`, each
    naming its task first (``{"task":"task-a","type":...}``)."""
    head = '{"task":' + encode_basestring(task_id) + ","
    return [head + frame[1:] for frame in frames(batch, batched=batched, status=status)]
