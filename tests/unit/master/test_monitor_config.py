"""`master monitor`'s frozen configuration and the stream it asks for. Pure."""

from __future__ import annotations

from typing import Any, cast

import pytest

from master.logs import LogsConfig
from master.monitor import MonitorConfig, log_stream
from shared.errors import InvalidRequest, InvalidTaskId
from shared.linefilter import LineFilter


def test_a_config_validates_itself():
    assert MonitorConfig("task-123456").follow
    with pytest.raises(InvalidTaskId):
        MonitorConfig("../etc/passwd")
    bad: list[dict[str, Any]] = [{"tail": -1}, {"after": -5}, {"max_lines": 0}]
    for kwargs in bad:
        with pytest.raises(InvalidRequest):
            MonitorConfig("task-123456", **kwargs)


def test_both_front_ends_ask_for_the_same_stream_with_the_user():
    calls = []

    class Client:
        def stream(self, task_id, **kwargs):
            calls.append((task_id, kwargs))
            return iter(())

    errors = LineFilter(pattern="ERROR")
    config = MonitorConfig(
        "task-123456", user="ada", tail=5, after=7, follow=False, line_filter=errors
    )
    log_stream(cast(Any, Client()), config)  # the TUI and --plain both open their stream here
    log_stream(cast(Any, Client()), LogsConfig("task-123456", user="bo", follow=True))
    assert calls == [
        (
            "task-123456",
            {
                "tail": 5,
                "after": 7,
                "follow": False,
                "user": "ada",
                "lossless": False,
                "line_filter": errors,
            },
        ),
        # `master logs`: the whole log (after 0, not the last 1000 lines), never dropping
        (
            "task-123456",
            {
                "tail": None,
                "after": 0,
                "follow": True,
                "user": "bo",
                "lossless": True,
                "line_filter": LineFilter(),
            },
        ),
    ]


def test_plain_output_is_lossless_the_tui_keeps_up_by_skipping(monkeypatch):
    from master import cli, monitor

    seen = []

    def run_monitor(config, *, plain):
        seen.append(config)
        return 0

    monkeypatch.setattr(monitor, "run_monitor", run_monitor)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert cli.main(["monitor", "task-123456", "--plain"]) == 0
    assert cli.main(["monitor", "task-123456"]) == 0  # a terminal: the TUI
    assert [c.lossless for c in seen] == [True, False]
