"""The ``master`` command: serve, run, monitor, list-tasks, workers, stop.

The CLI is the only reader of argv and the environment: it builds frozen configurations
(:class:`~master.config.MasterConfig`, :class:`~master.monitor.MonitorConfig`) that the server
and the monitor consume. Client commands import only what a client needs (gRPC and the
protocol): the server stack, the worker and docker-py are imported by ``serve`` alone.

Exit codes (:mod:`master.presentation`): 0 done (``monitor``: the task ended in success),
1 the task did not succeed, 2 usage or connection errors.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from master.config import MasterConfig
from master.presentation import EXIT_USAGE
from shared.addresses import DEFAULT_MASTER
from shared.cliutil import positive_int
from shared.errors import InvalidRequest, LogcastError
from shared.ids import validate_task_id
from shared.model import TaskInfo, TaskSpec, TaskStatus, WorkerSummary

if TYPE_CHECKING:
    from master.master_client import MasterClient


def build_parser() -> argparse.ArgumentParser:
    """The ``master`` command line."""
    parser = argparse.ArgumentParser(prog="master", description="logcast master")
    sub = parser.add_subparsers(dest="command", required=True)

    def client_command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument(
            "--master",
            default=os.environ.get("LOGCAST_MASTER", DEFAULT_MASTER),
            help=f"master gRPC address (default: $LOGCAST_MASTER or {DEFAULT_MASTER})",
        )
        return p

    defaults = MasterConfig()
    serve = sub.add_parser("serve", help="run the master (gRPC for workers and CLI, HTTP for web)")
    serve.add_argument("--grpc", default=defaults.grpc_listen, help="gRPC listen address")
    serve.add_argument("--http", default=defaults.http_listen, help="HTTP/WebSocket address")
    serve.add_argument(
        "--local-worker", action="store_true", help="also run a worker in this process"
    )
    serve.add_argument(
        "--worker-timeout",
        type=float,
        default=defaults.worker_timeout,
        help="seconds without heartbeat before a worker is down and its tasks lost",
    )
    serve.add_argument(
        "--insecure-expose",
        action="store_true",
        help="allow non-loopback listen addresses (no auth, no TLS: trusted networks only)",
    )
    serve.add_argument("--log-level", default="info")

    run = client_command("run", "submit a task; prints its id")
    run.add_argument("--image", required=True, help="container image (must exist on the worker)")
    run.add_argument("--tty", action="store_true", help="give the task a TTY")
    run.add_argument(
        "--env", action="append", default=[], metavar="K=V", help="environment variable"
    )
    run.add_argument("--name", default="", metavar="TASK_ID", help="task id (task-...)")
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARG ...]")

    monitor = client_command("monitor", "watch a task's log live")
    monitor.add_argument("task_id")
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

    for name, text in (("list-tasks", "list tasks"), ("workers", "list workers")):
        p = client_command(name, text)
        p.add_argument("--json", action="store_true", help="machine-readable output")

    stop = client_command("stop", "stop a running task (status: cancelled)")
    stop.add_argument("task_id")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``master`` console script."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "monitor":
            return _monitor(args)
        return asyncio.run(_client_command(args))
    except KeyboardInterrupt:
        return 130
    except LogcastError as exc:
        print(f"master: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _serve(args: argparse.Namespace) -> int:
    from master.running import run_master  # the server stack: only `serve` needs it
    from shared.cliutil import raise_open_files_limit, setup_logging, wait_for_signal

    setup_logging(args.log_level)
    raise_open_files_limit()
    config = MasterConfig(
        grpc_listen=args.grpc,
        http_listen=args.http,
        local_worker=args.local_worker,
        worker_timeout=args.worker_timeout,
        insecure_expose=args.insecure_expose,
    )

    async def serve() -> None:
        async with run_master(config) as running:
            where = f"master listening on {running.grpc_address} (gRPC)"
            if running.http_address:
                where += f" and http://{running.http_address}/"
            print(where, file=sys.stderr, flush=True)
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
            _print_tasks(await client.tasks(), as_json=args.json)
            return 0
        if args.command == "workers":
            _print_workers(await client.workers(), as_json=args.json)
            return 0
    raise InvalidRequest(f"unknown command {args.command}")


async def _run(client: MasterClient, args: argparse.Namespace) -> int:
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
        task_id=args.name, image=args.image, command=tuple(cmd), env=tuple(env), tty=args.tty
    )
    info = await client.run(spec)
    print(info.task_id, flush=True)
    if info.status is TaskStatus.FAILED and info.error:
        # the task exists (status failed) and `monitor` will say so too; the contract's exit
        # code for `run` stays 0: the submission itself worked
        print(f"master: {info.task_id} failed to start: {info.error}", file=sys.stderr)
    return 0


def _monitor(args: argparse.Namespace) -> int:
    from master.monitor import MonitorConfig, run_monitor

    config = MonitorConfig(
        task_id=args.task_id,
        master=args.master,
        user=_user(),
        tail=args.tail,
        after=args.since_seq,
        follow=not args.no_follow,
        timestamps=args.timestamps,
        max_lines=args.max_lines,
    )
    return run_monitor(config, plain=args.plain or not sys.stdout.isatty())


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
    table = [("TASK", "STATUS", "EXIT", "WORKER", "LINES", "STARTED", "IMAGE", "COMMAND")]
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
                " ".join(t.command)[:40],
            )
        )
    _print_table(table)


def _print_workers(workers: list[WorkerSummary], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps([dataclasses.asdict(w) for w in workers], indent=2))
        return
    table = [("WORKER", "ADDRESS", "STATE", "RUNNING", "LAST SEEN")]
    for w in workers:
        state = "alive" if w.alive else "down"
        table.append((w.name, w.address, state, str(w.running_tasks), _when(w.last_seen)))
    _print_table(table)


def _print_table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    sys.exit(main())
