"""Small helpers shared by the ``master`` and ``worker`` command lines."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import resource
import signal
import sys


def add_log_options(parser: argparse.ArgumentParser) -> None:
    """``--log-level`` and ``--log-format`` of a ``serve`` command (bad values: exit 2)."""
    from shared.logformat import FORMATS, LEVELS

    parser.add_argument(
        "--log-level", default="info", choices=LEVELS, help="the server's own log: how much"
    )
    parser.add_argument(
        "--log-format",
        default="text",
        choices=FORMATS,
        help="text (for people) or json (one object per line: time, level, logger, message, "
        "task, worker)",
    )


def setup_logging(level: str, fmt: str = "text", *, worker: str = "") -> None:
    """Log to stderr at ``level``: ``time level logger: message`` (``text``) or one JSON
    object per line (``json``; see :mod:`shared.logformat`)."""
    from shared.logformat import formatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt, worker=worker))
    logging.basicConfig(level=getattr(logging, level.upper()), handlers=[handler], force=True)


def announce(text: str, fmt: str = "text") -> None:
    """A server's start-up line ("... listening on ADDRESS"): plain on stderr, or a log
    record when the log is JSON (every line of stderr stays one JSON object)."""
    if fmt == "json":
        logging.getLogger("logcast").info("%s", text)
    else:
        print(text, file=sys.stderr, flush=True)


async def wait_for_signal() -> None:
    """Return on SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def raise_open_files_limit() -> int:
    """Raise the soft limit on open files to the hard limit (each viewer and each followed
    container holds a descriptor; the usual soft default of 1024 is too few). Returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard
