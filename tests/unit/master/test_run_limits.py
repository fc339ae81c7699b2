"""``master run --memory --cpus --pids-limit --timeout``: parsed like the worker's flags, bad
values refused with exit 2, and absent limits left to the worker. Pure (a scripted client)."""

from __future__ import annotations

import asyncio

import pytest

from master.cli import _run, build_parser
from shared.model import TaskInfo, TaskSpec, TaskStatus


class RecordingClient:
    """Takes the spec ``master run`` submits."""

    def __init__(self) -> None:
        self.specs: list[TaskSpec] = []

    async def run(self, spec: TaskSpec) -> TaskInfo:
        self.specs.append(spec)
        return TaskInfo("task-123456", TaskStatus.RUNNING)


def submitted(*flags: str) -> TaskSpec:
    args = build_parser().parse_args(["run", "--image", "img", *flags, "--", "true"])
    client = RecordingClient()
    assert asyncio.run(_run(client, args)) == 0  # type: ignore[arg-type]
    return client.specs[0]


def test_limits_are_sent_in_bytes_cpus_processes_and_seconds(capsys):
    spec = submitted("--memory", "512m", "--cpus", "1.5", "--pids-limit", "256", "--timeout", "10m")
    assert (spec.memory, spec.cpus, spec.pids_limit, spec.timeout) == (
        512 * 1024**2,
        1.5,
        256,
        600.0,
    )
    assert capsys.readouterr().out == "task-123456\n"


def test_limits_not_given_are_left_to_the_worker():
    spec = submitted()
    assert (spec.memory, spec.cpus, spec.pids_limit, spec.timeout) == (None, None, None, None)


def test_zero_asks_for_no_limit():
    spec = submitted("--memory", "0", "--timeout", "0")
    assert (spec.memory, spec.timeout, spec.cpus) == (0, 0.0, None)


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--memory", "lots"], "argument --memory: not a size"),
        (["--memory", "1m"], "argument --memory: memory limit '1m' is below Docker's minimum"),
        (["--cpus", "two"], "argument --cpus: not a number of CPUs"),
        (["--cpus", "-1"], "argument --cpus: CPUs must be 0 (no limit) or at least 0.01"),
        (["--pids-limit", "1.5"], "argument --pids-limit: not a number of processes"),
        (["--timeout", "1y"], "argument --timeout: not a duration"),
    ],
)
def test_bad_values_exit_2_with_a_message(flags, says, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["run", "--image", "img", *flags, "--", "true"])
    assert exc.value.code == 2
    assert says in capsys.readouterr().err
