"""Task ids and worker names: checked before an id reaches Docker, a file path or a worker,
and before a worker's name reaches the master's registry, a label or a terminal."""

from __future__ import annotations

import re
import secrets

from shared.errors import InvalidRequest, InvalidTaskId, quoted

TASK_ID_PATTERN = r"task-[a-z0-9][a-z0-9_-]{0,62}"
"""``task-`` then 1 to 63 lowercase letters, digits, ``-`` or ``_`` (no ``/``, ``.``, NUL, ...)."""

_TASK_ID_RE = re.compile(TASK_ID_PATTERN)

WORKER_NAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,62}"
"""1 to 63 lowercase letters, digits, ``-`` or ``_``, the first a letter or a digit (what
``worker serve --name`` takes; the default, the host name, is made to fit)."""

_WORKER_NAME_RE = re.compile(WORKER_NAME_PATTERN)


def validate_task_id(task_id: object) -> str:
    """Return ``task_id`` unchanged if it is a valid task id, else raise :class:`InvalidTaskId`.

    The message quotes at most the first 40 characters of the rejected value, escaped.
    """
    if isinstance(task_id, str) and _TASK_ID_RE.fullmatch(task_id):
        return task_id
    raise InvalidTaskId(
        f"invalid task id {quoted(task_id)}: expected 'task-' followed by 1-63 lowercase "
        "letters, digits, '-' or '_' (for example task-123456)"
    )


def is_valid_task_id(task_id: object) -> bool:
    """True when :func:`validate_task_id` would accept ``task_id``."""
    return isinstance(task_id, str) and _TASK_ID_RE.fullmatch(task_id) is not None


def validate_worker_name(name: object) -> str:
    """Return ``name`` unchanged if it is a valid worker name, else raise
    :class:`InvalidRequest` (quoting at most 40 characters of it, escaped)."""
    if isinstance(name, str) and _WORKER_NAME_RE.fullmatch(name):
        return name
    raise InvalidRequest(
        f"invalid worker name {quoted(name)}: expected 1-63 lowercase letters, digits, '-' "
        "or '_', starting with a letter or a digit (for example build-host-1)"
    )


def new_task_id() -> str:
    """A fresh random id of the form ``task-123456``."""
    return f"task-{secrets.randbelow(900_000) + 100_000}"
