"""The self-check's core (``master doctor``, ``worker doctor``). Pure: no I/O.

A check finds one thing about the host and says what to do about it: a :class:`Check`
(name, status, what it found, how to fix it). The I/O that gathers the facts lives in
:mod:`shared.doctor_checks`, :mod:`worker.doctor` and :mod:`master.doctor`; what a fact
means (its status and its fix) is decided here, so it is tested without a host.

The report is one line per check, a fix indented under what it concerns::

    ok    docker      reachable at unix:///var/run/docker.sock: Docker 20.10.24 (API 1.41)
    warn  inotify     fs.inotify.max_user_instances is 128: ...
          fix: sysctl -w fs.inotify.max_user_instances=1024 ...

Exit code: 0 when no check failed (warnings and notes allowed), 1 when one did.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from shared.model import WorkerSummary

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1


class Status(StrEnum):
    """How a check went, from best to worst."""

    OK = "ok"
    NOTE = "note"  # nothing to check, or nothing to judge: a fact worth knowing
    WARN = "warn"  # logcast works, but not as well as it could
    FAIL = "fail"  # logcast cannot work like this

    @property
    def rank(self) -> int:
        """Order of badness (ok 0 ... fail 3)."""
        return _RANK[self]


_RANK: Final = {Status.OK: 0, Status.NOTE: 1, Status.WARN: 2, Status.FAIL: 3}


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: ``found`` says what is, ``fix`` (empty when all is well) what to do."""

    name: str
    status: Status
    found: str
    fix: str = ""


def worst(checks: Sequence[Check]) -> Status:
    """The worst status of ``checks`` (ok when there are none)."""
    return max((c.status for c in checks), key=lambda s: s.rank, default=Status.OK)


def exit_code(checks: Sequence[Check]) -> int:
    """0 unless a check failed (warnings allowed), then 1."""
    return EXIT_FAILED if worst(checks) is Status.FAIL else EXIT_OK


def format_report(checks: Sequence[Check]) -> str:
    """One line per check (status, name, what it found), each fix indented under its check,
    then a summary line. Ends with a newline."""
    width = max((len(c.name) for c in checks), default=0) + 2
    lines = []
    for c in checks:
        lines.append(f"{c.status.value:<6}{c.name:<{width}}{c.found}".rstrip())
        if c.fix:
            lines.append(f"{'':<6}fix: {c.fix}")
    lines.append(summary_line(checks))
    return "\n".join(lines) + "\n"


def summary_line(checks: Sequence[Check]) -> str:
    """``doctor: 2 ok, 1 warning, no failure`` (the words of the exit code)."""
    counts = {s: sum(1 for c in checks if c.status is s) for s in Status}
    parts = [f"{counts[Status.OK]} ok"]
    if counts[Status.NOTE]:
        parts.append(_plural(counts[Status.NOTE], "note"))
    parts.append(_plural(counts[Status.WARN], "warning"))
    failed = counts[Status.FAIL]
    parts.append(_plural(failed, "failure") if failed else "no failure")
    return "doctor: " + ", ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def report_json(checks: Sequence[Check]) -> str:
    """The report as JSON: ``{"status", "exit_code", "checks": [{name, status, found, fix}]}``."""
    body = {
        "status": worst(checks).value,
        "exit_code": exit_code(checks),
        "checks": [
            {"name": c.name, "status": c.status.value, "found": c.found, "fix": c.fix}
            for c in checks
        ],
    }
    return json.dumps(body, indent=2)


# ---------------------------------------------------------------- disk space

GiB: Final = 1024**3
MiB: Final = 1024**2
WARN_FREE_BYTES: Final = 1 * GiB
WARN_FREE_FRACTION: Final = 0.05
FAIL_FREE_BYTES: Final = 100 * MiB


def space_status(free: int, total: int) -> tuple[Status, str]:
    """Free space where a store or state lives: fail under 100 MiB (the store's next commits
    fail), warn under 1 GiB or under 5 % of the filesystem; and the figures for people."""
    fraction = free / total if total > 0 else 0.0
    text = f"{_size(free)} free of {_size(total)} ({fraction:.0%})"
    if free < FAIL_FREE_BYTES:
        return Status.FAIL, text + ": nearly full"
    if free < WARN_FREE_BYTES or fraction < WARN_FREE_FRACTION:
        return Status.WARN, text + ": little room left"
    return Status.OK, text


def directory_check(
    name: str, option: str, path: str, *, problem: str, exists: bool, free: int, total: int
) -> Check:
    """A data or state directory (chosen with ``option``): it exists or can be created, this
    user can write it (``problem`` says why not), and its filesystem has room."""
    if problem:
        return Check(
            name,
            Status.FAIL,
            f"{path} cannot be used: {problem}",
            f"choose a directory this user can write ({option} DIR), or fix the path "
            "(ownership, permissions, a read-only or full filesystem)",
        )
    status, space = space_status(free, total)
    state = "writable" if exists else "does not exist yet, can be created"
    fix = ""
    if status is not Status.OK:
        fix = f"free space on that filesystem, or choose a directory on a larger one ({option} DIR)"
    return Check(name, status, f"{path}: {state}; {space}", fix)


def _size(n: int) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


# ---------------------------------------------------------------- clocks

MAX_SKEW: Final = 1.0
"""Seconds of clock difference between a worker and its master beyond which doctor warns:
the worker's times (its tasks' start and end, its lines' timestamps) are shown beside and
compared with the master's (the registry judges a task's age by the master's clock)."""

NTP_FIX: Final = (
    "run an NTP client such as chrony or systemd-timesyncd on the worker and the master "
    "(timedatectl set-ntp true)"
)


def format_skew(skew: float | None) -> str:
    """A clock skew for people: ``+0.003 s``, ``-1.250 s``; ``-`` when unknown."""
    return "-" if skew is None else f"{skew:+.3f} s"


def skew_check(name: str, subject: str, skew: float | None) -> Check:
    """The clock skew the master measured for a worker (``subject``: "worker w1" ...): warn
    above :data:`MAX_SKEW`, a note when the worker does not send its clock."""
    if skew is None:
        return Check(
            name,
            Status.NOTE,
            f"{subject}: clock skew unknown (the worker does not send its clock: an older "
            "version?)",
        )
    found = f"{subject}: clock skew {format_skew(skew)} (the master's clock minus the worker's)"
    if abs(skew) > MAX_SKEW:
        return Check(name, Status.WARN, f"{found}, more than {MAX_SKEW:g} s", NTP_FIX)
    return Check(name, Status.OK, found)


def worker_check(worker: WorkerSummary, now: float) -> Check:
    """One worker as ``master doctor`` sees it: down (warn), or alive with its clock skew."""
    name = f"worker:{worker.name}"
    if not worker.alive:
        ago = f"{now - worker.last_seen:.0f} s ago" if worker.last_seen else "never"
        return Check(
            name,
            Status.WARN,
            f"worker {worker.name} at {worker.address} is down (last heartbeat {ago})",
            f"start it again (worker serve --master ... --name {worker.name}), or read its "
            "log for why it stopped",
        )
    return skew_check(name, f"worker {worker.name} alive", worker.clock_skew)


def master_checks(
    master: str, workers: Sequence[WorkerSummary] | None, error: str, now: float
) -> list[Check]:
    """What ``master doctor`` says about the running master at ``master`` and its workers.
    ``workers`` is None when it did not answer (``error`` says why): a warning, since doctor
    may run before the first start."""
    if workers is None:
        return [
            Check(
                "master",
                Status.WARN,
                f"no master answers at {master} ({error})",
                "start it (master serve), or point --master / $LOGCAST_MASTER at it; "
                "without a running master the workers' clocks cannot be checked",
            )
        ]
    alive = sum(1 for w in workers if w.alive)
    checks = [
        Check("master", Status.OK, f"answers at {master}: {len(workers)} worker(s), {alive} alive")
    ]
    if not workers:
        checks.append(
            Check(
                "workers",
                Status.WARN,
                "no worker has registered: tasks cannot run",
                f"start one: worker serve --master {master} (or master serve --local-worker)",
            )
        )
    checks.extend(worker_check(w, now) for w in workers)
    return checks


def registration_check(
    master: str, name: str, workers: Sequence[WorkerSummary] | None, error: str
) -> Check:
    """What ``worker doctor`` says about its clock: the skew the master at ``master`` measured
    for worker ``name``, or why it cannot say. No master configured: a note."""
    if not master:
        return Check(
            "clock",
            Status.NOTE,
            "no master to compare clocks with (--master / $LOGCAST_MASTER not set: standalone)",
        )
    if workers is None:
        return Check(
            "clock",
            Status.WARN,
            f"no master answers at {master} ({error}): clock skew not measured",
            "start the master, or point --master / $LOGCAST_MASTER at it",
        )
    for w in workers:
        if w.name == name:
            state = "registered" if w.alive else "registered but down"
            return skew_check("clock", f"worker {name} {state} at {master}", w.clock_skew)
    return Check(
        "clock",
        Status.WARN,
        f"worker {name} is not registered with the master at {master}: clock skew not measured",
        f"start it: worker serve --master {master} --name {name}",
    )


# ---------------------------------------------------------------- Docker


def docker_check(host: str, version: str, api_version: str, error: str) -> Check:
    """Docker at ``host``: its version when it answered, else what to do (``error``)."""
    if not error:
        return Check(
            "docker", Status.OK, f"reachable at {host}: Docker {version} (API {api_version})"
        )
    found = f"unreachable at {host}: {error}"
    if "permission denied" in error.lower():
        fix = (
            "this user may not use the Docker socket: add it to the docker group "
            "(usermod -aG docker USER, then log in again) or run as root"
        )
    elif host.startswith("unix://"):
        fix = (
            "start dockerd (systemctl start docker, or scripts/setup), or point --docker-host "
            "/ $DOCKER_HOST at the engine's socket"
        )
    else:
        fix = "check that dockerd listens there, or point --docker-host / $DOCKER_HOST at it"
    return Check("docker", Status.FAIL, found, fix)


# ---------------------------------------------------------------- ports


def port_check(name: str, option: str, address: str, error: str, holder: str) -> Check:
    """Whether a server could listen on ``address`` (given with ``option``).

    ``error``: why binding failed ("" when it worked; ``"in use"`` when the port is taken);
    ``holder``: who answers there when it is taken (``"master"``, ``"worker"``, ``""``).
    A logcast server already listening there is a note (doctor is often run beside the
    running server; a second one could not start there); anything else holding it fails.
    """
    if not error:
        if address.endswith(":0"):
            return Check(name, Status.OK, f"{option} {address}: any free port (port 0)")
        return Check(name, Status.OK, f"{option} {address} is free")
    if error == "in use" and holder:
        return Check(
            name,
            Status.NOTE,
            f"{option} {address} is in use: a {holder} is already running there (a second "
            "one cannot listen there)",
        )
    if error == "in use":
        port = address.rpartition(":")[2]
        return Check(
            name,
            Status.FAIL,
            f"{option} {address} is in use by another program",
            f"stop it (`ss -ltnp 'sport = :{port}'` shows which) or choose another address "
            f"({option} HOST:PORT)",
        )
    return Check(
        name,
        Status.FAIL,
        f"cannot listen on {option} {address}: {error}",
        f"use an address of this host ({option} 127.0.0.1:PORT)",
    )


# ---------------------------------------------------------------- certificates

DAY: Final = 86400.0
CERT_WARN_DAYS: Final = 7
"""Doctor warns when a certificate has fewer days left than this, or than a third of its
lifetime when that is shorter: a certificate renewed after two thirds of its lifetime (a
worker's, the master's cluster certificate) is then overdue; one shorter-lived than 21 days
would otherwise warn all its life."""

UNREADABLE_FIX: Final = (
    "run doctor as the user that runs serve, or fix the file's ownership and permissions"
)


def certificate_check(
    name: str,
    what: str,
    pem: bytes | None,
    now: float,
    *,
    missing: str,
    soon: str,
    bad: str,
    required: bool = False,
    error: str = "",
) -> Check:
    """A certificate's validity at ``now`` (unix seconds).

    ``what``: the certificate's file, as people know it (``/state/ca.crt``,
    ``--tls-cert /etc/x.pem``); ``pem``: that file's bytes, None when there is no such file
    (a note saying ``missing``; a failure when the file is ``required``); ``error``: why it
    could not be read. ``soon``: the fix when few days are left (see :data:`CERT_WARN_DAYS`);
    ``bad``: the fix when it has expired, is not a certificate, or is required and missing.
    """
    from shared import pki  # (cryptography: loaded only when a certificate is checked)

    if error:
        return Check(name, Status.FAIL, f"{what}: cannot read it ({error})", UNREADABLE_FIX)
    if pem is None:
        if required:
            return Check(name, Status.FAIL, f"{what}: {missing}", bad)
        return Check(name, Status.NOTE, f"{what}: {missing}")
    try:
        issued = pki.describe(pem)
    except ValueError:  # pki.CertificateError, or a field cryptography cannot read
        why = "an empty file" if not pem.strip() else "no PEM certificate can be read from it"
        return Check(name, Status.FAIL, f"{what}: {why}", bad)
    left = issued.not_after - now
    if left <= 0:
        found = f"{what}: expired on {format_time(issued.not_after)} ({_span(-left)} ago)"
        return Check(name, Status.FAIL, found, bad)
    if now < issued.not_before:
        return Check(
            name,
            Status.WARN,
            f"{what}: not valid before {format_time(issued.not_before)}, later than this "
            "host's clock (behind its issuer's?)",
            NTP_FIX,
        )
    found = f"{what}: valid until {format_time(issued.not_after)} ({_span(left)} left)"
    if left < min(CERT_WARN_DAYS * DAY, (issued.not_after - issued.not_before) / 3):
        return Check(name, Status.WARN, found, soon)
    return Check(name, Status.OK, found)


def format_time(t: float) -> str:
    """Unix seconds for people, in UTC: ``2025-07-01 12:00 UTC``."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t))


def _span(seconds: float) -> str:
    """A duration in whole days (``12 days``), else hours, else minutes (rounded down)."""
    for unit, size in (("day", DAY), ("hour", 3600.0), ("minute", 60.0)):
        if seconds >= size:
            return _plural(int(seconds // size), unit)
    return _plural(int(seconds), "second")
