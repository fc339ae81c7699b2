"""Exceptions raised by logcast.

The tree::

    LogcastError
    ├── InvalidRequest       a request logcast cannot act on (bad arguments)
    │   └── InvalidTaskId    not of the form task-<lowercase letters, digits, - or _>
    ├── TaskNotFound         no such task (on this worker / known to this master)
    ├── LogExpired           the task's log was removed by retention
    ├── TaskExists           a task with that id already exists
    ├── TaskStartFailed      the task's container could not be created or started
    ├── DockerUnavailable    the Docker engine did not answer or refused the request
    │   └── ContainerGone    the task's container no longer exists (removed behind our back)
    ├── WorkerUnavailable    no live worker can take or serve the request
    └── ConfigError          a configuration that logcast refuses to run with

Every exception's message is meant to be shown to a user as is.
"""

from __future__ import annotations


class LogcastError(Exception):
    """Base class of every error logcast raises on purpose."""


class InvalidRequest(LogcastError, ValueError):
    """A request with arguments logcast cannot act on."""


class InvalidTaskId(InvalidRequest):
    """A task id that does not match the task id pattern."""


class TaskNotFound(LogcastError, LookupError):
    """No task with that id."""


class LogExpired(LogcastError):
    """The task's log was removed by retention (it is known, but has no lines any more)."""


class TaskExists(LogcastError):
    """A task with that id already exists."""


class TaskStartFailed(LogcastError):
    """The task's container could not be created or started (unknown image, bad command)."""


class DockerUnavailable(LogcastError):
    """The Docker engine could not be reached, or refused the request."""


class ContainerGone(DockerUnavailable):
    """The task's container no longer exists (removed behind logcast's back)."""


class WorkerUnavailable(LogcastError):
    """No live worker can take or serve the request."""


class ConfigError(LogcastError, ValueError):
    """A configuration logcast refuses to run with."""


class Unauthenticated(LogcastError):
    """No token, or one that is malformed, unknown, revoked or expired (gRPC UNAUTHENTICATED,
    HTTP 401)."""


class PermissionDenied(LogcastError):
    """A valid token whose role or scope does not allow the request (gRPC PERMISSION_DENIED,
    HTTP 403)."""


QUOTED_CHARS = 40
"""How much of a rejected value an error message repeats."""


def quoted(value: object) -> str:
    """A rejected value as an error message shows it: at most the first QUOTED_CHARS
    characters of a string, escaped (``repr``: no control character reaches a terminal), or
    the type's name of anything else."""
    if not isinstance(value, str):
        return type(value).__name__
    return repr(value[:QUOTED_CHARS] + ("..." if len(value) > QUOTED_CHARS else ""))
