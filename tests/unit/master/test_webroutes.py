"""The master's HTTP routes, query parameters, Origin/Host checks and static files. Pure."""

from __future__ import annotations

from pathlib import Path

import pytest

from master.webroutes import (
    ExportQuery,
    LogsQuery,
    host_allowed,
    origin_allowed,
    parse_export_query,
    parse_logs_query,
    parse_tasks_query,
    repeated_header,
    route,
    static_file,
)
from shared.errors import InvalidRequest
from shared.levels import Level
from shared.linefilter import LineFilter
from shared.listing import DEFAULT_LIMIT, MAX_LIMIT, TaskQuery
from shared.model import Stream, TaskStatus


def test_routes():
    assert route("/").kind == "page"
    assert route("/tasks/task-123456").file == "task.html"
    assert route("/tasks/../etc/passwd").kind == "not_found"
    assert route("/static/app.js").kind == "static"
    assert route("/static/../x.js").kind == "not_found"
    assert route("/static/.env").kind == "not_found"
    logs = route("/logs/task-1%2F..?after=3")
    assert (logs.kind, logs.task_id, logs.query) == ("logs", "task-1/..", "after=3")
    tasks = route("/api/tasks?status=running")
    assert (tasks.kind, tasks.query) == ("api_tasks", "status=running")
    export = route("/api/tasks/task-42/log?format=jsonl")
    assert (export.kind, export.task_id, export.query) == (
        "api_task_log",
        "task-42",
        "format=jsonl",
    )
    # the id is passed on as requested, for the handler to refuse (400)
    assert route("/api/tasks/..%2F..%2Fx/log").task_id == "../../x"
    assert route("/api/tasks/a/b/log").task_id == "a/b"
    assert route("/api/tasks/task-42").kind == "not_found"
    assert route("/healthz").kind == "healthz" and route("/readyz?x=1").kind == "readyz"
    assert route("/healthz/x").kind == "not_found"
    assert route("/api/tasks/task-42/logs").kind == "not_found"


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
    assert parse_logs_query("lossless=1&batch=1") == LogsQuery(batch=True, lossless=True)
    assert parse_logs_query("lossless=true") == LogsQuery(lossless=True)
    assert parse_logs_query("lossless=0") == LogsQuery()
    for bad in ("after=-1", "tail=x", "batch=2", "evil=1", "after=" + "9" * 20, "lossless=yes"):
        with pytest.raises(InvalidRequest):
            parse_logs_query(bad)
    with pytest.raises(InvalidRequest):
        parse_logs_query("after=\u00b2")  # a digit to str.isdigit, not to int()


def test_filter_parameters_are_checked_before_any_worker_is_asked():
    q = parse_logs_query("grep=ERROR%20x&regex=1&i=1&stream=stderr&level=warn%2B&after=3")
    assert q.after == 3
    assert q.line_filter == LineFilter(
        pattern="ERROR x", regex=True, ignore_case=True, stream=Stream.STDERR, min_level=Level.WARN
    )
    assert not parse_logs_query("grep=").line_filter.active
    assert parse_export_query("grep=x&tail=5").line_filter == LineFilter(pattern="x")
    for bad, says in (
        ("grep=%28&regex=1", "invalid regular expression"),
        ("stream=both", "stream must be stdout or stderr"),
        ("level=loud", "level"),
        ("regex=1", "need a pattern"),
        ("i=2&grep=x", "i must be 0 or 1"),
    ):
        with pytest.raises(InvalidRequest, match=says):
            parse_logs_query(bad)


def test_download_parameters_default_to_the_whole_log_as_text():
    assert parse_export_query("") == ExportQuery(format="text", after=0, tail=None)
    assert parse_export_query("format=jsonl") == ExportQuery(format="jsonl", after=0)
    assert parse_export_query("tail=10") == ExportQuery(after=None, tail=10)
    assert parse_export_query("after=7&format=text") == ExportQuery(after=7)
    assert parse_export_query("timestamps=1") == ExportQuery(timestamps=True)
    for bad in (
        "format=csv",
        "format=",
        "after=-1",
        "tail=x",
        "after=1&tail=2",  # one or the other
        "grep=(&regex=1",
        "timestamps=2",
        "a&&b=",
    ):
        with pytest.raises(InvalidRequest):
            parse_export_query(bad)


def test_task_list_parameters():
    assert parse_tasks_query("") == TaskQuery()
    # the contract's template, literally: empty values are "any"
    assert parse_tasks_query("status=&label=&limit=") == TaskQuery(limit=DEFAULT_LIMIT)
    both = frozenset({TaskStatus.RUNNING, TaskStatus.FAILED})
    assert parse_tasks_query("status=running,failed").statuses == both
    assert parse_tasks_query("status=running&status=FAILED").statuses == both
    labels = parse_tasks_query("label=team%3Dweb&label=env=prod&label=empty=").labels
    assert labels == (("empty", ""), ("env", "prod"), ("team", "web"))
    assert parse_tasks_query(f"limit={MAX_LIMIT}").limit == MAX_LIMIT
    assert parse_tasks_query("page_token=1.5/task-1").page_token == "1.5/task-1"
    for bad in (
        "status=bogus",
        "status=running,nope",
        "label=novalue",
        "label==v",
        "limit=0",
        f"limit={MAX_LIMIT + 1}",
        "limit=" + "9" * 30,
        "limit=-1",
        "limit=ten",
        "sort=asc",
    ):
        with pytest.raises(InvalidRequest) as err:
            parse_tasks_query(bad)
        assert len(str(err.value)) < 200


def test_origin_and_host_checks():
    assert origin_allowed(None, "127.0.0.1:8080")  # not a browser
    assert origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080")
    assert not origin_allowed("http://127.0.0.1:9090", "127.0.0.1:8080")
    assert not origin_allowed("http://evil.example", "127.0.0.1:8080")
    assert host_allowed("localhost:8080", "127.0.0.1")
    assert host_allowed("[::1]:8080", "127.0.0.1")
    assert not host_allowed("evil.example:8080", "127.0.0.1")  # DNS rebinding
    assert not host_allowed(None, "127.0.0.1")
    # exposed: IP literals, and only the names the operator allowed (no DNS rebinding there)
    assert host_allowed("10.0.0.5:8080", "0.0.0.0")
    assert not host_allowed("logs.example:8080", "0.0.0.0")
    assert host_allowed("Logs.Example:443", "0.0.0.0", ("logs.example",))
    assert host_allowed("logs.example", "127.0.0.1", ("logs.example",))  # a proxy in front
    # behind a proxy that ends TLS, and origins the operator allowed
    assert origin_allowed("https://127.0.0.1:8080", "127.0.0.1:8080")
    assert origin_allowed("https://logs.example/", "127.0.0.1:8080", ("https://logs.example",))
    assert not origin_allowed("https://evil.example", "127.0.0.1:8080", ("https://logs.example",))


@pytest.mark.parametrize("value", ["\u00b2", "\uff11\uff12", "\u0663", "1\u00b2"])
def test_numbers_in_queries_are_ascii_digits_only(value):
    """int() reads Unicode digits (``int("\uff11\uff12") == 12``): refused, with a clear message."""
    for parse in (parse_logs_query, parse_export_query):
        for name in ("after", "tail"):
            with pytest.raises(InvalidRequest) as err:
                parse(f"{name}={value}")
            assert str(err.value) == f"{name} must be a non-negative integer"
    with pytest.raises(InvalidRequest) as err:
        parse_tasks_query(f"limit={value}")
    assert "limit must be an integer" in str(err.value)


def test_headers_that_must_not_repeat():
    assert repeated_header(["Host", "Accept", "Accept", "Origin"]) is None  # others may repeat
    assert repeated_header(["Host", "Upgrade", "host"]) == "host"
    assert repeated_header(["Origin", "ORIGIN"]) == "origin"
    assert repeated_header(["Authorization", "Cookie", "authorization"]) == "authorization"
    assert repeated_header([]) is None


def test_login_links_go_on_to_a_page_of_this_site_only():
    from master.webroutes import OPEN_KINDS, login_code

    assert login_code("code=abc&next=/tasks/task-123456") == ("abc", "/tasks/task-123456")
    assert login_code("") == (None, "/")  # the login page itself
    for elsewhere in ("//evil.example/", "http://evil.example/", "/api/tasks", "/logs/x"):
        assert login_code(f"code=abc&next={elsewhere}") == ("abc", "/"), elsewhere
    # only these answer without a token or a session
    assert route("/login").kind in OPEN_KINDS and route("/healthz").kind in OPEN_KINDS
    for path in ("/", "/tasks/task-123456", "/api/tasks", "/metrics", "/logs/task-123456"):
        assert route(path).kind not in OPEN_KINDS, path
