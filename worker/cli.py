"""``worker serve``: run a worker on this host; ``worker doctor``: check the host for it."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.addresses import validate_dial_address
from shared.cliutil import (
    add_config_option,
    add_log_options,
    announce,
    checked,
    load_settings,
    positive_int,
    print_settings,
    raise_open_files_limit,
    reload_on_hangup,
    setup_logging,
    wait_for_signal,
)
from shared.errors import LogcastError
from shared.hub import HubLimits
from shared.ids import validate_worker_name
from shared.limits import (
    LIMITS,
    LimitPolicy,
    TaskLimits,
    parse_cpus,
    parse_memory,
    parse_pids_limit,
    parse_timeout,
)
from shared.paths import default_state_dir
from shared.units import format_size, parse_duration, parse_size
from worker.config import WorkerConfig
from worker.frames import DEFAULT_MAX_LINE_BYTES, MAX_LINE_BYTES_LIMIT
from worker.running import RunningWorker, run_worker

if TYPE_CHECKING:
    from shared.settings import Resolved

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The ``worker`` command line."""
    parser = argparse.ArgumentParser(prog="worker", description="logcast worker")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run containers and serve their logs over gRPC")
    add_serve_options(serve)
    config = sub.add_parser("config", help="print serve's effective settings and their sources")
    add_settings_command_options(config)
    doctor = sub.add_parser("doctor", help="check this host for `worker serve`; say how to fix")
    add_settings_command_options(doctor)
    return parser


def add_serve_options(p: argparse.ArgumentParser) -> None:
    """``worker serve``'s settings: flags, and the same keys in its TOML file and in
    ``LOGCAST_<KEY>`` variables (see :mod:`shared.settings`)."""
    defaults = WorkerConfig()
    add_config_option(p, "worker")
    p.add_argument(
        "--master",
        default=os.environ.get("LOGCAST_MASTER", ""),
        help="the master's gRPC address HOST:PORT, to join it (default: $LOGCAST_MASTER)",
    )
    p.add_argument(
        "--also-master",
        dest="also_masters",
        action="append",
        default=[],
        type=checked(validate_dial_address),
        metavar="HOST:PORT",
        help="the cluster address (`master serve --cluster`) of another master of the same "
        "cluster, on the master's state directory, to report to as well: it then relays this "
        "worker's tasks too (repeatable)",
    )
    p.add_argument(
        "--join-token",
        default="",
        help="token from `master join-token`, used once to get this worker's certificate "
        "(default: $LOGCAST_JOIN_TOKEN; prefer the variable: flags show in ps)",
    )
    p.add_argument(
        "--token",
        default="",
        help="else an admin token of the master to join with (default: $LOGCAST_TOKEN, else "
        "the owner's credential in the state directory: a worker on the master's host)",
    )
    p.add_argument(
        "--tls-ca",
        default="",
        metavar="FILE",
        help="CA certificate(s) that check the master's gRPC port when it serves TLS "
        "(default: the system's)",
    )
    p.add_argument("--listen", default=defaults.listen, help="gRPC listen address")
    p.add_argument(
        "--drain",
        action="store_true",
        help="on SIGTERM, take no new task and wait for the running ones to end (a second "
        "signal stops at once); default: stop at once, containers keep running and are "
        "adopted when the worker starts again",
    )
    p.add_argument(
        "--metrics",
        default="",
        metavar="ADDRESS",
        help="serve /healthz, /readyz and /metrics over HTTP on ADDRESS (default: off)",
    )
    p.add_argument(
        "--name",
        type=checked(validate_worker_name),
        default=defaults.name,
        help="worker name: 1-63 of a-z, 0-9, - and _ (default: the host name)",
    )
    p.add_argument(
        "--advertise", default="", help="address the master dials (default: the listen address)"
    )
    p.add_argument("--docker-host", default=defaults.docker_host, help="Docker engine URL")
    p.add_argument(
        "--history", type=int, default=defaults.limits.history, help="lines kept per task"
    )
    p.add_argument(
        "--queue-lines",
        type=positive_int,
        default=defaults.limits.max_lag_lines,
        help="a subscriber may fall this many lines behind before it loses its oldest",
    )
    p.add_argument(
        "--queue-bytes",
        type=positive_int,
        default=defaults.limits.max_lag_bytes,
        help="... or this many bytes",
    )
    p.add_argument(
        "--max-line-bytes",
        type=line_cap,
        default=DEFAULT_MAX_LINE_BYTES,
        help=f"longer lines are truncated (at most {MAX_LINE_BYTES_LIMIT})",
    )
    p.add_argument(
        "--retention",
        type=float,
        default=defaults.retention,
        help="seconds a finished task's newest lines stay in memory (its log stays stored)",
    )
    p.add_argument(
        "--data-dir",
        default=None,
        help="where task logs are stored (default: $LOGCAST_STATE_DIR/workers/NAME, "
        "else ~/.local/state/logcast/workers/NAME)",
    )
    p.add_argument(
        "--no-store",
        action="store_true",
        help="keep logs in memory only (the last lines per task; for measurements)",
    )
    p.add_argument(
        "--retention-age",
        type=checked(parse_duration),
        default="7d",
        help="remove finished tasks' logs older than this (e.g. 12h, 7d; default 7d)",
    )
    p.add_argument(
        "--retention-bytes",
        type=checked(parse_size),
        default=format_size(defaults.retention_bytes),
        help="all stored logs together, oldest finished tasks removed first (default 2GiB)",
    )
    p.add_argument(
        "--task-max-bytes",
        type=checked(parse_size),
        default=format_size(defaults.task_max_bytes),
        help="one task's stored log; beyond it, its oldest lines are removed (default 512MiB)",
    )
    p.add_argument(
        "--docker-log-max-size",
        type=checked(docker_size),
        default=defaults.docker_log_max_size,
        help="Docker's own json-file log per task container (default 1g) ...",
    )
    p.add_argument(
        "--docker-log-max-file",
        type=positive_int,
        default=defaults.docker_log_max_file,
        help="... and how many files it keeps (default 2)",
    )
    p.add_argument(
        "--stop-grace",
        type=float,
        default=defaults.stop_grace,
        help="seconds from SIGTERM to SIGKILL",
    )
    p.add_argument(
        "--keep-containers",
        action="store_true",
        help="keep finished containers (so `docker logs` can still read them)",
    )
    p.add_argument(
        "--insecure-expose",
        action="store_true",
        help="allow a non-loopback --metrics address (plaintext HTTP; the gRPC port is always "
        "mutual TLS and may listen anywhere)",
    )
    add_task_limit_options(p, defaults.task_limits)
    add_log_options(p)


_LIMIT_OPTIONS = (  # (option, metavar, parser, help of the default)
    ("--task-memory", "SIZE", parse_memory, "a task container's memory, swap included (e.g. 512m)"),
    ("--task-cpus", "N", parse_cpus, "CPUs a task's container may use (e.g. 1.5)"),
    ("--task-pids-limit", "N", parse_pids_limit, "processes and threads a task may have at once"),
    ("--task-timeout", "DURATION", parse_timeout, "a task running longer is stopped, fails (10m)"),
)


def add_task_limit_options(p: argparse.ArgumentParser, policy: LimitPolicy) -> None:
    """``--task-memory``, ``--task-cpus``, ``--task-pids-limit``, ``--task-timeout``: the
    limits of a task that does not ask for its own, each with ``-max``: the most a task may
    ask for. 0: none."""
    for (flag, metavar, parse, help_text), limit in zip(_LIMIT_OPTIONS, LIMITS, strict=True):
        for suffix, limits, what in (
            ("", policy.default, f"{help_text}; 0: none"),
            ("-max", policy.maximum, "the most a task may ask for; 0: no maximum"),
        ):
            value = getattr(limits, limit.name)
            shown = limit.show(value) if value else "0"
            p.add_argument(
                flag + suffix,
                type=checked(parse),
                default=shown,
                metavar=metavar,
                help=f"{what} (default {shown})",
            )


def task_limits_of(args: argparse.Namespace) -> LimitPolicy:
    """The LimitPolicy of serve's ``--task-*`` settings (ConfigError: a default above its
    maximum)."""

    def limits(suffix: str) -> TaskLimits:
        return TaskLimits(
            memory=parse_memory(getattr(args, "task_memory" + suffix)),
            cpus=parse_cpus(getattr(args, "task_cpus" + suffix)),
            pids_limit=parse_pids_limit(getattr(args, "task_pids_limit" + suffix)),
            timeout=parse_timeout(getattr(args, "task_timeout" + suffix)),
        )

    return LimitPolicy(default=limits(""), maximum=limits("_max"))


def add_settings_command_options(p: argparse.ArgumentParser) -> None:
    """``config`` and ``doctor`` take serve's settings (they show and check what serve would
    use) and ``--json``."""
    add_serve_options(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")


SETTINGS_COMMANDS = ("serve", "config", "doctor")
NOT_SETTINGS = ("config", "json")  # options of those commands that are no setting


def settings(command: str, argv: Sequence[str]) -> Resolved:
    """The effective settings of ``serve`` (for ``command``'s arguments ``argv``): flags over
    ``LOGCAST_*`` over the TOML file (``--config``, else STATE_DIR/worker.toml)."""
    parser = argparse.ArgumentParser(prog=f"worker {command}")
    if command == "serve":
        add_serve_options(parser)
    else:
        add_settings_command_options(parser)
    default_file = default_state_dir() / "worker.toml"
    return load_settings(parser, argv, default_file, skip=NOT_SETTINGS)


def docker_size(text: str) -> str:
    """``--docker-log-max-size``: Docker's json-file ``max-size`` (a number with k, m or g)."""
    if not re.fullmatch(r"[1-9][0-9]*[kmg]?", text):
        raise argparse.ArgumentTypeError("a number with k, m or g (e.g. 20m)")
    return text


def line_cap(text: str) -> int:
    """``--max-line-bytes``: 1 .. MAX_LINE_BYTES_LIMIT."""
    value = int(text)
    if not 1 <= value <= MAX_LINE_BYTES_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_LINE_BYTES_LIMIT}")
    return value


def config_from_args(args: argparse.Namespace) -> WorkerConfig:
    """The WorkerConfig of serve's settings (already checked when parsed)."""
    return WorkerConfig(
        name=args.name,
        listen=args.listen,
        metrics_listen=args.metrics,
        flow_metrics=bool(args.metrics),  # counted only when someone can read the counts
        drain=args.drain,
        advertise=args.advertise,
        master=args.master,
        also_masters=tuple(args.also_masters),
        token=args.token,
        join_token=args.join_token,
        tls_ca=args.tls_ca,
        docker_host=args.docker_host,
        limits=HubLimits(
            history=args.history, max_lag_lines=args.queue_lines, max_lag_bytes=args.queue_bytes
        ),
        max_line_bytes=args.max_line_bytes,
        retention=args.retention,
        stop_grace=args.stop_grace,
        keep_containers=args.keep_containers,
        insecure_expose=args.insecure_expose,
        data_dir=Path(args.data_dir) if args.data_dir else None,
        store=not args.no_store,
        retention_age=parse_duration(args.retention_age),
        retention_bytes=parse_size(args.retention_bytes),
        task_max_bytes=parse_size(args.task_max_bytes),
        docker_log_max_size=args.docker_log_max_size,
        docker_log_max_file=args.docker_log_max_file,
        task_limits=task_limits_of(args),
    )


async def serve(
    config: WorkerConfig,
    log_format: str = "text",
    reload: Callable[[], Resolved] | None = None,
    resolved: Resolved | None = None,
) -> None:
    """Run a worker until SIGINT/SIGTERM; on SIGHUP, ``reload`` the settings and apply the
    log level and format and the retention settings."""
    async with run_worker(config) as running:
        gc.freeze()  # what start-up built lives as long as the process (see master serve)
        announce(f"worker {config.name} listening on {running.address}", log_format)
        if reload is not None and resolved is not None:
            reload_on_hangup(resolved, reload, live_settings(running), worker=config.name)
        await wait_for_signal()
        if config.drain:
            await drain(running)


def live_settings(running: RunningWorker) -> dict[str, Callable[[Any], None]]:
    """The settings a SIGHUP changes in a running worker (besides its log's level and format)."""
    sweep = running.retention

    def retention(value: float) -> None:
        running.manager.retention = value

    def retention_age(value: str) -> None:
        sweep.max_age = parse_duration(value)

    def retention_bytes(value: str) -> None:
        sweep.max_bytes = parse_size(value)

    return {
        "retention": retention,
        "retention_age": retention_age,
        "retention_bytes": retention_bytes,
    }


async def drain(running: RunningWorker, poll: float = 0.2) -> None:
    """Take no new task; return when every task has ended (or on a second signal)."""
    executor = running.executor
    executor.draining = True
    again = asyncio.ensure_future(wait_for_signal())
    left = executor.unfinished()
    if left:
        log.info("draining: waiting for %d task(s) to end", len(left))
    try:
        while left:
            done, _ = await asyncio.wait((again,), timeout=poll)
            if done:
                log.warning("draining: stopped by a second signal, %d task(s) left", len(left))
                return
            left = executor.unfinished()
    finally:
        again.cancel()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``worker`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # (see master.cli.main)
    rest = argv[argv.index(args.command) + 1 :]
    try:
        resolved = settings(args.command, rest)
        values = resolved.namespace(command=args.command)
        if args.command == "config":
            print_settings(resolved, as_json=args.json)
            return 0
        config = config_from_args(values)
        if args.command == "doctor":
            from worker.doctor import run_doctor

            return run_doctor(config, as_json=args.json)
    except LogcastError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    setup_logging(values.log_level, values.log_format, worker=values.name)
    raise_open_files_limit()
    try:
        asyncio.run(serve(config, values.log_format, lambda: settings("serve", rest), resolved))
    except LogcastError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
