"""Start-up checks of the host the worker runs on, with the fix for what they find."""

from __future__ import annotations

from pathlib import Path

INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
RECOMMENDED_INSTANCES = 1024


def inotify_advice(limit: int | None, *, local_docker: bool) -> str:
    """What to tell the operator about the inotify instance limit ("" when all is well).

    dockerd follows each container's json-file log with one inotify instance; past the
    per-user limit (128 by default, shared with every other root process) it falls back to
    polling the file, and lines reach viewers up to ~200 ms late.
    """
    if limit is None or not local_docker or limit >= RECOMMENDED_INSTANCES:
        return ""
    return (
        f"fs.inotify.max_user_instances is {limit}: dockerd can follow only about {limit} "
        "containers' logs promptly (beyond that it polls, and lines arrive late). To follow "
        f"more tasks at once: sysctl -w fs.inotify.max_user_instances={RECOMMENDED_INSTANCES} "
        f"(and add fs.inotify.max_user_instances={RECOMMENDED_INSTANCES} to /etc/sysctl.conf)"
    )


def read_inotify_limit() -> int | None:
    """This host's inotify instance limit, if it can be read."""
    try:
        return int(INOTIFY_INSTANCES.read_text().strip())
    except (OSError, ValueError):
        return None
