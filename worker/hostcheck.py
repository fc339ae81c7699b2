"""Start-up checks of the host the worker runs on, with the fix for what they find.

Pure but for the two ``read_*`` functions. ``worker serve`` logs :func:`inotify_advice` at
start; ``worker doctor`` (and ``master doctor --local-worker``) report :func:`inotify_checks`.
"""

from __future__ import annotations

from pathlib import Path

from shared.doctor import Check, Status

INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
INOTIFY_WATCHES = Path("/proc/sys/fs/inotify/max_user_watches")
RECOMMENDED_INSTANCES = 1024
RECOMMENDED_WATCHES = 65536
SYSCTL_FILE = "/etc/sysctl.d/60-logcast.conf"


def sysctl_fix(key: str, value: int) -> str:
    """How to raise a kernel setting now and for good."""
    return f"sysctl -w {key}={value} (and add the line {key}={value} to {SYSCTL_FILE})"


def inotify_problem(limit: int | None, *, local_docker: bool) -> str:
    """What is wrong with the inotify instance limit ("" when all is well).

    dockerd follows each container's json-file log with one inotify instance; past the
    per-user limit (128 by default, shared with every other root process) it falls back to
    polling the file, and lines reach viewers up to ~200 ms late.
    """
    if limit is None or not local_docker or limit >= RECOMMENDED_INSTANCES:
        return ""
    return (
        f"fs.inotify.max_user_instances is {limit}: dockerd can follow only about {limit} "
        "containers' logs promptly (beyond that it polls, and lines arrive late)"
    )


def watches_problem(limit: int | None, *, local_docker: bool) -> str:
    """What is wrong with the inotify watch limit ("" when all is well): dockerd spends a
    watch or two per followed log, from the same per-user budget as every other program."""
    if limit is None or not local_docker or limit >= RECOMMENDED_WATCHES:
        return ""
    return (
        f"fs.inotify.max_user_watches is {limit}: dockerd and every other program of its user "
        "share it, a watch or two per followed log (when they run out, dockerd polls)"
    )


def inotify_advice(limit: int | None, *, local_docker: bool) -> str:
    """What to tell the operator about the inotify instance limit ("" when all is well)."""
    problem = inotify_problem(limit, local_docker=local_docker)
    if not problem:
        return ""
    fix = sysctl_fix("fs.inotify.max_user_instances", RECOMMENDED_INSTANCES)
    return f"{problem}. To follow more tasks at once: {fix}"


def inotify_checks(instances: int | None, watches: int | None, docker_host: str) -> list[Check]:
    """The inotify limits as doctor reports them (they matter only with Docker on this host)."""
    if not docker_host.startswith("unix://"):
        return [
            Check(
                "inotify",
                Status.NOTE,
                f"not checked: Docker is not on this host ({docker_host}); check it there",
            )
        ]
    checks = []
    for name, key, value, recommended, problem in (
        (
            "inotify",
            "fs.inotify.max_user_instances",
            instances,
            RECOMMENDED_INSTANCES,
            inotify_problem(instances, local_docker=True),
        ),
        (
            "inotify-watches",
            "fs.inotify.max_user_watches",
            watches,
            RECOMMENDED_WATCHES,
            watches_problem(watches, local_docker=True),
        ),
    ):
        if value is None:
            checks.append(Check(name, Status.NOTE, f"cannot read {key} (not Linux?)"))
        elif problem:
            checks.append(Check(name, Status.WARN, problem, sysctl_fix(key, recommended)))
        else:
            checks.append(Check(name, Status.OK, f"{key} is {value} (>= {recommended})"))
    return checks


def read_sysctl(path: Path) -> int | None:
    """An integer kernel setting under /proc/sys, if it can be read."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def read_inotify_limit() -> int | None:
    """This host's inotify instance limit, if it can be read."""
    return read_sysctl(INOTIFY_INSTANCES)


def read_inotify_watches() -> int | None:
    """This host's inotify watch limit, if it can be read."""
    return read_sysctl(INOTIFY_WATCHES)
