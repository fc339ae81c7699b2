"""Decoding Docker's log stream into lines. Pure: bytes in, :class:`LogLine` out, no I/O.

What the Docker engine sends for ``GET /containers/{id}/logs?timestamps=1`` (measured on
Docker 20.10 with the json-file driver, pinned by tests/unit/test_frames.py):

* Non-TTY containers: a *multiplexed* stream of frames. Each frame is an 8-byte header
  (stream byte 1 = stdout, 2 = stderr; three zero bytes; big-endian payload size) and a
  payload ``"<RFC 3339 nano timestamp> <message>"``. A message is one line with its ``\\n``.
* TTY containers: a *raw* stream, ``"<timestamp> <message>"`` records back to back, lines
  ending in ``\\r\\n``; everything is stdout.
* Docker splits a line longer than 16 KiB into messages of exactly 16,384 bytes that share
  one timestamp; only the last ends in ``\\n``. In the raw stream the next part's timestamp
  follows the previous part's bytes directly.
* The last line of a task may have no newline at all.

The decoder rejoins split lines (up to ``max_line_bytes``; beyond that the line is cut at
a character boundary and ``LogLine.truncated`` counts the bytes cut, without buffering
them), replaces invalid UTF-8, strips a TTY line's ``\\r``, keeps stdout and stderr apart,
and delivers a last line without newline with ``unterminated=True``.
"""

from __future__ import annotations

from shared.model import STDERR, STDOUT, LogLine, Stream

PARTIAL_SIZE = 16 * 1024
"""Docker cuts lines into messages of this many bytes."""

DEFAULT_MAX_LINE_BYTES = 64 * 1024
"""Longest line logcast keeps whole (bytes of content); longer lines are truncated."""

MAX_LINE_BYTES_LIMIT = 256 * 1024
"""The largest cap a worker accepts: a line must always fit a gRPC message with room to spare."""

_HEADER = 8
_MAX_BUFFERED_FRAME = 1024 * 1024  # larger frames (never sent by Docker) are read piecewise
_MAX_TS = 64  # a timestamp longer than this is not a timestamp
_STREAMS: dict[int, Stream] = {0: STDOUT, 1: STDOUT, 2: STDERR}


class _Pending:
    """A line being assembled from several messages."""

    __slots__ = ("parts", "size", "truncated", "ts")

    def __init__(self, ts: bytes) -> None:
        self.ts = ts
        self.parts: list[bytes] = []
        self.size = 0
        self.truncated = 0


class DockerLogDecoder:
    """Turns the bytes of a Docker log stream into lines (see the module docstring).

    ``feed(data)`` returns the lines completed by ``data``; ``feed_eof()`` returns what was
    still pending; ``reset()`` forgets pending state (the stream broke and will be re-read).
    """

    def __init__(self, *, tty: bool, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        if not 1 <= max_line_bytes <= MAX_LINE_BYTES_LIMIT:
            raise ValueError(f"max_line_bytes must be between 1 and {MAX_LINE_BYTES_LIMIT}")
        self.tty = tty
        self.max_line_bytes = max_line_bytes
        self.reset()

    def reset(self) -> None:
        """Forget partial frames and lines."""
        self._buf = b""  # bytes of an incomplete frame header / frame / timestamp
        self._pending: dict[Stream, _Pending] = {}
        # multiplexed: a frame too large to buffer, read piece by piece
        self._frame_left = 0
        self._frame_stream: Stream = STDOUT
        self._frame_ts: bytes | None = None
        # raw (TTY): where we are inside the current record
        self._in_body = False
        self._body_count = 0
        self._record_ts = b""

    def feed(self, data: bytes) -> list[LogLine]:
        """Decode ``data``; return the lines it completes, in stream order."""
        out: list[LogLine] = []
        if data:
            if self.tty:
                self._feed_raw(data, out)
            else:
                self._feed_multiplexed(data, out)
        return out

    def feed_eof(self) -> list[LogLine]:
        """The stream ended: return every line still pending, marked unterminated."""
        out: list[LogLine] = []
        if self._buf and not self.tty and len(self._buf) > _HEADER:
            # a frame cut short by the end of the stream: keep what arrived of it
            self._message(_STREAMS.get(self._buf[0], STDOUT), self._buf[_HEADER:], out)
        elif self._buf and self.tty:
            self._append(STDOUT, b"", self._buf)
        for stream in list(self._pending):
            self._flush(stream, out, unterminated=True)
        self.reset()
        return out

    # ------------------------------------------------------------------ multiplexed

    def _feed_multiplexed(self, data: bytes, out: list[LogLine]) -> None:
        pos = self._stream_frame(data, 0, out) if self._frame_left else 0
        if self._buf:
            data = self._buf + data[pos:]
            self._buf = b""
            pos = 0
        n = len(data)
        pending = self._pending
        max_line = self.max_line_bytes
        while pos < n:
            if n - pos < _HEADER:
                self._buf = data[pos:]
                return
            size = int.from_bytes(data[pos + 4 : pos + 8], "big")
            stream = _STREAMS.get(data[pos], STDOUT)
            start = pos + _HEADER
            end = start + size
            if end > n:
                if size <= _MAX_BUFFERED_FRAME:
                    self._buf = data[pos:]
                    return
                self._frame_stream = stream
                self._frame_left = size
                self._frame_ts = None
                pos = self._stream_frame(data, start, out)
                continue
            # fast path: one whole line "ts content\n", nothing pending on its stream
            if size <= max_line and data[end - 1] == 10 and stream not in pending:
                sp = data.find(b" ", start, min(end, start + _MAX_TS))
                if sp > 0 and data.find(b"\n", sp, end - 1) < 0:
                    out.append(
                        LogLine(
                            0,
                            data[start:sp].decode("ascii", "replace"),
                            stream,
                            data[sp + 1 : end - 1].decode("utf-8", "replace"),
                        )
                    )
                    pos = end
                    continue
            self._message(stream, data[start:end], out)
            pos = end

    def _message(self, stream: Stream, payload: bytes, out: list[LogLine]) -> None:
        """One whole Docker message: ``ts content`` with or without a newline."""
        ts, body = _split_timestamp(payload)
        self._start_message(stream, ts, out)
        self._lines(stream, ts, body, out)
        if body and body[-1] != 10 and len(body) < PARTIAL_SIZE:
            # shorter than a 16 KiB part and no newline: the task's last line
            self._flush(stream, out, unterminated=True)

    def _stream_frame(self, data: bytes, pos: int, out: list[LogLine]) -> int:
        """Read on in a frame too large to buffer; return the position after what was used."""
        take = min(self._frame_left, len(data) - pos)
        chunk = data[pos : pos + take]
        self._frame_left -= take
        pos += take
        stream = self._frame_stream
        if self._frame_ts is None:
            head = self._buf + chunk
            self._buf = b""
            if len(head) < _MAX_TS and self._frame_left:
                self._buf = head  # not enough yet to find the timestamp
                return pos
            ts, chunk = _split_timestamp(head)
            self._frame_ts = ts
            self._start_message(stream, ts, out)
        self._lines(stream, self._frame_ts, chunk, out)
        if not self._frame_left:
            self._frame_ts = None  # a frame this large is a part: its line may continue
        return pos

    def _start_message(self, stream: Stream, ts: bytes, out: list[LogLine]) -> None:
        """A message with another timestamp ends the line pending on its stream."""
        pending = self._pending.get(stream)
        if pending is not None and pending.ts != ts:
            self._flush(stream, out, unterminated=True)

    def _lines(self, stream: Stream, ts: bytes, body: bytes, out: list[LogLine]) -> None:
        """Content of one message: every newline completes a line."""
        start = 0
        nl = body.find(b"\n")
        while nl >= 0:
            self._append(stream, ts, body[start:nl])
            self._flush(stream, out, unterminated=False)
            start = nl + 1
            nl = body.find(b"\n", start)
        if start < len(body):
            self._append(stream, ts, body[start:])

    # ------------------------------------------------------------------ raw (TTY)

    def _feed_raw(self, data: bytes, out: list[LogLine]) -> None:
        if self._buf:
            data = self._buf + data
            self._buf = b""
        pos = 0
        n = len(data)
        while pos < n:
            if not self._in_body:
                sp = data.find(b" ", pos, pos + _MAX_TS)
                if sp < 0 and n - pos < _MAX_TS:
                    self._buf = data[pos:]  # wait for the rest of the timestamp
                    return
                ts = b""  # no timestamp where one should be: keep the bytes as content
                if sp >= 0:
                    ts = data[pos:sp]
                    pos = sp + 1
                pending = self._pending.get(STDOUT)
                if pending is not None and (pending.ts != ts or self._body_count != PARTIAL_SIZE):
                    self._flush(STDOUT, out, unterminated=True)
                self._record_ts = ts
                self._in_body = True
                self._body_count = 0
            limit = min(n, pos + PARTIAL_SIZE - self._body_count)
            nl = data.find(b"\n", pos, limit)
            if nl >= 0:
                self._append(STDOUT, self._record_ts, data[pos:nl])
                self._flush(STDOUT, out, unterminated=False)
                pos = nl + 1
                self._in_body = False
                self._body_count = 0
            else:
                self._append(STDOUT, self._record_ts, data[pos:limit])
                self._body_count += limit - pos
                pos = limit
                if self._body_count == PARTIAL_SIZE:
                    self._in_body = False  # a 16 KiB part ended; the next record may continue it

    # ------------------------------------------------------------------ line assembly

    def _append(self, stream: Stream, ts: bytes, piece: bytes) -> None:
        pending = self._pending.get(stream)
        if pending is None:
            pending = self._pending[stream] = _Pending(ts)
        room = self.max_line_bytes - pending.size
        if len(piece) <= room:
            if piece:
                pending.parts.append(piece)
                pending.size += len(piece)
        else:
            if room > 0:
                pending.parts.append(piece[:room])
                pending.size += room
            pending.truncated += len(piece) - max(room, 0)

    def _flush(self, stream: Stream, out: list[LogLine], *, unterminated: bool) -> None:
        pending = self._pending.pop(stream, None)
        if pending is None:
            return
        raw = b"".join(pending.parts)
        truncated = pending.truncated
        if self.tty and not unterminated and raw.endswith(b"\r") and not truncated:
            raw = raw[:-1]
        if truncated:
            cut = _char_boundary(raw)
            truncated += len(raw) - cut
            raw = raw[:cut]
        out.append(
            LogLine(
                0,
                pending.ts.decode("ascii", "replace"),
                stream,
                raw.decode("utf-8", "replace"),
                truncated,
                unterminated,
            )
        )


def _split_timestamp(payload: bytes) -> tuple[bytes, bytes]:
    """``b"<timestamp> <content>"`` as (timestamp, content); no timestamp: (b"", payload)."""
    sp = payload.find(b" ", 0, _MAX_TS)
    return (payload[:sp], payload[sp + 1 :]) if sp > 0 else (b"", payload)


def _char_boundary(raw: bytes) -> int:
    """Length of ``raw`` without a UTF-8 sequence cut off at its end."""
    end = len(raw)
    i = end - 1
    while i >= 0 and end - i <= 4 and raw[i] & 0xC0 == 0x80:
        i -= 1  # step back over continuation bytes to the lead byte
    if i < 0 or end - i > 4:
        return end
    lead = raw[i]
    if lead >> 5 == 0b110:
        need = 2
    elif lead >> 4 == 0b1110:
        need = 3
    elif lead >> 3 == 0b11110:
        need = 4
    else:
        need = 1
    return end if end - i >= need else i
