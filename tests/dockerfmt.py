"""Encode output the way the Docker engine's log API does (see worker/frames.py), for tests."""

from __future__ import annotations

PART = 16 * 1024


def messages(output: bytes) -> list[bytes]:
    """Split a program's output into Docker log messages: one per line, lines over 16 KiB cut
    into 16,384-byte parts, the last line without its newline if it had none."""
    out: list[bytes] = []
    pieces = output.split(b"\n")
    lines = [p + b"\n" for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    for line in lines:
        while len(line) > PART:
            out.append(line[:PART])
            line = line[PART:]
        out.append(line)
    return out


def multiplexed(records: list[tuple[int, str, bytes]]) -> bytes:
    """Frames for (stream byte, timestamp, output) records: stream 1 stdout, 2 stderr."""
    data = bytearray()
    for stream, ts, output in records:
        for msg in messages(output):
            payload = ts.encode() + b" " + msg
            data += bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload
    return bytes(data)


def raw(records: list[tuple[str, bytes]]) -> bytes:
    """The raw TTY stream for (timestamp, output) records; output lines end in \\r\\n."""
    data = bytearray()
    for ts, output in records:
        for msg in messages(output):
            data += ts.encode() + b" " + msg
    return bytes(data)
