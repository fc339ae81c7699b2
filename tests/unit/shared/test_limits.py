"""Task limits: parsed as people write them, a worker's defaults and maxima applied to what a
task asks for, and carried over gRPC with "absent" kept apart from 0."""

from __future__ import annotations

import dataclasses
import math

import pytest

from shared.convert import info_from_pb, info_to_pb, spec_from_pb, spec_to_pb
from shared.errors import ConfigError, InvalidRequest
from shared.limits import (
    LIMITS,
    LimitPolicy,
    TaskLimits,
    parse_cpus,
    parse_memory,
    parse_pids_limit,
    parse_timeout,
)
from shared.model import TaskInfo, TaskSpec, TaskStatus
from shared.protos import logcast_pb2 as pb
from shared.units import format_duration, parse_duration

MiB = 1024**2
GiB = 1024**3


def spec(**limits: object) -> TaskSpec:
    return TaskSpec("task-1", "img", **limits)  # type: ignore[arg-type]


# ---------------------------------------------------------------- parsing


def test_sizes_and_durations_read_as_the_workers_other_flags():
    assert parse_memory("512m") == 512 * MiB
    assert parse_memory("2GiB") == 2 * GiB
    assert parse_memory("0") == 0
    assert parse_cpus("1.5") == 1.5
    assert parse_cpus("0") == 0.0
    assert parse_pids_limit("256") == 256
    assert parse_timeout("10m") == 600.0
    assert parse_timeout("90s") == 90.0
    assert parse_timeout("0") == 0.0


@pytest.mark.parametrize(
    ("parse", "text", "says"),
    [
        (parse_memory, "lots", "not a size"),
        (parse_memory, "1m", "minimum of 6MiB"),
        (parse_memory, "-5m", "not a size"),
        (parse_cpus, "one", "not a number of CPUs"),
        (parse_cpus, "-1", "at least 0.01"),
        (parse_cpus, "0.001", "at least 0.01"),
        (parse_cpus, "nan", "at least 0.01"),
        (parse_cpus, "inf", "at least 0.01"),
        (parse_pids_limit, "1.5", "not a number of processes"),
        (parse_pids_limit, "-1", ">= 0"),
        (parse_timeout, "10 minutes", "not a duration"),
        (parse_timeout, "-5s", "not a duration"),
    ],
)
def test_bad_values_are_refused_with_a_message(parse, text, says):
    with pytest.raises(ConfigError, match=says):
        parse(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(600, "10m"), (2, "2s"), (90, "90s"), (7200, "2h"), (1.5, "1.5s"), (0.25, "250ms")],
)
def test_durations_are_shown_as_they_are_written_and_read_back(seconds, text):
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


# ---------------------------------------------------------------- defaults and maxima

POLICY = LimitPolicy(
    default=TaskLimits(memory=64 * MiB, cpus=0.5, pids_limit=100, timeout=60.0),
    maximum=TaskLimits(memory=GiB, cpus=2.0, pids_limit=500, timeout=3600.0),
)


def test_a_task_that_asks_for_nothing_gets_the_defaults():
    assert POLICY.apply(spec()) == POLICY.default


def test_what_a_task_asks_for_within_the_maxima_is_what_it_gets():
    asked = spec(memory=512 * MiB, cpus=1.5, pids_limit=256, timeout=600.0)
    assert POLICY.apply(asked) == TaskLimits(512 * MiB, 1.5, 256, 600.0)
    at_the_max = spec(memory=GiB, cpus=2.0, pids_limit=500, timeout=3600.0)
    assert POLICY.apply(at_the_max) == POLICY.maximum


def test_each_limit_left_out_takes_its_own_default():
    assert POLICY.apply(spec(cpus=2.0)) == dataclasses.replace(POLICY.default, cpus=2.0)


@pytest.mark.parametrize(
    ("asked", "says"),
    [
        ({"memory": 2 * GiB}, "memory limit 2GiB is above this worker's maximum of 1GiB"),
        ({"cpus": 2.5}, "CPU limit 2.5 is above this worker's maximum of 2"),
        ({"pids_limit": 501}, "process limit 501 is above this worker's maximum of 500"),
        ({"timeout": 7200.0}, "timeout 2h is above this worker's maximum of 1h"),
    ],
)
def test_above_a_maximum_is_refused_naming_the_limit(asked, says):
    with pytest.raises(InvalidRequest, match=f"^{says}$"):
        POLICY.apply(spec(**asked))


@pytest.mark.parametrize("name", [limit.name for limit in LIMITS])
def test_no_limit_is_refused_where_there_is_a_maximum(name):
    with pytest.raises(InvalidRequest, match="none is above this worker's maximum"):
        POLICY.apply(spec(**{name: 0}))


def test_without_maxima_a_task_may_ask_for_anything_and_for_no_limit():
    policy = LimitPolicy()
    assert policy.apply(spec(memory=0, cpus=0.0, pids_limit=0, timeout=0.0)) == TaskLimits()
    big = spec(memory=64 * GiB, cpus=64.0, pids_limit=1 << 20, timeout=30 * 86400.0)
    assert policy.apply(big) == TaskLimits(64 * GiB, 64.0, 1 << 20, 30 * 86400.0)


def test_the_workers_defaults_without_flags():
    assert LimitPolicy().default == TaskLimits(memory=2 * GiB, cpus=0.0, pids_limit=1024)
    assert LimitPolicy().maximum == TaskLimits()


@pytest.mark.parametrize(
    ("asked", "says"),
    [
        ({"memory": MiB}, "below Docker's minimum"),
        ({"cpus": -1.0}, "at least 0.01"),
        ({"cpus": math.nan}, "at least 0.01"),
        ({"cpus": math.inf}, "at least 0.01"),
        ({"pids_limit": -3}, ">= 0"),
        ({"timeout": -1.0}, ">= 0 seconds"),
        ({"timeout": math.inf}, ">= 0 seconds"),
    ],
)
def test_values_out_of_range_are_refused_even_without_maxima(asked, says):
    """What a gRPC client sends is checked like what the CLI parses."""
    with pytest.raises(InvalidRequest, match=says):
        LimitPolicy().apply(spec(**asked))


@pytest.mark.parametrize(
    ("default", "maximum", "says"),
    [
        (TaskLimits(memory=2 * GiB), TaskLimits(memory=GiB), "--task-memory 2GiB is above"),
        (TaskLimits(cpus=4.0), TaskLimits(cpus=2.0), "--task-cpus 4 is above --task-cpus-max 2"),
    ],
)
def test_a_default_above_its_maximum_is_a_configuration_error(default, maximum, says):
    with pytest.raises(ConfigError, match=says):
        LimitPolicy(default=default, maximum=maximum)


def test_a_default_of_none_under_a_maximum_is_the_maximum():
    policy = LimitPolicy(default=TaskLimits(), maximum=TaskLimits(cpus=2.0, timeout=3600.0))
    got = policy.apply(spec())
    assert (got.cpus, got.timeout, got.memory) == (2.0, 3600.0, 0)


# ---------------------------------------------------------------- over gRPC


def test_a_spec_keeps_absent_apart_from_zero_over_grpc():
    """Absent: the worker's default; 0: no limit. An old client sends neither."""
    asked = spec(memory=512 * MiB, cpus=0.0, pids_limit=None, timeout=600.0)
    back = spec_from_pb(pb.TaskSpec.FromString(spec_to_pb(asked).SerializeToString()))
    assert back == asked
    old_client = pb.TaskSpec(task_id="task-1", image="img")
    got = spec_from_pb(old_client)
    assert (got.memory, got.cpus, got.pids_limit, got.timeout) == (None, None, None, None)


def test_a_tasks_info_carries_its_limits():
    info = TaskInfo(
        "task-1", TaskStatus.RUNNING, memory=16 * MiB, cpus=1.5, pids_limit=20, timeout=2.0
    )
    back = info_from_pb(pb.TaskInfo.FromString(info_to_pb(info).SerializeToString()))
    assert (back.memory, back.cpus, back.pids_limit, back.timeout) == (16 * MiB, 1.5, 20, 2.0)
