"""Small helpers shared by the ``master`` and ``worker`` command lines."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import resource
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.errors import ConfigError

if TYPE_CHECKING:
    from shared.settings import Resolved


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


def add_config_option(parser: argparse.ArgumentParser, name: str) -> None:
    """``--config FILE`` of a ``serve`` command (and of ``config``/``doctor``, which show and
    check what ``serve`` would use)."""
    parser.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help=f"TOML settings (default: STATE_DIR/{name}.toml when it exists); the environment "
        "(LOGCAST_<KEY>) overrides the file, and flags override both",
    )


def load_settings(
    parser: argparse.ArgumentParser,
    argv: Sequence[str],
    default_file: Path,
    *,
    skip: Sequence[str] = ("config",),
) -> Resolved:
    """The settings of a ``serve`` command line (``parser``: the command's own, ``argv``: its
    arguments) layered over ``--config FILE`` (else ``default_file`` if it exists) and the
    ``LOGCAST_*`` environment. Raises ConfigError naming the bad key and where it was."""
    import os

    from shared.settings import parse_file, resolve

    explicit = parser.parse_args(argv).config
    path = Path(explicit) if explicit else default_file
    try:
        text = path.read_text()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{path}: no such configuration file") from None
        text = None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc}") from None
    file = parse_file(text, str(path)) if text is not None else None
    return resolve(
        parser,
        argv,
        env=os.environ,
        file=file,
        file_path=str(path) if text is not None else "",
        skip=skip,
    )


def print_settings(resolved: Resolved, *, as_json: bool) -> None:
    """``master config`` / ``worker config``: every setting, its value and its source."""
    import json

    if as_json:
        settings = {
            k: {"value": v, "source": resolved.sources[k]} for k, v in resolved.redacted().items()
        }
        print(json.dumps({"file": resolved.file or None, "settings": settings}, indent=2))
        return
    rows = resolved.rows()
    print(f"# configuration file: {resolved.file or '(none)'}")
    width = max(len(k) for k, _, _ in rows)
    vwidth = min(40, max(len(v) for _, v, _ in rows))
    for key, value, source in rows:
        print(f"{key:<{width}}  {value:<{vwidth}}  {source}")


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


def reload_on_hangup(
    current: Resolved,
    load: Callable[[], Resolved],
    live: Mapping[str, Callable[[Any], None]],
    *,
    worker: str = "",
    also: Callable[[], None] | None = None,
) -> None:
    """On SIGHUP, read the settings again (``load``: the file and the environment under the
    same flags) and apply what changed among ``live`` keys and the log level and format; say
    which other changes wait for a restart. A bad file is refused, the running settings kept.
    ``also``: reloaded on every SIGHUP as well (the master's token list)."""
    log = logging.getLogger("logcast.config")
    state = {"now": current}

    def reload() -> None:
        if also is not None:
            try:
                also()
            except ConfigError as exc:
                log.error("SIGHUP: %s", exc)
        try:
            new = load()
        except ConfigError as exc:
            log.error("SIGHUP: configuration not reloaded (the running one stays): %s", exc)
            return
        old = state["now"]
        changed = [k for k, v in new.values.items() if v != old.values.get(k)]
        shown = {key: value for key, value, _ in new.rows()}
        for key in changed:
            if key in ("log_level", "log_format"):
                setup_logging(new.values["log_level"], new.values["log_format"], worker=worker)
            elif key in live:
                live[key](new.values[key])
            else:
                log.warning(
                    "SIGHUP: %s changed to %s (%s); it takes effect at the next start",
                    key,
                    shown[key],
                    new.sources[key],
                )
                continue
            log.info("SIGHUP: %s is now %s (%s)", key, shown[key], new.sources[key])
        if not changed:
            log.info("SIGHUP: configuration read again, nothing changed")
        state["now"] = new

    with contextlib.suppress(NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)


async def wait_for_signal() -> None:
    """Return on SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def checked(parse: Callable[[str], object]) -> Callable[[str], str]:
    """argparse type: the text itself, refused (as a flag, a file key or a variable) when
    ``parse`` refuses it (the value stays readable: ``7d``, not 604800.0)."""

    def check(text: str) -> str:
        try:
            parse(text)
        except (ConfigError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text

    check.__name__ = getattr(parse, "__name__", "value")
    return check


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
