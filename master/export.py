"""The log download (``GET /api/tasks/<task_id>/log``) as bytes: its response head and its
body, one chunk per batch. Pure.

The body is sent with chunked transfer encoding, so memory stays one batch whatever the size
of the log, and a client can tell a complete download (it ends with :data:`LAST_CHUNK`) from
one cut short (the connection closed before it).

- ``text``: ``content\\n`` per line, stdout and stderr together, as ``docker logs`` prints
  them to a terminal (with ``timestamps``: ``TIMESTAMP content\\n``, as ``docker logs -t``).
- ``jsonl``: one ``{"seq","timestamp","stream","content"}`` object per line (plus
  ``"truncated"`` for a line cut at the cap), exactly as the WebSocket's ``batch`` frames
  carry them.
"""

from __future__ import annotations

from collections.abc import Iterable

from master.wsframes import line_json
from shared.model import LogLine

LAST_CHUNK = b"0\r\n\r\n"
CONTENT_TYPES = {"text": "text/plain; charset=utf-8", "jsonl": "application/x-ndjson"}
SUFFIXES = {"text": "log", "jsonl": "jsonl"}


def encode_lines(lines: list[LogLine], fmt: str, *, timestamps: bool = False) -> bytes:
    """``lines`` in the download format ``fmt`` (``text`` or ``jsonl``), UTF-8, each ending
    in ``\\n``. Never raises on odd content."""
    if not lines:
        return b""
    if fmt == "jsonl":
        text = "\n".join(map(line_json, lines))
    elif timestamps:
        text = "\n".join(f"{ln.timestamp} {ln.content}" for ln in lines)
    else:
        text = "\n".join(ln.content for ln in lines)
    return (text + "\n").encode("utf-8", "replace")


def chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk carrying ``data`` (which must not be empty: an empty chunk ends
    the body)."""
    return b"%x\r\n%b\r\n" % (len(data), data)


def response_head(status: int, reason: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """An HTTP/1.1 status line and header block, ending with the blank line."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def download_headers(task_id: str, fmt: str) -> list[tuple[str, str]]:
    """The headers of a download of ``task_id``'s log (a valid task id: safe in a header)."""
    return [
        ("Content-Type", CONTENT_TYPES[fmt]),
        ("Content-Disposition", f'attachment; filename="{task_id}.{SUFFIXES[fmt]}"'),
        ("Transfer-Encoding", "chunked"),
        ("Connection", "close"),
        ("Cache-Control", "no-store"),
    ]
