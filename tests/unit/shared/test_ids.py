"""Task id and worker name validation: the checks before anything touches Docker, a path, a
worker or the master's registry."""

from __future__ import annotations

import pytest

from shared.errors import InvalidRequest, InvalidTaskId
from shared.ids import is_valid_task_id, new_task_id, validate_task_id, validate_worker_name


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


@pytest.mark.parametrize("good", ["w1", "local-1a2b3c", "build_host-7", "0", "a" * 63])
def test_valid_worker_names_pass_unchanged(good):
    assert validate_worker_name(good) == good


@pytest.mark.parametrize(
    "bad",
    ["", "a[/]", "w\x1b[31m", "W1", "a.b", "a b", "-a", "_a", "a/b", "é", "a" * 64, "x" * 10_000],
)
def test_malformed_worker_names_are_rejected_escaped(bad):
    with pytest.raises(InvalidRequest) as err:
        validate_worker_name(bad)
    message = str(err.value)
    assert message.startswith("invalid worker name") and len(message) < 250
    assert "\x1b" not in message  # quoted with repr: no control byte reaches a terminal
