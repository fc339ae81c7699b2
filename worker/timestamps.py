"""Docker's log timestamps as integers and back, exactly. Pure, no I/O.

Docker writes RFC 3339 in UTC with up to nine fractional digits and no trailing zeros (Go's
``RFC3339Nano``): ``2026-11-22T19:41:43.60611506Z``. Stored as nanoseconds since the epoch, a
timestamp costs 8 bytes on disk instead of 30. Only strings that format back to themselves are
converted (:func:`pack` returns anything else unchanged), so nothing is ever altered.
"""

from __future__ import annotations

from datetime import UTC, datetime

_NS = 1_000_000_000
_seconds: dict[str, int] = {}  # "2026-11-22T19:41:43" -> unix seconds (one per second of log)
_heads: dict[int, str] = {}  # and back


def pack(ts: str) -> int | str:
    """``ts`` as nanoseconds since the epoch, or ``ts`` itself when it is not in Docker's form."""
    n = len(ts)
    if n < 20 or ts[-1] != "Z" or ts[10] != "T":
        return ts
    head = ts[:19]
    if n == 20:
        frac = ""
    elif ts[19] != "." or n > 30 or ts[-2] == "0":
        return ts
    else:
        frac = ts[20:-1]
        if not frac.isdigit():
            return ts
    seconds = _seconds.get(head)
    if seconds is None:
        try:
            parsed = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            return ts
        seconds = int(parsed.timestamp())
        try:
            if _head(seconds) != head:
                return ts
        except (ValueError, OverflowError, OSError):
            return ts
        if len(_seconds) > 4096:
            _seconds.clear()
        _seconds[head] = seconds
    return seconds * _NS + (int(frac.ljust(9, "0")) if frac else 0)


def unpack(value: int | str) -> str:
    """The timestamp :func:`pack` was given."""
    if isinstance(value, str):
        return value
    seconds, ns = divmod(value, _NS)
    head = _heads.get(seconds)
    if head is None:
        head = _head(seconds)
        if len(_heads) > 4096:
            _heads.clear()
        _heads[seconds] = head
    if not ns:
        return head + "Z"
    return f"{head}.{ns:09d}".rstrip("0") + "Z"


def _head(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def pack_all(timestamps: list[str]) -> list[int | str]:
    """:func:`pack` of each, faster for a run of lines: consecutive lines mostly share their
    second, and most have all nine fractional digits."""
    out: list[int | str] = []
    add = out.append
    last_head = ""
    base = 0
    for ts in timestamps:
        if len(ts) == 30 and ts[19] == "." and ts[29] == "Z" and ts[28] != "0":
            head = ts[:19]
            if head != last_head:
                packed = pack(ts)
                if isinstance(packed, str):
                    add(packed)
                    last_head = ""
                    continue
                base = packed - int(ts[20:29])
                last_head = head
            frac = ts[20:29]
            if frac.isdigit():
                add(base + int(frac))
                continue
        add(pack(ts))
    return out
