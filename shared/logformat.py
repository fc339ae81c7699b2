"""How the servers' own log lines look: ``text`` (for people) or ``json`` (one object per
line, for log pipelines). Pure formatting, no I/O."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from shared.ids import TASK_ID_PATTERN

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_TASK_ID = re.compile(TASK_ID_PATTERN)


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message"}``, plus ``"task"`` (the first task id among
    the message's arguments: logcast logs a task's events as ``"%s: ...", task_id``),
    ``"worker"`` (this process's worker, when it is one) and ``"error"`` (a traceback)."""

    def __init__(self, worker: str = "") -> None:
        super().__init__()
        self.worker = worker

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        args = record.args if isinstance(record.args, tuple) else ()
        task = next((a for a in args if isinstance(a, str) and _TASK_ID.fullmatch(a)), None)
        if task is not None:
            entry["task"] = task
        if self.worker:
            entry["worker"] = self.worker
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter(fmt: str, *, worker: str = "") -> logging.Formatter:
    """The formatter of ``--log-format fmt``."""
    if fmt == "json":
        return JsonFormatter(worker)
    if fmt == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise ValueError(f"unknown log format {fmt!r}: expected one of {', '.join(FORMATS)}")
