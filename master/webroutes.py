"""What the master's HTTP port answers, decided without I/O: routes, origins, static files.

GET /                     the task list (web/index.html)
GET /tasks/<task_id>      the log view of one task (web/task.html)
GET /static/<file>        a file from web/ (one path segment, no way out of web/)
GET /api/tasks            the task list as JSON
GET /logs/<task_id>       the WebSocket log stream (after, tail, batch query parameters)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from shared.addresses import is_loopback
from shared.errors import InvalidRequest
from shared.ids import is_valid_task_id

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
    """What a request asks for. ``kind``: page, static, api_tasks, logs, not_found."""

    kind: str
    file: str = ""  # page/static: the file under web/
    task_id: str = ""  # logs: the id exactly as requested (validated by the handler)
    query: str = ""


@dataclass(frozen=True, slots=True)
class LogsQuery:
    """The WebSocket endpoint's query parameters."""

    after: int | None = None
    tail: int | None = None
    batch: bool = False


def route(target: str) -> Route:
    """Where a request target (path and query) goes."""
    parts = urlsplit(target)
    path = parts.path
    if path.startswith("/logs/"):
        return Route("logs", task_id=unquote(path[len("/logs/") :]), query=parts.query)
    if path in ("/", "/index.html"):
        return Route("page", file="index.html")
    if path.startswith("/tasks/") and is_valid_task_id(path[len("/tasks/") :]):
        return Route("page", file="task.html")
    if path == "/api/tasks":
        return Route("api_tasks")
    if path.startswith("/static/"):
        name = path[len("/static/") :]
        if _STATIC_NAME.fullmatch(name):
            return Route("static", file=name)
    return Route("not_found")


def parse_logs_query(query: str) -> LogsQuery:
    """``after=N``, ``tail=N``, ``batch=1``; anything else malformed raises InvalidRequest."""
    try:
        params = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise InvalidRequest("malformed query string") from None
    unknown = set(params) - {"after", "tail", "batch"}
    if unknown:
        raise InvalidRequest(f"unknown query parameter(s): {', '.join(sorted(unknown))[:80]}")

    def number(name: str) -> int | None:
        values = params.get(name)
        if not values:
            return None
        value = values[-1]
        if not value.isdigit() or int(value) > _MAX_QUERY_INT:
            raise InvalidRequest(f"{name} must be a non-negative integer")
        return int(value)

    batch = params.get("batch", ["0"])[-1]
    if batch not in ("0", "1", "true", "false"):
        raise InvalidRequest("batch must be 0 or 1")
    return LogsQuery(after=number("after"), tail=number("tail"), batch=batch in ("1", "true"))


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


def host_allowed(host: str | None, bind_host: str) -> bool:
    """A Host header the server answers. On a loopback bind only loopback names (this defeats
    DNS rebinding); any when the operator exposed the port (``--insecure-expose``)."""
    if not host:
        return False
    if not is_loopback(bind_host):
        return True
    name = host[1 : host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
    return is_loopback(name)


def origin_allowed(origin: str | None, host: str | None) -> bool:
    """A WebSocket handshake is same-origin: no Origin (not a browser), or exactly
    ``http://<Host>`` -- another site, or this host on another port, is refused."""
    if origin is None:
        return True
    return host is not None and origin.lower() == f"http://{host}".lower()
