"""The master's HTTP routes, query parameters, Origin/Host checks and static files. Pure."""

from __future__ import annotations

from pathlib import Path

import pytest

from master.webroutes import (
    LogsQuery,
    host_allowed,
    origin_allowed,
    parse_logs_query,
    route,
    static_file,
)
from shared.errors import InvalidRequest


def test_routes():
    assert route("/").kind == "page"
    assert route("/tasks/task-123456").file == "task.html"
    assert route("/tasks/../etc/passwd").kind == "not_found"
    assert route("/static/app.js").kind == "static"
    assert route("/static/../x.js").kind == "not_found"
    assert route("/static/.env").kind == "not_found"
    logs = route("/logs/task-1%2F..?after=3")
    assert (logs.kind, logs.task_id, logs.query) == ("logs", "task-1/..", "after=3")


def test_static_files_stay_inside_web(tmp_path: Path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "app.js").write_text("ok")
    (tmp_path / "secret.txt").write_text("no")
    (tmp_path / "web" / "link.txt").symlink_to(tmp_path / "secret.txt")
    assert static_file(tmp_path / "web", "app.js") == (tmp_path / "web" / "app.js").resolve()
    assert static_file(tmp_path / "web", "../secret.txt") is None
    assert static_file(tmp_path / "web", "link.txt") is None  # a link out of web/ is refused
    assert static_file(tmp_path / "web", "missing.js") is None
    (tmp_path / "web" / "module.py").write_text("SECRET = 1")
    assert static_file(tmp_path / "web", "module.py") is None  # the package's code is not a page


def test_query_parameters():
    assert parse_logs_query("") == LogsQuery()
    assert parse_logs_query("after=5&batch=1") == LogsQuery(after=5, batch=True)
    assert parse_logs_query("tail=0") == LogsQuery(tail=0)
    for bad in ("after=-1", "tail=x", "batch=2", "evil=1", "after=" + "9" * 20):
        with pytest.raises(InvalidRequest):
            parse_logs_query(bad)


def test_origin_and_host_checks():
    assert origin_allowed(None, "127.0.0.1:8080")  # not a browser
    assert origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080")
    assert not origin_allowed("http://127.0.0.1:9090", "127.0.0.1:8080")
    assert not origin_allowed("http://evil.example", "127.0.0.1:8080")
    assert host_allowed("localhost:8080", "127.0.0.1")
    assert host_allowed("[::1]:8080", "127.0.0.1")
    assert not host_allowed("evil.example:8080", "127.0.0.1")  # DNS rebinding
    assert host_allowed("logs.example:8080", "0.0.0.0")  # exposed on purpose
    assert not host_allowed(None, "127.0.0.1")
