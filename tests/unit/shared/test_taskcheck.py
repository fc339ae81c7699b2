"""What a task may be made of: one check for every entry (master RunTask, worker StartTask,
``master run``) and for what a worker reports in its heartbeats. Pure."""

from __future__ import annotations

import pytest

from shared.errors import InvalidRequest
from shared.model import TaskInfo, TaskSpec, TaskStatus
from shared.taskcheck import (
    MAX_REPORTED_INFO_BYTES,
    MAX_SPEC_BYTES,
    spec_bytes,
    validate_reported_info,
    validate_spec,
)


def spec(**kw) -> TaskSpec:
    return TaskSpec(**{"task_id": "task-1", "image": "busybox:latest", **kw})


def test_a_plain_spec_passes_unchanged():
    good = spec(
        command=("sh", "-c", "echo hi"),
        env=(("PATH", "/bin"), ("_x1", ""), ("a", "b=c\n")),
        labels=(("team", "web"), ("app.kubernetes.io/name", "x"), ("k", "")),
    )
    assert validate_spec(good) is good


def test_command_env_and_labels_together_may_be_64_kib_and_not_a_byte_more():
    """Every argument, key and value counts, in UTF-8 bytes."""
    at_limit = spec(command=("x" * (MAX_SPEC_BYTES - 4),), env=(("AB", "cd"),))
    assert spec_bytes(at_limit) == MAX_SPEC_BYTES
    validate_spec(at_limit)
    for over in (
        spec(command=("x" * (MAX_SPEC_BYTES - 4),), env=(("AB", "cde"),)),
        spec(labels=(("k", "v" * MAX_SPEC_BYTES),)),
        spec(command=("é" * (MAX_SPEC_BYTES // 2 + 1),)),  # 2 bytes a character
        spec(command=("x",) * (MAX_SPEC_BYTES + 1)),
    ):
        with pytest.raises(InvalidRequest) as err:
            validate_spec(over)
        message = str(err.value)
        assert f"{spec_bytes(over)} bytes" in message and "65536 bytes (64 KiB)" in message
        assert len(message) < 200


@pytest.mark.parametrize("name", ["1X", "A-B", "", "A B", "É", "A=B", "X\x00", "X\x1b[31m"])
def test_environment_names_must_be_letters_digits_and_underscores(name):
    with pytest.raises(InvalidRequest) as err:
        validate_spec(spec(env=((name, "y"),)))
    assert "invalid environment variable name" in str(err.value)
    assert "\x1b" not in str(err.value) and "\x00" not in str(err.value)  # quoted, escaped


@pytest.mark.parametrize("key", ["", "a=b", "a\x1b]0;x\x07", "a\x9b", "a\nb", "a\x7f", "k" * 254])
def test_label_keys_must_be_short_without_equals_or_control_characters(key):
    with pytest.raises(InvalidRequest) as err:
        validate_spec(spec(labels=((key, "v"),)))
    assert "invalid label key" in str(err.value) and len(str(err.value)) < 200
    assert not any(c in str(err.value) for c in "\x1b\x9b\x07\n\x7f")


def test_a_label_key_of_253_bytes_is_fine_and_counts_in_bytes():
    validate_spec(spec(labels=(("k" * 253, "v"),)))
    with pytest.raises(InvalidRequest):
        validate_spec(spec(labels=(("é" * 127, "v"),)))  # 254 bytes


@pytest.mark.parametrize("image", ["", "busy box", "x\ty", "i" * 513])
def test_images_are_checked_as_before(image):
    with pytest.raises(InvalidRequest) as err:
        validate_spec(spec(image=image))
    assert "invalid image name" in str(err.value) and len(str(err.value)) < 120


def test_a_reported_task_info_is_at_most_what_a_worker_sends():
    info = TaskInfo("task-1", TaskStatus.RUNNING, image="busybox", command=("sh",) * 100)
    assert validate_reported_info(info) is info
    labels = {"k": "v" * (MAX_SPEC_BYTES - 1)}  # the biggest labels a spec may have
    validate_reported_info(TaskInfo("task-1", TaskStatus.RUNNING, labels=labels, error="e" * 2000))
    for big in (
        TaskInfo("task-1", TaskStatus.FAILED, error="e" * (MAX_REPORTED_INFO_BYTES + 1)),
        TaskInfo("task-1", TaskStatus.RUNNING, command=("x" * MAX_REPORTED_INFO_BYTES, "y")),
        TaskInfo("task-1", TaskStatus.RUNNING, labels={"k": "v" * MAX_REPORTED_INFO_BYTES}),
        TaskInfo("task-1", TaskStatus.RUNNING, store_error="s" * (MAX_REPORTED_INFO_BYTES + 1)),
    ):
        with pytest.raises(InvalidRequest) as err:
            validate_reported_info(big)
        assert "the info of task-1 is" in str(err.value)
        assert f"limit is {MAX_REPORTED_INFO_BYTES} bytes" in str(err.value)
