"""The ``master`` command: serve, run, monitor, logs, list-tasks, workers, stop, doctor.

The CLI is the only reader of argv and the environment: it builds frozen configurations
(:class:`~master.config.MasterConfig`, :class:`~master.monitor.MonitorConfig`) that the server
and the monitor consume. Client commands import only what a client needs (gRPC and the
protocol): the server stack, the worker and docker-py are imported by ``serve`` alone (and
docker-py by ``doctor --local-worker``).

Exit codes (:mod:`master.presentation`): 0 done (``monitor``, ``logs -f``: the task ended in
success), 1 the task did not succeed, 2 usage or connection errors; 141 when the reader of the
output went away (``master logs X | head``), quietly, as a process killed by SIGPIPE.
``doctor``: 0 when no check failed (warnings allowed), 1 when one did (:mod:`shared.doctor`).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import getpass
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from master.config import MasterConfig
from master.presentation import EXIT_USAGE, labels_column
from shared.addresses import DEFAULT_MASTER
from shared.cliutil import add_config_option, add_log_options, checked, positive_int
from shared.doctor import format_skew
from shared.errors import InvalidRequest, LogcastError, PermissionDenied, Unauthenticated
from shared.ids import validate_task_id
from shared.limits import parse_cpus, parse_memory, parse_pids_limit, parse_timeout
from shared.listing import DEFAULT_LIMIT, parse_label, parse_status
from shared.model import TaskInfo, TaskSpec, TaskStatus, WorkerSummary
from shared.taskcheck import validate_spec
from shared.terminal import escape_controls

if TYPE_CHECKING:
    from master.master_client import MasterClient
    from shared.linefilter import LineFilter
    from shared.settings import Resolved


def build_parser() -> argparse.ArgumentParser:
    """The ``master`` command line."""
    parser = argparse.ArgumentParser(prog="master", description="logcast master")
    sub = parser.add_subparsers(dest="command", required=True)

    def client_command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        add_client_options(p)
        return p

    serve = sub.add_parser("serve", help="run the master (gRPC for workers and CLI, HTTP for web)")
    add_serve_options(serve)
    config = sub.add_parser("config", help="print serve's effective settings and their sources")
    add_settings_command_options(config)

    run = client_command("run", "submit a task; prints its id")
    run.add_argument("--image", required=True, help="container image (must exist on the worker)")
    run.add_argument("--tty", action="store_true", help="give the task a TTY")
    run.add_argument(
        "--env", action="append", default=[], metavar="K=V", help="environment variable"
    )
    run.add_argument("--name", default="", metavar="TASK_ID", help="task id (task-...)")
    run.add_argument(
        "--label", action="append", default=[], metavar="K=V", help="label the task (repeatable)"
    )
    run.add_argument(
        "--memory", type=checked(parse_memory), metavar="SIZE", help="memory limit (e.g. 512m)"
    )
    run.add_argument("--cpus", type=checked(parse_cpus), metavar="N", help="CPU limit (e.g. 1.5)")
    run.add_argument(
        "--pids-limit", type=checked(parse_pids_limit), metavar="N", help="process limit"
    )
    run.add_argument(
        "--timeout",
        type=checked(parse_timeout),
        metavar="DURATION",
        help="stop the task after this long; it fails (e.g. 10m). Limits not given: the "
        "worker's defaults; 0: none",
    )
    run.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="then show its log like `master logs -f` (the id goes to stderr) and exit with "
        "the container's exit code, 125 for logcast's own errors (as docker run)",
    )
    run.add_argument("--raw", action="store_true", help=f"with --follow: {RAW_HELP}")
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARG ...]")

    monitor = client_command("monitor", "watch a task's log live (or several tasks' merged)")
    monitor.add_argument(
        "task_ids",
        nargs="*",
        metavar="TASK_ID",
        help="the task; several: their lines merged by timestamp, each tagged with its task",
    )
    monitor.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="K=V",
        help="(also) the tasks with this label, as the master lists them when the command "
        "starts (repeatable: tasks with all of them); merged as several tasks",
    )
    monitor.add_argument(
        "--after",
        default="",
        metavar="TASK:SEQ,...",
        help="several tasks: resume each one named after its seq (task-1:120,task-2:98)",
    )
    monitor.add_argument("--plain", action="store_true", help="print lines, no TUI")
    monitor.add_argument("--timestamps", action="store_true", help="prefix Docker's timestamp")
    monitor.add_argument("--tail", type=int, default=None, metavar="N", help="history lines")
    monitor.add_argument(
        "--since-seq", type=int, default=None, metavar="N", help="lines after seq N"
    )
    monitor.add_argument("--no-follow", action="store_true", help="history only, then exit")
    monitor.add_argument(
        "--max-lines", type=positive_int, default=10_000, help="lines the TUI keeps"
    )
    monitor.add_argument("--raw", action="store_true", help=RAW_HELP)
    add_filter_options(monitor)

    search = client_command("search", "search a task's whole stored log (like grep -n)")
    search.add_argument("task_id")
    search.add_argument("pattern")
    search.add_argument(
        "--regex", action="store_true", help="PATTERN is an RE2 regular expression (linear time)"
    )
    search.add_argument("-i", "--ignore-case", action="store_true", help="ignore case")
    search.add_argument(
        "-C", "--context", type=non_negative_int, default=0, metavar="N", help="N lines around"
    )
    search.add_argument(
        "--limit",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="stop after N matches (default 10,000)",
    )
    search.add_argument("--json", action="store_true", help="one JSON object per line")
    search.add_argument("--raw", action="store_true", help=RAW_HELP)

    logs = client_command("logs", "print a task's stored log, like docker logs")
    logs.add_argument("task_id")
    logs.add_argument(
        "-f", "--follow", action="store_true", help="follow the task to its end (exit as monitor)"
    )
    since = logs.add_mutually_exclusive_group()
    since.add_argument(
        "--tail", type=non_negative_int, default=None, metavar="N", help="only the last N lines"
    )
    since.add_argument(
        "--since-seq", type=non_negative_int, default=None, metavar="N", help="lines after seq N"
    )
    logs.add_argument("--timestamps", action="store_true", help="prefix Docker's timestamp")
    logs.add_argument(
        "--output",
        choices=("text", "jsonl"),
        default="text",
        help="text: stdout and stderr lines apart, like docker logs; "
        "jsonl: one JSON object per line on stdout",
    )
    logs.add_argument("--raw", action="store_true", help=RAW_HELP)
    add_filter_options(logs)

    tasks = client_command("list-tasks", "list tasks, newest first")
    tasks.add_argument(
        "--status",
        action="append",
        default=[],
        metavar="S",
        help="only tasks with this status (repeatable, or S1,S2)",
    )
    tasks.add_argument(
        "--label", action="append", default=[], metavar="K=V", help="only tasks with this label"
    )
    tasks.add_argument(
        "--limit",
        type=positive_int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"at most N tasks (default {DEFAULT_LIMIT})",
    )
    tasks.add_argument("--json", action="store_true", help="machine-readable output")

    workers = client_command("workers", "list workers")
    workers.add_argument("--json", action="store_true", help="machine-readable output")

    stop = client_command("stop", "stop a running task (status: cancelled)")
    stop.add_argument("task_id")

    token = sub.add_parser("token", help="API tokens: create, list, revoke (admin)")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="make a token; prints it once")
    create.add_argument("--role", required=True, choices=("viewer", "operator", "admin"))
    create.add_argument("--user", default=getpass.getuser(), help="who it is for")
    create.add_argument(
        "--expires", default="", metavar="DURATION", help="e.g. 12h, 30d (default: never)"
    )
    create.add_argument(
        "--task", action="append", default=[], metavar="TASK_ID", help="only this task"
    )
    create.add_argument(
        "--label", action="append", default=[], metavar="K=V", help="only tasks with this label"
    )
    listing = token_sub.add_parser("list", help="every token (never the secrets)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    revoke = token_sub.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("token_id")
    for p in (create, listing, revoke):
        add_client_options(p)

    client_command("login-link", "print a single-use link that logs a browser in (10 minutes)")
    join = client_command("join-token", "print a token a worker joins this master with (admin)")
    join.add_argument(
        "--ttl", default="24h", help="how long the token lets workers join (default 24h; 0: ever)"
    )
    join.add_argument(
        "--replace",
        default="",
        metavar="NAME",
        help="let worker NAME, which joined before, join again with a new key (a reinstall)",
    )

    doctor = sub.add_parser("doctor", help="check this host and the running master; say how to fix")
    add_settings_command_options(doctor, doctor=True)
    return parser


RAW_HELP = (
    "print the task's bytes on a terminal too (default there: control characters shown as ^[)"
)


def add_filter_options(p: argparse.ArgumentParser) -> None:
    """``--grep``, ``--regex``, ``-i``, ``--stream``, ``--level``: a server-side filter."""
    group = p.add_argument_group(
        "filter (on the worker, over the whole stored log; lines keep their seq)"
    )
    group.add_argument("--grep", default="", metavar="PATTERN", help="only lines holding it")
    group.add_argument(
        "--regex", action="store_true", help="PATTERN is an RE2 regular expression (linear time)"
    )
    group.add_argument("-i", "--ignore-case", action="store_true", help="ignore case in PATTERN")
    group.add_argument("--stream", choices=("stdout", "stderr"), help="only this stream")
    group.add_argument(
        "--level", metavar="LEVEL[+]", help="only lines at this level or above (e.g. warn+)"
    )


def filter_of(args: argparse.Namespace) -> LineFilter:
    """The filter the options ask for (InvalidRequest for a bad pattern or level)."""
    from shared.linefilter import LineFilter

    return LineFilter.parse(
        args.grep,
        regex=args.regex,
        ignore_case=args.ignore_case,
        stream=args.stream or "",
        level=args.level or "",
    )


def add_client_options(p: argparse.ArgumentParser) -> None:
    """``--master`` and ``--token`` of every client command."""
    p.add_argument(
        "--master",
        default=os.environ.get("LOGCAST_MASTER", DEFAULT_MASTER),
        help=f"master gRPC address (default: $LOGCAST_MASTER or {DEFAULT_MASTER})",
    )
    p.add_argument(
        "--token",
        default=None,
        help="API token (default: $LOGCAST_TOKEN, else the owner's credential in "
        "$LOGCAST_STATE_DIR or ~/.local/state/logcast, made by `master serve`)",
    )
    p.add_argument(
        "--tls-ca",
        default=None,
        metavar="FILE",
        help="CA certificate(s) that check the master's TLS certificate (default: "
        "$LOGCAST_TLS_CA, else the system's); TLS is used for a master not on loopback, "
        "or with this option",
    )


def add_serve_options(p: argparse.ArgumentParser) -> None:
    """``master serve``'s settings: flags, and the same keys in its TOML file and in
    ``LOGCAST_<KEY>`` variables (see :mod:`shared.settings`)."""
    defaults = MasterConfig()
    add_config_option(p, "master")
    p.add_argument("--grpc", default=defaults.grpc_listen, help="gRPC listen address")
    p.add_argument("--http", default=defaults.http_listen, help="HTTP/WebSocket address")
    p.add_argument(
        "--cluster",
        default=defaults.cluster_listen,
        help="address workers report to (mutual TLS with the master's CA, on any address)",
    )
    p.add_argument(
        "--tls-cert",
        default=defaults.tls_cert,
        metavar="FILE",
        help="PEM certificate (chain) for HTTPS/WSS and the gRPC client port; needed to "
        "listen beyond loopback",
    )
    p.add_argument("--tls-key", default=defaults.tls_key, metavar="FILE", help="its PEM key")
    p.add_argument("--local-worker", action="store_true", help="also run a worker in this process")
    p.add_argument(
        "--worker-timeout",
        type=float,
        default=defaults.worker_timeout,
        help="seconds without heartbeat before a worker is down and its tasks lost",
    )
    p.add_argument(
        "--insecure-expose",
        action="store_true",
        help="allow non-loopback gRPC and HTTP addresses without TLS (plaintext: tokens and "
        "logs cross the network readable; trusted networks only, logged loudly)",
    )
    p.add_argument(
        "--allowed-host",
        dest="allowed_hosts",
        action="append",
        default=[],
        metavar="NAME",
        help="a Host name the web server answers besides loopback names and IP addresses "
        "(the name of a reverse proxy in front of it; repeatable)",
    )
    p.add_argument(
        "--allowed-origin",
        dest="allowed_origins",
        action="append",
        default=[],
        metavar="URL",
        help="a page Origin allowed to open WebSockets besides the same origin (e.g. "
        "https://logs.example.com; repeatable)",
    )
    p.add_argument(
        "--state-dir",
        default=None,
        help="the master's state (the embedded worker's logs: STATE_DIR/workers/local); "
        "default $LOGCAST_STATE_DIR or ~/.local/state/logcast",
    )
    p.add_argument(
        "--max-finished-tasks",
        type=positive_int,
        default=defaults.max_finished_tasks,
        help="finished tasks the master lists (newest kept; logs stay on the workers)",
    )
    p.add_argument(
        "--max-websockets",
        type=positive_int,
        default=defaults.max_websockets,
        help="open WebSocket connections in all; more are refused (HTTP 503)",
    )
    p.add_argument(
        "--max-websockets-per-address",
        type=non_negative_int,
        default=defaults.max_websockets_per_address,
        help="open WebSocket connections from one client address (HTTP 503 beyond; default 0: "
        "no cap, as every client behind a reverse proxy has the proxy's address)",
    )
    add_log_options(p)


def add_settings_command_options(p: argparse.ArgumentParser, *, doctor: bool = False) -> None:
    """``config`` and ``doctor`` take serve's settings (they show and check what serve would
    use), ``--json``, and for ``doctor`` the running master to ask."""
    add_serve_options(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    if doctor:
        p.add_argument(
            "--master",
            default=os.environ.get("LOGCAST_MASTER", DEFAULT_MASTER),
            help=f"the running master to ask (default: $LOGCAST_MASTER or {DEFAULT_MASTER})",
        )


SETTINGS_COMMANDS = ("serve", "config", "doctor")
NOT_SETTINGS = ("config", "json", "master")  # options of those commands that are no setting


def settings(command: str, argv: Sequence[str]) -> Resolved:
    """The effective settings of ``serve`` (for ``command``'s arguments ``argv``): flags over
    ``LOGCAST_*`` over the TOML file (``--config``, else STATE_DIR/master.toml)."""
    from shared.cliutil import load_settings
    from shared.paths import default_state_dir

    parser = argparse.ArgumentParser(prog=f"master {command}")
    if command == "serve":
        add_serve_options(parser)
    else:
        add_settings_command_options(parser, doctor=command == "doctor")
    state_dir = parser.parse_args(argv).state_dir or os.environ.get("LOGCAST_STATE_DIR")
    default_file = (Path(state_dir) if state_dir else default_state_dir()) / "master.toml"
    return load_settings(parser, argv, default_file, skip=NOT_SETTINGS)


def config_of(args: argparse.Namespace) -> MasterConfig:
    """The MasterConfig of serve's settings."""
    return MasterConfig(
        grpc_listen=args.grpc,
        http_listen=args.http,
        cluster_listen=args.cluster,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        local_worker=args.local_worker,
        worker_timeout=args.worker_timeout,
        insecure_expose=args.insecure_expose,
        allowed_hosts=tuple(args.allowed_hosts),
        allowed_origins=tuple(args.allowed_origins),
        state_dir=Path(args.state_dir) if args.state_dir else None,
        max_finished_tasks=args.max_finished_tasks,
        max_websockets=args.max_websockets,
        max_websockets_per_address=args.max_websockets_per_address,
    )


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``master`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if getattr(args, "token", None):
        os.environ["LOGCAST_TOKEN"] = args.token  # every client this command makes sends it
    if getattr(args, "tls_ca", None):
        os.environ["LOGCAST_TLS_CA"] = args.tls_ca  # and checks the master with it
    # gRPC's own INFO lines (each failed TLS handshake: a client's before our message about
    # it, a server's for every scanner) say nothing our messages and logs do not
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    try:
        if args.command in SETTINGS_COMMANDS:
            return _settings_command(args, argv[argv.index(args.command) + 1 :])
        code = _dispatch(args)
        sys.stdout.flush()  # a reader gone is noticed here, not at exit
        return code
    except BrokenPipeError:
        from master.plain import reader_gone

        return reader_gone()
    except KeyboardInterrupt:
        return 130
    except Unauthenticated as exc:
        print(f"master: not authenticated: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PermissionDenied as exc:
        print(f"master: permission denied: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LogcastError as exc:
        # the master's words may quote data (a name, Docker's error): shown, never obeyed
        print(f"master: {escape_controls(str(exc))}", file=sys.stderr)
        return EXIT_USAGE


def _settings_command(args: argparse.Namespace, argv: list[str]) -> int:
    """serve, config, doctor: with the layered settings."""
    resolved = settings(args.command, argv)
    values = resolved.namespace(command=args.command)
    if args.command == "serve":
        return _serve(values, lambda: settings("serve", argv), resolved)
    if args.command == "config":
        from shared.cliutil import print_settings

        print_settings(resolved, as_json=args.json)
        return 0
    from master.doctor import run_doctor

    return run_doctor(config_of(values), args.master, as_json=args.json)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "monitor":
        return _monitor(args)
    if args.command == "logs":
        return _logs(args)
    if args.command == "search":
        return asyncio.run(_search(args))
    if args.command == "run" and args.follow:
        return _run_and_follow(args)
    return asyncio.run(_client_command(args))


async def _search(args: argparse.Namespace) -> int:
    from master.search_cli import SearchConfig, run_search

    validate_task_id(args.task_id)
    config = SearchConfig(
        master=args.master,
        task_id=args.task_id,
        pattern=args.pattern,
        regex=args.regex,
        ignore_case=args.ignore_case,
        context=args.context,
        limit=args.limit,
        as_json=args.json,
        raw=args.raw,
    )
    return await run_search(config)


def _serve(args: argparse.Namespace, reload: Callable[[], Resolved], resolved: Resolved) -> int:
    from master.running import run_master  # the server stack: only `serve` needs it
    from shared.cliutil import (
        announce,
        raise_open_files_limit,
        reload_on_hangup,
        setup_logging,
        wait_for_signal,
    )

    setup_logging(args.log_level, args.log_format)
    raise_open_files_limit()
    config = config_of(args)

    async def serve() -> None:
        async with run_master(config) as running:
            # what start-up built lives as long as the process: keep it out of the garbage
            # collector's full passes (with 100,000 tasks listed they stalled the event loop
            # up to ~0.2 s under load; see tests/integration/test_registry_scale.py)
            gc.freeze()
            where = f"master listening on {running.grpc_address} (gRPC)"
            if running.http_address:
                scheme = "https" if running.web.secure else "http"
                where += f" and {scheme}://{running.http_address}/"
            announce(where, args.log_format)
            if args.log_format == "text" and sys.stderr.isatty():  # never into a log file
                print(f"log in to the web view: {running.login_link()}", file=sys.stderr)
            registry = running.master.registry

            def max_finished(value: int) -> None:
                registry.max_finished = value

            # SIGHUP: the file and environment again; these change live, others at restart
            def tokens() -> None:
                running.access.reload()
                log_tokens = len(running.access.book.records)
                logging.getLogger("logcast.config").info("SIGHUP: %d token(s) read", log_tokens)

            reload_on_hangup(resolved, reload, {"max_finished_tasks": max_finished}, also=tokens)
            await wait_for_signal()

    asyncio.run(serve())
    return 0


async def _client_command(args: argparse.Namespace) -> int:
    from master.master_client import MasterClient

    async with MasterClient(args.master) as client:
        if args.command == "run":
            return await _run(client, args)
        if args.command == "stop":
            info = await client.stop(validate_task_id(args.task_id))
            print(f"{info.task_id} {info.status.value}")
            return 0
        if args.command == "list-tasks":
            return await _list_tasks(client, args)
        if args.command == "workers":
            _print_workers(await client.workers(), as_json=args.json)
            return 0
        if args.command == "token":
            return await _token(client, args)
        if args.command == "join-token":
            from shared.units import parse_duration

            made = await client.create_token(
                "join",
                f"join:{args.replace}" if args.replace else "join",
                expires_in=parse_duration(args.ttl) if args.ttl not in ("", "0") else 0.0,
                replace_worker=args.replace,
            )
            print(made.join_token)
            expires = made.info.expires_at
            until = time.strftime("%Y-%m-%d %H:%M", time.localtime(expires))
            ttl = f"until {until}" if expires else "until revoked"
            print(
                f"join token {made.info.token_id}, valid {ttl} (`master token revoke "
                f"{made.info.token_id}` ends it); on the worker's host: worker serve --master "
                f"{args.master} --join-token TOKEN",
                file=sys.stderr,
            )
            return 0
        if args.command == "login-link":
            code = await client.login_code()
            print(f"{code.url}?code={code.code}" if code.url else code.code)
            return 0
    raise InvalidRequest(f"unknown command {args.command}")


async def _token(client: MasterClient, args: argparse.Namespace) -> int:
    """``master token create|list|revoke``."""
    from shared.units import parse_duration

    if args.token_command == "create":
        made = await client.create_token(
            args.role,
            args.user,
            expires_in=parse_duration(args.expires) if args.expires else 0.0,
            task_ids=[validate_task_id(t) for t in args.task],
            labels=parse_labels(args.label),
        )
        print(made.token)
        print(
            f"token {made.info.token_id} for {made.info.user} ({made.info.role}); shown once: "
            "keep it (the master keeps only its hash)",
            file=sys.stderr,
        )
        return 0
    if args.token_command == "revoke":
        info = await client.revoke_token(args.token_id)
        print(f"{info.token_id} {info.state}")
        return 0
    tokens = await client.tokens()
    if args.json:
        from google.protobuf.json_format import MessageToDict

        rows = [MessageToDict(t, preserving_proto_field_name=True) for t in tokens]
        print(json.dumps(rows, indent=2))
        return 0
    table = [("ID", "USER", "ROLE", "STATE", "CREATED", "EXPIRES", "SCOPE")]
    for t in tokens:
        scope = ",".join([*t.task_ids, *(f"{k}={v}" for k, v in sorted(t.labels.items()))])
        expires = _when(t.expires_at) if t.expires_at else "never"
        table.append(
            (t.token_id, t.user, t.role, t.state, _when(t.created_at), expires, scope or "all")
        )
    _print_table(table)
    return 0


EXIT_RUN_ERROR = 125  # `master run -f`: logcast's own error (docker run's code for its own)


def _run_and_follow(args: argparse.Namespace) -> int:
    """``master run -f``: submit, follow the log to the end, exit as the container did."""
    from master.logs import LogsConfig, run_logs
    from master.master_client import MasterClient

    async def submit() -> TaskInfo:
        async with MasterClient(args.master) as client:
            # (a task that failed to start: `logs -f` below says so, with Docker's reason)
            return await _submit(client, args, out=sys.stderr, say_failure=False)

    async def ended(task_id: str) -> TaskInfo:
        async with MasterClient(args.master) as client:
            return await client.get(task_id)

    try:
        info = asyncio.run(submit())
        run_logs(LogsConfig(info.task_id, args.master, _user(), follow=True, raw=args.raw))
        info = asyncio.run(ended(info.task_id))
    except LogcastError as exc:
        print(f"master: {escape_controls(str(exc))}", file=sys.stderr)
        return EXIT_RUN_ERROR
    if info.status is TaskStatus.SUCCESS:
        return 0
    if info.exit_code is not None and info.exit_code > 0:
        return min(info.exit_code, 255)
    return EXIT_RUN_ERROR  # it never ran (failed to start), was lost, or has no exit code


async def _run(client: MasterClient, args: argparse.Namespace) -> int:
    await _submit(client, args, out=sys.stdout)
    return 0


async def _submit(
    client: MasterClient, args: argparse.Namespace, out: TextIO, *, say_failure: bool = True
) -> TaskInfo:
    """Submit the task of ``master run``; print its id to ``out`` (and on stderr why it failed
    to start, if it did and ``say_failure``)."""
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    env = []
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidRequest(f"--env expects K=V, got {item!r}")
        env.append((key, value))
    if args.name:
        validate_task_id(args.name)
    spec = TaskSpec(
        task_id=args.name,
        image=args.image,
        command=tuple(cmd),
        env=tuple(env),
        tty=args.tty,
        labels=parse_labels(args.label),
        memory=None if args.memory is None else parse_memory(args.memory),
        cpus=None if args.cpus is None else parse_cpus(args.cpus),
        pids_limit=None if args.pids_limit is None else parse_pids_limit(args.pids_limit),
        timeout=None if args.timeout is None else parse_timeout(args.timeout),
    )
    info = await client.run(validate_spec(spec))  # (a bad spec: exit 2, nothing sent)
    print(info.task_id, file=out, flush=True)
    if say_failure and info.status is TaskStatus.FAILED and info.error:
        # the task exists (status failed) and `monitor` will say so too; the contract's exit
        # code for `run` stays 0: the submission itself worked
        why = escape_controls(info.error)  # Docker's words quote the command: data
        print(f"master: {info.task_id} failed to start: {why}", file=sys.stderr)
    return info


async def _list_tasks(client: MasterClient, args: argparse.Namespace) -> int:
    statuses = {parse_status(s) for item in args.status for s in item.split(",") if s.strip()}
    tasks, more = await client.tasks(
        statuses=sorted(statuses), labels=parse_labels(args.label), limit=args.limit
    )
    _print_tasks(tasks, as_json=args.json)
    if more and not args.json:
        print(f"logcast: newest {len(tasks)} shown, more tasks match (--limit N)", file=sys.stderr)
    return 0


def parse_labels(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``--label K=V`` options as sorted pairs (a key given twice: the last value wins)."""
    return tuple(sorted(dict(parse_label(item) for item in items).items()))


def _monitor(args: argparse.Namespace) -> int:
    from master.monitor import MonitorConfig, run_monitor

    plain = args.plain or not sys.stdout.isatty()
    if args.raw and not plain:
        raise InvalidRequest("--raw is for --plain output (the TUI never obeys a task's bytes)")
    if len(args.task_ids) != 1 or args.label or args.after:
        return _merged_monitor(args, plain=plain)
    config = MonitorConfig(
        task_id=args.task_ids[0],
        master=args.master,
        user=_user(),
        tail=args.tail,
        after=args.since_seq,
        follow=not args.no_follow,
        timestamps=args.timestamps,
        max_lines=args.max_lines,
        lossless=plain,  # plain output never drops a line; the TUI keeps up by skipping
        raw=args.raw,
        line_filter=filter_of(args),
    )
    return run_monitor(config, plain=plain)


def _merged_monitor(args: argparse.Namespace, *, plain: bool) -> int:
    """``master monitor A B ...`` / ``--label K=V``: several tasks merged."""
    from master.merged_monitor import MergedMonitorConfig, run_merged_monitor
    from shared.merge import parse_cursor

    if args.since_seq is not None:
        raise InvalidRequest("--since-seq is for one task; several resume with --after A:N,B:M")
    config = MergedMonitorConfig(
        task_ids=tuple(args.task_ids),
        labels=parse_labels(args.label),
        master=args.master,
        user=_user(),
        tail=args.tail,
        after=tuple(parse_cursor(args.after).items()),
        follow=not args.no_follow,
        timestamps=args.timestamps,
        max_lines=args.max_lines,
        lossless=plain,  # plain output never drops a line; the TUI keeps up by skipping
        raw=args.raw,
        line_filter=filter_of(args),
    )
    return run_merged_monitor(config, plain=plain)


def _logs(args: argparse.Namespace) -> int:
    from master.logs import LogsConfig, run_logs

    config = LogsConfig(
        task_id=args.task_id,
        master=args.master,
        user=_user(),
        tail=args.tail,
        after=args.since_seq,
        follow=args.follow,
        timestamps=args.timestamps,
        output=args.output,
        raw=args.raw,
        line_filter=filter_of(args),
    )
    return run_logs(config)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _when(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) if ts else "-"


def _print_tasks(tasks: list[TaskInfo], *, as_json: bool) -> None:
    if as_json:
        rows = []
        for t in tasks:
            row = dataclasses.asdict(t)
            row["status"] = t.status.value
            row["command"] = list(t.command)
            rows.append(row)
        print(json.dumps(rows, indent=2))
        return
    table = [("TASK", "STATUS", "EXIT", "WORKER", "LINES", "STARTED", "IMAGE", "LABELS", "COMMAND")]
    for t in tasks:
        table.append(
            (
                t.task_id,
                t.status.value,
                "" if t.exit_code is None else str(t.exit_code),
                t.worker,
                str(t.lines),
                _when(t.created_at),
                t.image,
                labels_column(t.labels),
                " ".join(t.command)[:40],
            )
        )
    _print_table(table)


def _print_workers(workers: list[WorkerSummary], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps([dataclasses.asdict(w) for w in workers], indent=2))
        return
    table = [("WORKER", "ADDRESS", "STATE", "RUNNING", "LAST SEEN", "SKEW")]
    for w in workers:
        state = "alive" if w.alive else "down"
        table.append(
            (
                w.name,
                w.address,
                state,
                str(w.running_tasks),
                _when(w.last_seen),
                format_skew(w.clock_skew),
            )
        )
    _print_table(table)


def _print_table(rows: Sequence[tuple[str, ...]]) -> None:
    from master.plain import is_terminal

    if is_terminal(sys.stdout):  # names, labels, commands are data: shown, never obeyed
        rows = [tuple(escape_controls(cell) for cell in row) for row in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    sys.exit(main())
