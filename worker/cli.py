"""``worker serve``: run a worker on this host."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import re
import sys
from pathlib import Path

from shared.cliutil import (
    add_log_options,
    announce,
    positive_int,
    raise_open_files_limit,
    setup_logging,
    wait_for_signal,
)
from shared.errors import LogcastError
from shared.hub import HubLimits
from shared.units import format_size, parse_duration, parse_size
from worker.config import WorkerConfig
from worker.frames import DEFAULT_MAX_LINE_BYTES, MAX_LINE_BYTES_LIMIT
from worker.running import RunningWorker, run_worker

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The ``worker`` command line."""
    parser = argparse.ArgumentParser(prog="worker", description="logcast worker")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run containers and serve their logs over gRPC")
    defaults = WorkerConfig()
    serve.add_argument(
        "--master",
        default=os.environ.get("LOGCAST_MASTER", ""),
        help="master to register with, HOST:PORT (default: $LOGCAST_MASTER; none: standalone)",
    )
    serve.add_argument("--listen", default=defaults.listen, help="gRPC listen address")
    serve.add_argument(
        "--drain",
        action="store_true",
        help="on SIGTERM, take no new task and wait for the running ones to end (a second "
        "signal stops at once); default: stop at once, containers keep running and are "
        "adopted when the worker starts again",
    )
    serve.add_argument(
        "--metrics",
        default="",
        metavar="ADDRESS",
        help="serve /healthz, /readyz and /metrics over HTTP on ADDRESS (default: off)",
    )
    serve.add_argument("--name", default=defaults.name, help="worker name (default: host name)")
    serve.add_argument(
        "--advertise", default="", help="address the master dials (default: the listen address)"
    )
    serve.add_argument("--docker-host", default=defaults.docker_host, help="Docker engine URL")
    serve.add_argument(
        "--history", type=int, default=defaults.limits.history, help="lines kept per task"
    )
    serve.add_argument(
        "--queue-lines",
        type=positive_int,
        default=defaults.limits.max_lag_lines,
        help="a subscriber may fall this many lines behind before it loses its oldest",
    )
    serve.add_argument(
        "--queue-bytes",
        type=positive_int,
        default=defaults.limits.max_lag_bytes,
        help="... or this many bytes",
    )
    serve.add_argument(
        "--max-line-bytes",
        type=positive_int,
        default=DEFAULT_MAX_LINE_BYTES,
        help=f"longer lines are truncated (at most {MAX_LINE_BYTES_LIMIT})",
    )
    serve.add_argument(
        "--retention",
        type=float,
        default=defaults.retention,
        help="seconds a finished task's newest lines stay in memory (its log stays stored)",
    )
    serve.add_argument(
        "--data-dir",
        default=None,
        help="where task logs are stored (default: $LOGCAST_STATE_DIR/workers/NAME, "
        "else ~/.local/state/logcast/workers/NAME)",
    )
    serve.add_argument(
        "--no-store",
        action="store_true",
        help="keep logs in memory only (the last lines per task; for measurements)",
    )
    serve.add_argument(
        "--retention-age",
        default="7d",
        help="remove finished tasks' logs older than this (e.g. 12h, 7d; default 7d)",
    )
    serve.add_argument(
        "--retention-bytes",
        default=format_size(defaults.retention_bytes),
        help="all stored logs together, oldest finished tasks removed first (default 2GiB)",
    )
    serve.add_argument(
        "--task-max-bytes",
        default=format_size(defaults.task_max_bytes),
        help="one task's stored log; beyond it, its oldest lines are removed (default 512MiB)",
    )
    serve.add_argument(
        "--docker-log-max-size",
        default=defaults.docker_log_max_size,
        help="Docker's own json-file log per task container (default 1g) ...",
    )
    serve.add_argument(
        "--docker-log-max-file",
        type=positive_int,
        default=defaults.docker_log_max_file,
        help="... and how many files it keeps (default 2)",
    )
    serve.add_argument(
        "--stop-grace",
        type=float,
        default=defaults.stop_grace,
        help="seconds from SIGTERM to SIGKILL",
    )
    serve.add_argument(
        "--keep-containers",
        action="store_true",
        help="keep finished containers (so `docker logs` can still read them)",
    )
    serve.add_argument(
        "--insecure-expose",
        action="store_true",
        help="allow a non-loopback listen address (no auth, no TLS: trusted networks only)",
    )
    add_log_options(serve)
    return parser


def config_from_args(args: argparse.Namespace) -> WorkerConfig:
    """The WorkerConfig a parsed command line asks for."""
    if not re.fullmatch(r"[1-9][0-9]*[kmg]?", args.docker_log_max_size):
        raise LogcastError("--docker-log-max-size is a number with k, m or g (e.g. 20m)")
    if not 1 <= args.max_line_bytes <= MAX_LINE_BYTES_LIMIT:
        raise LogcastError(f"--max-line-bytes must be between 1 and {MAX_LINE_BYTES_LIMIT}")
    return WorkerConfig(
        name=args.name,
        listen=args.listen,
        metrics_listen=args.metrics,
        drain=args.drain,
        advertise=args.advertise,
        master=args.master,
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
    )


async def serve(config: WorkerConfig, log_format: str = "text") -> None:
    """Run a worker until SIGINT/SIGTERM."""
    async with run_worker(config) as running:
        gc.freeze()  # what start-up built lives as long as the process (see master serve)
        announce(f"worker {config.name} listening on {running.address}", log_format)
        await wait_for_signal()
        if config.drain:
            await drain(running)


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
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format, worker=args.name)
    raise_open_files_limit()
    try:
        config = config_from_args(args)
        asyncio.run(serve(config, args.log_format))
    except LogcastError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
