"""Task ids: checked before an id reaches Docker, a file path or a worker."""

from __future__ import annotations

import re
import secrets

from shared.errors import InvalidTaskId

TASK_ID_PATTERN = r"task-[a-z0-9][a-z0-9_-]{0,62}"
"""``task-`` then 1 to 63 lowercase letters, digits, ``-`` or ``_`` (no ``/``, ``.``, NUL, ...)."""

_TASK_ID_RE = re.compile(TASK_ID_PATTERN)
_SHOWN = 40  # how much of a rejected id an error message repeats


def validate_task_id(task_id: object) -> str:
    """Return ``task_id`` unchanged if it is a valid task id, else raise :class:`InvalidTaskId`.

    The message quotes at most the first 40 characters of the rejected value, escaped.
    """
    if isinstance(task_id, str) and _TASK_ID_RE.fullmatch(task_id):
        return task_id
    shown = (
        repr(task_id[:_SHOWN] + ("..." if len(task_id) > _SHOWN else ""))
        if isinstance(task_id, str)
        else type(task_id).__name__
    )
    raise InvalidTaskId(
        f"invalid task id {shown}: expected 'task-' followed by 1-63 lowercase letters, "
        "digits, '-' or '_' (for example task-123456)"
    )


def is_valid_task_id(task_id: object) -> bool:
    """True when :func:`validate_task_id` would accept ``task_id``."""
    return isinstance(task_id, str) and _TASK_ID_RE.fullmatch(task_id) is not None


def new_task_id() -> str:
    """A fresh random id of the form ``task-123456``."""
    return f"task-{secrets.randbelow(900_000) + 100_000}"
