"""Task resource limits: what a task may use (memory, CPUs, processes, run time), parsed as
people write it, and a worker's defaults and maxima applied to what a task asks for. Pure.

Everywhere here 0 means "no limit" (as Docker's own 0), and for a maximum "no maximum". A
task that asks for nothing gets the worker's default; one that asks for more than the worker's
maximum (or for no limit where there is a maximum) is refused with
:class:`~shared.errors.InvalidRequest` naming the limit, before any container exists.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.errors import ConfigError, InvalidRequest
from shared.model import TaskSpec
from shared.units import format_duration, format_size, parse_duration, parse_size

MIN_MEMORY = 6 * 1024**2
"""Docker refuses a smaller memory limit."""

MIN_CPUS = 0.01
"""Docker's smallest CPU share (``--cpus 0.01``)."""


def parse_memory(text: str) -> int:
    """A memory limit in bytes: a size (``512m``, ``2GiB``), 0 for none, else at least 6 MiB."""
    value = parse_size(text)
    if 0 < value < MIN_MEMORY:
        raise ConfigError(f"memory limit {text!r} is below Docker's minimum of 6MiB")
    return value


def parse_cpus(text: str) -> float:
    """CPUs a task may use (``1.5``), 0 for no limit, else at least 0.01."""
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"not a number of CPUs: {text!r} (examples: 0.5, 1, 2.5)") from None
    check_cpus(value)
    return value


def parse_pids_limit(text: str) -> int:
    """Processes (and threads) a task may have at once, 0 for no limit."""
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"not a number of processes: {text!r} (example: 256)") from None
    if value < 0:
        raise ConfigError(f"a process limit must be >= 0 (0: none), got {value}")
    return value


def parse_timeout(text: str) -> float:
    """Seconds a task may run (``90s``, ``10m``, ``2h``), 0 for no limit."""
    return parse_duration(text)


def check_cpus(value: float) -> None:
    """Raise ConfigError unless ``value`` is 0 or a finite number >= :data:`MIN_CPUS`."""
    if not math.isfinite(value) or value < 0 or 0 < value < MIN_CPUS:
        raise ConfigError(f"CPUs must be 0 (no limit) or at least {MIN_CPUS}, got {value}")


@dataclass(frozen=True, slots=True)
class TaskLimits:
    """The limits of one task (or a worker's defaults, or its maxima); 0: none."""

    memory: int = 0  # bytes
    cpus: float = 0.0
    pids_limit: int = 0
    timeout: float = 0.0  # seconds from the container's start


@dataclass(frozen=True, slots=True)
class _Limit:
    """How one limit is named, shown and checked."""

    name: str  # the TaskLimits / TaskSpec field
    what: str  # for messages
    flag: str  # the worker's flag of its default (its maximum: FLAG-max)
    show: Callable[[float], str]
    check: Callable[[float], None]


def _show_cpus(value: float) -> str:
    return f"{value:g}"


def _check_memory(value: float) -> None:
    if value < 0 or 0 < value < MIN_MEMORY:
        raise InvalidRequest(
            f"memory limit {format_size(int(value))} is below Docker's minimum of 6MiB"
        )


def _check_count(value: float) -> None:
    if value < 0:
        raise InvalidRequest(f"a process limit must be >= 0, got {value}")


def _check_timeout(value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise InvalidRequest(f"a timeout must be >= 0 seconds, got {value}")


def _check_cpus(value: float) -> None:
    try:
        check_cpus(value)
    except ConfigError as exc:
        raise InvalidRequest(str(exc)) from None


LIMITS = (
    _Limit("memory", "memory limit", "--task-memory", lambda v: format_size(int(v)), _check_memory),
    _Limit("cpus", "CPU limit", "--task-cpus", _show_cpus, _check_cpus),
    _Limit("pids_limit", "process limit", "--task-pids-limit", lambda v: str(int(v)), _check_count),
    _Limit("timeout", "timeout", "--task-timeout", format_duration, _check_timeout),
)


def _default_limits() -> TaskLimits:
    # no CPU cap by default: a task runs as fast as with `docker run` on an idle host; memory
    # and processes are capped, which protects the host at no cost to a well-behaved task
    return TaskLimits(memory=2 * 1024**3, cpus=0.0, pids_limit=1024, timeout=0.0)


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    """A worker's limits: ``default`` for what a task does not ask, ``maximum`` for what it
    may ask (0: no maximum). A default of none (0) under a maximum is that maximum. Refuses
    (ConfigError) a default above its maximum."""

    default: TaskLimits = field(default_factory=_default_limits)
    maximum: TaskLimits = field(default_factory=TaskLimits)

    def __post_init__(self) -> None:
        for limit in LIMITS:
            value = getattr(self.default, limit.name)
            most = getattr(self.maximum, limit.name)
            if most and value > most:
                raise ConfigError(
                    f"{limit.flag} {limit.show(value)} is above {limit.flag}-max "
                    f"{limit.show(most)}: set {limit.flag} to at most that"
                )

    def apply(self, spec: TaskSpec) -> TaskLimits:
        """The limits ``spec`` runs with: what it asks for, else the default. Raises
        InvalidRequest for a value out of range or above the maximum (naming the limit)."""
        values: dict[str, float] = {}
        for limit in LIMITS:
            asked = getattr(spec, limit.name)
            if asked is None:
                # the default; none (0) under a maximum is the maximum
                default = getattr(self.default, limit.name)
                values[limit.name] = default or getattr(self.maximum, limit.name)
                continue
            limit.check(asked)
            most = getattr(self.maximum, limit.name)
            if most and (not asked or asked > most):
                shown = limit.show(asked) if asked else "none"
                raise InvalidRequest(
                    f"{limit.what} {shown} is above this worker's maximum of {limit.show(most)}"
                )
            values[limit.name] = asked
        return TaskLimits(
            memory=int(values["memory"]),
            cpus=float(values["cpus"]),
            pids_limit=int(values["pids_limit"]),
            timeout=float(values["timeout"]),
        )
