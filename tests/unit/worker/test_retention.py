"""The retention policy. Pure."""

from __future__ import annotations

from worker.retention import Kept, to_remove


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
