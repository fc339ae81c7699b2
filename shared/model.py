"""The data model every part of logcast speaks: log lines, subscription events, task statuses.

Plain classes, no I/O. The gRPC adapter (:mod:`shared.convert`) maps them to and from protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final


class Stream(StrEnum):
    """Which output of the container a line came from (TTY containers are all ``stdout``)."""

    STDOUT = "stdout"
    STDERR = "stderr"


class TaskStatus(StrEnum):
    """The lifecycle of a task, as the contract names it."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"

    @property
    def is_final(self) -> bool:
        """True for the statuses a task ends in."""
        return self not in (TaskStatus.PENDING, TaskStatus.RUNNING)


class ConnectionState(StrEnum):
    """How the log stream of a task is flowing, as its subscribers are told.

    The worker says ``docker unreachable`` while it cannot read the container's log (and
    ``streaming`` once it can again); a master's relay adds its own link to the worker
    (``reconnecting``, ``worker unreachable``); a master shutting down tells its WebSocket
    clients ``master restarting`` before it closes (they reconnect); ``finished`` is never sent
    (the end is).
    """

    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    WORKER_UNREACHABLE = "worker unreachable"
    DOCKER_UNREACHABLE = "docker unreachable"
    MASTER_RESTARTING = "master restarting"
    FINISHED = "finished"


STDOUT: Final = Stream.STDOUT
STDERR: Final = Stream.STDERR

LINE_OVERHEAD: Final = 400
"""Bytes a kept line is charged besides twice its content, for queue limits: what it really
costs in memory (measured on the master: 831 bytes for a 200-character line -- the content, its
cached JSON form, the line object and its timestamp)."""


class LogLine:
    """One line of a task's output.

    ``seq`` is 0 until a :class:`shared.hub.LogHub` publishes the line; from then on every
    subscriber sees the line under the same ``seq``. ``truncated`` counts the bytes cut off
    the end of a line longer than the cap; ``unterminated`` marks a line that had no newline
    (the task's last output).
    """

    __slots__ = (
        "content",
        "packed",
        "seq",
        "stream",
        "timestamp",
        "truncated",
        "unterminated",
        "wire",
    )

    def __init__(
        self,
        seq: int,
        timestamp: str,
        stream: Stream,
        content: str,
        truncated: int = 0,
        unterminated: bool = False,
    ) -> None:
        self.seq = seq
        self.timestamp = timestamp
        self.stream = stream
        self.content = content
        self.truncated = truncated
        self.unterminated = unterminated
        self.wire: str | None = None  # cached wire encoding (JSON), set once published
        # on the first line of a published run: (lines, their protobuf columns), made once for
        # the worker's store and its gRPC stream (shared.convert.encode_run, batch_to_wire)
        self.packed: tuple[int, bytes] | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LogLine):
            return NotImplemented
        return (
            self.seq == other.seq
            and self.timestamp == other.timestamp
            and self.stream == other.stream
            and self.content == other.content
            and self.truncated == other.truncated
            and self.unterminated == other.unterminated
        )

    __hash__ = None  # type: ignore[assignment]  # mutable until published

    def __repr__(self) -> str:
        extra = ""
        if self.truncated:
            extra += f", truncated={self.truncated}"
        if self.unterminated:
            extra += ", unterminated=True"
        return (
            f"LogLine({self.seq}, {self.timestamp!r}, {self.stream.value}, "
            f"{self.content[:60]!r}{extra})"
        )

    @property
    def size(self) -> int:
        """Approximate memory in bytes, used for queue limits."""
        return 2 * len(self.content) + LINE_OVERHEAD


@dataclass(frozen=True, slots=True)
class Gap:
    """Lines ``from_seq``..``to_seq`` (inclusive) can no longer be had."""

    from_seq: int
    to_seq: int
    reason: str = "evicted"

    @property
    def count(self) -> int:
        """How many lines are missing."""
        return self.to_seq - self.from_seq + 1


@dataclass(frozen=True, slots=True)
class Dropped:
    """A slow subscriber lost ``count`` lines, ``from_seq``..``to_seq`` (inclusive)."""

    count: int
    from_seq: int
    to_seq: int


@dataclass(frozen=True, slots=True)
class TaskEnd:
    """The task ended with ``status`` (and ``exit_code`` when the container exited)."""

    status: TaskStatus
    exit_code: int | None = None
    error: str = ""


@dataclass(slots=True)
class Batch:
    """What a subscriber receives at once, always in this order:

    a connection ``state`` change, a ``gap`` (only at the start of a subscription),
    a ``dropped`` notice, the ``lines``, and the task's ``end`` after its last line.
    """

    lines: list[LogLine] = field(default_factory=list)
    gap: Gap | None = None
    dropped: Dropped | None = None
    end: TaskEnd | None = None
    state: ConnectionState | None = None
    newest: int | None = None  # a stream's first (empty) batch: the sender's newest seq then

    def __bool__(self) -> bool:
        return bool(
            self.lines
            or self.gap is not None
            or self.dropped is not None
            or self.end is not None
            or self.state is not None
        )


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """What to run: an image, a command, its environment, whether it gets a TTY, and the
    limits it asks for (None: the worker's default; 0: none; see :mod:`shared.limits`)."""

    task_id: str
    image: str
    command: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    tty: bool = False
    labels: tuple[tuple[str, str], ...] = ()
    memory: int | None = None  # bytes
    cpus: float | None = None
    pids_limit: int | None = None
    timeout: float | None = None  # seconds from the container's start


@dataclass(slots=True)
class TaskInfo:
    """What is known about one task."""

    task_id: str
    status: TaskStatus
    image: str = ""
    command: tuple[str, ...] = ()
    tty: bool = False
    exit_code: int | None = None
    error: str = ""
    worker: str = ""
    created_at: float = 0.0
    finished_at: float = 0.0
    lines: int = 0
    container_id: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    started_at: float = 0.0
    store_error: str = ""  # why some lines could not be stored (disk full, ...)
    expired: bool = False  # retention removed its log
    # the limits it runs with (0: none); the timeout counts from started_at
    memory: int = 0
    cpus: float = 0.0
    pids_limit: int = 0
    timeout: float = 0.0


SUMMARY_CHARS: Final = 1024


def summary(info: TaskInfo) -> TaskInfo:
    """``info`` with its command and error cut to about :data:`SUMMARY_CHARS` each (what lists
    and heartbeats carry: a task's command may be megabytes)."""
    command = info.command
    if sum(len(a) for a in command) > SUMMARY_CHARS:
        kept: list[str] = []
        room = SUMMARY_CHARS
        for arg in command:
            if room <= 0:
                break
            kept.append(arg[:room])
            room -= len(arg)
        kept.append(f"[... {sum(len(a) for a in command) - SUMMARY_CHARS} more characters]")
        command = tuple(kept)
    error = info.error
    if len(error) > SUMMARY_CHARS:
        error = error[:SUMMARY_CHARS] + " [...]"
    if command is info.command and error is info.error:
        return info
    return replace(info, command=command, error=error)


@dataclass(frozen=True, slots=True)
class WorkerSummary:
    """A worker as ``master workers`` lists it."""

    name: str
    address: str
    alive: bool
    running_tasks: int
    last_seen: float
    # the master's clock minus the worker's at its last heartbeat, in seconds (transit time
    # included); None: unknown (the worker does not send its time)
    clock_skew: float | None = None
