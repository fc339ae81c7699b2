"""Timestamps packed for the store, and the retention policy. Pure."""

from __future__ import annotations

from worker.retention import Kept, to_remove
from worker.timestamps import pack, pack_all, unpack


def test_docker_timestamps_pack_to_integers_and_back_exactly():
    cases = [
        "2026-11-22T19:41:43.606115068Z",
        "2026-11-22T19:41:43.60611506Z",  # Go drops trailing zeros
        "2026-11-22T19:41:43Z",
        "2026-11-22T19:41:43.000000001Z",
        "1970-01-01T00:00:00.5Z",
    ]
    for ts in cases:
        assert isinstance(pack(ts), int)
        assert unpack(pack(ts)) == ts
    assert pack_all(cases) == [pack(ts) for ts in cases]


def test_anything_else_is_kept_as_text():
    odd = ["", "x", "2026-11-22T19:41:43.6061150680Z", "2026-11-22T19:41:43.1_2Z",
           "2026-13-40T19:41:43Z", "2026-11-22 19:41:43Z", "0001-01-01T00:00:00Z"]  # fmt: skip
    for ts in odd:
        assert unpack(pack(ts)) == ts
    assert [unpack(v) for v in pack_all(odd)] == odd


def test_retention_removes_old_finished_tasks_then_the_oldest_until_it_fits():
    now = 10_000.0
    kept = [
        Kept("task-running", 0.0, 500),  # never removed
        Kept("task-ancient", 100.0, 10),
        Kept("task-old", 9000.0, 300),
        Kept("task-mid", 9500.0, 300),
        Kept("task-new", 9900.0, 300),
    ]
    assert to_remove(kept, now, max_age=5000, max_bytes=10_000) == ["task-ancient"]
    assert to_remove(kept, now, max_age=5000, max_bytes=1200) == ["task-ancient", "task-old"]
    assert to_remove(kept, now, max_age=5000, max_bytes=100) == [
        "task-ancient", "task-old", "task-mid", "task-new",
    ]  # fmt: skip
