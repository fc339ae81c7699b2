"""What the master's HTTP port answers, decided without I/O: routes, origins, static files.

GET /                     the task list (web/index.html)
GET /tasks/<task_id>      the log view of one task (web/task.html)
GET /tasks?ids=A,B        the merged log view of several tasks (web/merged.html)
GET /static/<file>        a file from web/ (one path segment, no way out of web/)
GET /api/tasks            the task list as JSON, newest first (status, label, limit,
                          page_token query parameters)
GET /api/tasks/<id>/log   a task's stored log as a download (format, after, tail, timestamps)
GET /api/tasks/<id>/search  a search of a task's whole log, newest first, as JSON (q, regex, i,
                          limit)
GET /logs/<task_id>       the WebSocket log stream (after, tail, batch, lossless parameters)
GET /logs?tasks=A,B       the WebSocket stream of several tasks merged (after=A:N,B:M, tail,
                          batch, lossless, and the filter parameters)
GET /login                the login page; /login?code=CODE[&next=/tasks/<id>]: a single-use
                          login link (then on to ``next``, a page of this site)
GET /api/session          with Authorization: Bearer TOKEN: a session cookie for a browser
GET /logout               ends the browser's session

Everything but /login, /static/, /healthz and /readyz needs a token or a session (the master's
web server checks it before anything else).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from shared.addresses import is_loopback
from shared.errors import InvalidRequest
from shared.ids import is_valid_task_id
from shared.linefilter import LineFilter
from shared.listing import DEFAULT_LIMIT, MAX_LIMIT, TaskQuery, parse_label, parse_status
from shared.merge import parse_cursor, parse_task_ids
from shared.search import Matcher, Query

SECURITY_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
]
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
_STATIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9]+)+")
_MAX_QUERY_INT = 10**12


@dataclass(frozen=True, slots=True)
class Route:
    """What a request asks for. ``kind``: page, static, api_tasks, api_task_log,
    api_task_search, logs, merged_logs, healthz, readyz, metrics, login, session, logout,
    not_found."""

    kind: str
    file: str = ""  # page/static: the file under web/
    task_id: str = ""  # logs/api_task_log/api_task_search: the id as requested (validated later)
    query: str = ""


OPEN_KINDS = frozenset({"static", "healthz", "readyz", "login", "session", "logout", "not_found"})
"""Routes answered without a token or session (the rest need one)."""
TASK_KINDS = frozenset({"logs", "api_task_log", "api_task_search"})
"""Routes about one task: a token limited to some tasks must be allowed that one."""
LOG_KINDS = frozenset({"logs", "merged_logs"})
"""WebSocket log streams (one task's, several tasks' merged): the same Origin check, caps and
refusals; a token limited to some tasks must be allowed each of them."""


def login_code(query: str) -> tuple[str | None, str]:
    """The ``code`` of ``/login?code=CODE[&next=/PATH]`` (None: the login page itself) and
    where to go once logged in: a page of this site only (``/``, ``/tasks/<id>``), never
    another host (an open redirect)."""
    params = _params(query, {"code", "next"})
    codes = params.get("code")
    after = (params.get("next") or ["/"])[-1]
    if route(after).kind != "page" or not after.startswith("/") or after.startswith("//"):
        after = "/"
    return (codes[-1] if codes else None), after


@dataclass(frozen=True, slots=True)
class LogsQuery:
    """The WebSocket endpoint's query parameters."""

    after: int | None = None
    tail: int | None = None
    batch: bool = False
    lossless: bool = False
    line_filter: LineFilter = field(default_factory=LineFilter)


EXPORT_FORMATS = ("text", "jsonl")


@dataclass(frozen=True, slots=True)
class ExportQuery:
    """The log download's query parameters. Without ``after`` or ``tail``: the whole log
    (``after=0``)."""

    format: str = "text"
    after: int | None = 0
    tail: int | None = None
    timestamps: bool = False
    line_filter: LineFilter = field(default_factory=LineFilter)


def route(target: str) -> Route:
    """Where a request target (path and query) goes."""
    parts = urlsplit(target)
    path = parts.path
    if path.startswith("/logs/"):
        return Route("logs", task_id=unquote(path[len("/logs/") :]), query=parts.query)
    if path == "/logs":
        return Route("merged_logs", query=parts.query)
    if path in ("/", "/index.html"):
        return Route("page", file="index.html")
    if path.startswith("/tasks/") and is_valid_task_id(path[len("/tasks/") :]):
        return Route("page", file="task.html")
    if path == "/tasks":
        return Route("page", file="merged.html")
    if path == "/api/tasks":
        return Route("api_tasks", query=parts.query)
    if path in ("/healthz", "/readyz", "/metrics"):
        return Route(path[1:])
    if path.startswith("/api/tasks/") and path.endswith("/log"):
        task_id = unquote(path[len("/api/tasks/") : -len("/log")])
        return Route("api_task_log", task_id=task_id, query=parts.query)
    if path.startswith("/api/tasks/") and path.endswith("/search"):
        task_id = unquote(path[len("/api/tasks/") : -len("/search")])
        return Route("api_task_search", task_id=task_id, query=parts.query)
    if path == "/login":
        return Route("login", query=parts.query)
    if path == "/api/session":
        return Route("session")
    if path == "/logout":
        return Route("logout")
    if path.startswith("/static/"):
        name = path[len("/static/") :]
        if _STATIC_NAME.fullmatch(name):
            return Route("static", file=name)
    return Route("not_found")


def _params(query: str, allowed: set[str]) -> dict[str, list[str]]:
    """The parameters of a query string, or InvalidRequest for a malformed one or an unknown
    name."""
    try:
        params = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise InvalidRequest("malformed query string") from None
    unknown = set(params) - allowed
    if unknown:
        raise InvalidRequest(f"unknown query parameter(s): {', '.join(sorted(unknown))[:80]}")
    return params


def _number(params: dict[str, list[str]], name: str) -> int | None:
    """The last ``name=N`` (a non-negative integer), or None when absent."""
    values = params.get(name)
    if not values:
        return None
    value = values[-1]
    if not value.isascii() or not value.isdigit() or int(value) > _MAX_QUERY_INT:
        raise InvalidRequest(f"{name} must be a non-negative integer")
    return int(value)


def _flag(params: dict[str, list[str]], name: str) -> bool:
    """``name=1`` / ``name=true`` (``0``, ``false`` or absent: False)."""
    value = params.get(name, ["0"])[-1]
    if value not in ("0", "1", "true", "false"):
        raise InvalidRequest(f"{name} must be 0 or 1")
    return value in ("1", "true")


FILTER_PARAMS = {"grep", "regex", "i", "stream", "level"}


def _line_filter(params: dict[str, list[str]]) -> LineFilter:
    """``grep=PATTERN`` (``regex=1``: an RE2 pattern, ``i=1``: ignore case),
    ``stream=stdout|stderr``, ``level=LEVEL[+]``: a server-side filter, checked here (a bad
    pattern is refused before any worker is asked)."""
    return LineFilter.parse(
        params.get("grep", [""])[-1],
        regex=_flag(params, "regex"),
        ignore_case=_flag(params, "i"),
        stream=params.get("stream", [""])[-1],
        level=params.get("level", [""])[-1],
    )


def parse_logs_query(query: str) -> LogsQuery:
    """``after=N``, ``tail=N``, ``batch=1``, ``lossless=1`` and a filter (``grep=``,
    ``regex=1``, ``i=1``, ``stream=``, ``level=``); anything else malformed raises
    InvalidRequest."""
    params = _params(query, {"after", "tail", "batch", "lossless", *FILTER_PARAMS})
    return LogsQuery(
        after=_number(params, "after"),
        tail=_number(params, "tail"),
        batch=_flag(params, "batch"),
        lossless=_flag(params, "lossless"),
        line_filter=_line_filter(params),
    )


def parse_export_query(query: str) -> ExportQuery:
    """``format=text|jsonl``, ``after=N`` or ``tail=N`` (not both; neither: the whole log),
    ``timestamps=1`` (text: each line starts with its Docker timestamp, as ``docker logs
    -t``), a filter as the WebSocket's (the lines that pass; ``tail``: the last N of them);
    anything else malformed raises InvalidRequest."""
    params = _params(query, {"format", "after", "tail", "timestamps", *FILTER_PARAMS})
    fmt = params.get("format", ["text"])[-1]
    if fmt not in EXPORT_FORMATS:
        raise InvalidRequest(f"format must be one of: {', '.join(EXPORT_FORMATS)}")
    after, tail = _number(params, "after"), _number(params, "tail")
    if after is not None and tail is not None:
        raise InvalidRequest("give after or tail, not both")
    return ExportQuery(
        format=fmt,
        after=0 if after is None and tail is None else after,
        tail=tail,
        timestamps=_flag(params, "timestamps"),
        line_filter=_line_filter(params),
    )


@dataclass(frozen=True, slots=True)
class MergedLogsQuery:
    """The merged WebSocket endpoint's query parameters (``/logs?tasks=A,B``)."""

    tasks: tuple[str, ...]
    after: tuple[tuple[str, int], ...] = ()  # the per-task cursor, in the order given
    tail: int | None = None
    batch: bool = False
    lossless: bool = False
    line_filter: LineFilter = field(default_factory=LineFilter)


def parse_merged_logs_query(query: str) -> MergedLogsQuery:
    """``tasks=A,B`` (required: valid ids, at most :data:`~shared.merge.MAX_TASKS`),
    ``after=A:120,B:98`` (each task's resume point; a task not named gets its history),
    ``tail=N`` (each task's history), ``batch=1``, ``lossless=1`` and a filter as the
    single-task endpoint's (for every task); anything else malformed raises InvalidRequest."""
    params = _params(query, {"tasks", "after", "tail", "batch", "lossless", *FILTER_PARAMS})
    tasks = parse_task_ids(params.get("tasks", [""])[-1:])
    return MergedLogsQuery(
        tasks=tasks,
        after=tuple(parse_cursor(params.get("after", [""])[-1], tasks).items()),
        tail=_number(params, "tail"),
        batch=_flag(params, "batch"),
        lossless=_flag(params, "lossless"),
        line_filter=_line_filter(params),
    )


def scoped_task_ids(target: Route) -> tuple[str, ...]:
    """The task ids a request is about, for a token limited to some tasks: one task's
    route's id; every id of a merged stream's ``tasks=`` (none when it is malformed: the
    stream refuses it itself)."""
    if target.kind in TASK_KINDS:
        return (target.task_id,)
    if target.kind == "merged_logs":
        try:
            return parse_merged_logs_query(target.query).tasks
        except InvalidRequest:
            return ()
    return ()


SEARCH_DEFAULT_LIMIT = 100
SEARCH_MAX_LIMIT = 10_000


def parse_search_query(query: str) -> Query:
    """``q=PATTERN`` (required), ``regex=1`` (an RE2 pattern; compiled here, so a bad one is
    refused before any worker is asked), ``i=1`` (ignore case), ``limit=N`` (matches,
    1..SEARCH_MAX_LIMIT, default SEARCH_DEFAULT_LIMIT; empty: the default): a newest-first
    search. Anything else malformed raises InvalidRequest."""
    params = _params(query, {"q", "regex", "i", "limit"})
    pattern = params.get("q", [""])[-1]
    if not pattern:
        raise InvalidRequest("q (the search pattern) must not be empty")
    limit_text = params.get("limit", [""])[-1]
    limit = SEARCH_DEFAULT_LIMIT
    if limit_text:
        digits = limit_text.isascii() and limit_text.isdigit()
        limit = int(limit_text) if digits and len(limit_text) < 8 else 0
        if not 1 <= limit <= SEARCH_MAX_LIMIT:
            raise InvalidRequest(f"limit must be an integer between 1 and {SEARCH_MAX_LIMIT}")
    search = Query(
        pattern,
        regex=_flag(params, "regex"),
        ignore_case=_flag(params, "i"),
        limit=limit,
        reverse=True,
    )
    Matcher(search)  # an invalid regular expression raises InvalidRequest
    return search


def parse_tasks_query(query: str) -> TaskQuery:
    """``status=S`` (repeated or comma-separated: any of them), ``label=K=V`` (repeated:
    all of them), ``limit=N`` (1..MAX_LIMIT, default DEFAULT_LIMIT), ``page_token=T`` (from
    the previous page's ``X-Next-Page-Token``). Empty values are ignored. Anything else
    malformed raises InvalidRequest."""
    params = _params(query, {"status", "label", "limit", "page_token"})
    statuses = frozenset(
        parse_status(name)
        for value in params.get("status", [])
        for name in value.split(",")
        if name.strip()
    )
    labels = tuple(sorted(parse_label(v) for v in params.get("label", []) if v))
    limit_text = params.get("limit", [""])[-1]
    limit = DEFAULT_LIMIT
    if limit_text:
        if not limit_text.isascii() or not limit_text.isdigit():
            raise InvalidRequest(f"limit must be an integer between 1 and {MAX_LIMIT}")
        limit = int(limit_text) if len(limit_text) < 8 else MAX_LIMIT + 1
    return TaskQuery(
        statuses=statuses,
        labels=labels,
        limit=limit,
        page_token=params.get("page_token", [""])[-1],
    )


def static_file(web_dir: Path, name: str) -> Path | None:
    """The page file ``name`` inside ``web_dir``, or None: never a path outside it, and only
    the kinds of file a page is made of (the package's Python modules are not served)."""
    root = web_dir.resolve()
    candidate = (root / name).resolve()
    if candidate.suffix not in CONTENT_TYPES:
        return None
    if candidate.parent != root or not candidate.is_file():
        return None
    return candidate


SINGLE_HEADERS = ("host", "origin", "upgrade", "authorization", "cookie")
"""Request headers that must not repeat: which of two values counts would be a guess."""


def repeated_header(names: Iterable[str]) -> str | None:
    """The first of :data:`SINGLE_HEADERS` that a request's header ``names`` (every name, as
    received) carries twice, or None."""
    seen: set[str] = set()
    for name in names:
        key = name.lower()
        if key in SINGLE_HEADERS:
            if key in seen:
                return key
            seen.add(key)
    return None


def host_allowed(host: str | None, bind_host: str, allowed: tuple[str, ...] = ()) -> bool:
    """A Host header the server answers: loopback names, and the names an operator allowed
    (``--allowed-host``, e.g. the name of a reverse proxy in front). On a non-loopback bind
    also IP literals: any other name is refused, which defeats DNS rebinding (a site whose
    name resolves to this host) there too."""
    if not host:
        return False
    name = host[1 : host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
    if is_loopback(name) or name.lower() in (a.lower() for a in allowed):
        return True
    return not is_loopback(bind_host) and _is_ip(name)


def _is_ip(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...] = ()) -> bool:
    """A WebSocket handshake is same-origin: no Origin (not a browser), exactly
    ``http://<Host>`` or ``https://<Host>`` (behind a proxy that ends TLS), or an Origin the
    operator allowed (``--allowed-origin``); another site, or this host on another port, is
    refused."""
    if origin is None:
        return True
    origin = origin.lower().rstrip("/")
    if origin in (a.lower().rstrip("/") for a in allowed):
        return True
    return host is not None and origin in (f"http://{host}".lower(), f"https://{host}".lower())
