"""Task id validation: the check before anything touches Docker, a path or a worker."""

from __future__ import annotations

import pytest

from shared.errors import InvalidTaskId
from shared.ids import is_valid_task_id, new_task_id, validate_task_id


@pytest.mark.parametrize("good", ["task-123456", "task-a", "task-build_42-x", "task-" + "a" * 63])
def test_valid_ids_pass_unchanged(good):
    assert validate_task_id(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "../x",
        "task-1/../../etc",
        "task-1\x00",
        "task-",
        "",
        "TASK-1",
        "task-A",
        "task-.x",
        "task-1.2",
        "task-a b",
        "task-1\n",
        "task-" + "a" * 64,
        "x" * 10_000,
        None,
        12,
    ],
)
def test_malformed_ids_are_rejected_with_a_short_clear_message(bad):
    with pytest.raises(InvalidTaskId) as err:
        validate_task_id(bad)
    assert "invalid task id" in str(err.value) and "task-123456" in str(err.value)
    assert len(str(err.value)) < 250
    assert not is_valid_task_id(bad)


def test_generated_ids_are_valid():
    assert all(is_valid_task_id(new_task_id()) for _ in range(100))
