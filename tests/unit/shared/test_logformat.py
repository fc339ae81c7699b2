"""The servers' own log lines as JSON: one object per line, the task and worker named."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from shared.logformat import JsonFormatter, formatter


def record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            exc_info = sys.exc_info()
    return logging.LogRecord("worker.executor", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_a_task_event_names_its_task_and_worker_on_one_line():
    line = JsonFormatter(worker="gpu-1").format(
        record("could not remove the container of %s: %s", "task-42", "gone\nreally")
    )
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "could not remove the container of task-42: gone\nreally"
    assert (entry["task"], entry["worker"], entry["level"]) == ("task-42", "gpu-1", "warning")
    assert entry["logger"] == "worker.executor" and entry["time"].endswith("+00:00")


def test_no_task_no_worker_and_a_traceback_as_one_field():
    entry = json.loads(JsonFormatter().format(record("reading %s failed ✓", "the log", exc=True)))
    assert "task" not in entry and "worker" not in entry
    assert entry["message"] == "reading the log failed ✓"
    assert "RuntimeError: boom" in entry["error"]


def test_unknown_format_is_refused():
    assert isinstance(formatter("json"), JsonFormatter)
    with pytest.raises(ValueError, match="unknown log format 'xml'"):
        formatter("xml")
