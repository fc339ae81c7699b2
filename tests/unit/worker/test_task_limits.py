"""``worker serve``'s task limits: ``--task-*`` flags, the same keys in the TOML file and in
LOGCAST_* variables, refused alike when bad; and how limits become docker-py arguments."""

from __future__ import annotations

import os

import pytest

from shared.errors import ConfigError
from shared.limits import LimitPolicy, TaskLimits
from worker.cli import config_from_args, main, settings
from worker.docker_containers import resources

MiB = 1024**2


@pytest.fixture(autouse=True)
def no_outside_settings(tmp_path, monkeypatch):
    """No settings file of the user, no LOGCAST_* variable of the machine."""
    monkeypatch.setenv("LOGCAST_STATE_DIR", str(tmp_path))
    for key in list(os.environ):
        if key.startswith("LOGCAST_") and key != "LOGCAST_STATE_DIR":
            monkeypatch.delenv(key)


def policy(*argv: str) -> LimitPolicy:
    return config_from_args(settings("serve", list(argv)).namespace()).task_limits


def test_without_settings_the_worker_has_the_documented_defaults_and_no_maxima():
    assert policy() == LimitPolicy()
    assert policy().default == TaskLimits(memory=2048 * MiB, cpus=0.0, pids_limit=1024)


def test_flags_file_and_environment_all_set_limits(tmp_path, monkeypatch):
    (tmp_path / "worker.toml").write_text('task_pids_limit = 256\ntask_timeout_max = "1h"\n')
    monkeypatch.setenv("LOGCAST_TASK_TIMEOUT", "10m")
    monkeypatch.setenv("LOGCAST_TASK_CPUS_MAX", "4")
    got = policy("--task-memory", "512m", "--task-memory-max", "8g", "--task-cpus", "1.5")
    assert got.default == TaskLimits(memory=512 * MiB, cpus=1.5, pids_limit=256, timeout=600.0)
    assert got.maximum == TaskLimits(memory=8192 * MiB, cpus=4.0, timeout=3600.0)


def test_a_bad_flag_is_refused_by_argparse(capsys):
    with pytest.raises(SystemExit) as exc:
        settings("serve", ["--task-cpus", "lots"])
    assert exc.value.code == 2
    assert "argument --task-cpus: not a number of CPUs: 'lots'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("file", "env", "says"),
    [
        ('task_memory = "lots"\n', {}, "key 'task_memory': 'lots' refused: not a size"),
        ("task_cpus = -1\n", {}, "key 'task_cpus': -1 refused: CPUs must be 0"),
        ("", {"LOGCAST_TASK_PIDS_LIMIT": "-1"}, "LOGCAST_TASK_PIDS_LIMIT: '-1' refused"),
        ("", {"LOGCAST_TASK_TIMEOUT_MAX": "soon"}, "LOGCAST_TASK_TIMEOUT_MAX: 'soon' refused"),
    ],
)
def test_bad_values_from_the_file_or_the_environment_are_refused_alike(
    tmp_path, monkeypatch, file, env, says
):
    (tmp_path / "worker.toml").write_text(file)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=says):
        settings("serve", [])


def test_serve_refuses_a_default_above_its_maximum_before_it_starts(capsys):
    args = ["--task-timeout", "2h", "--task-timeout-max", "1h"]
    code = main(["serve", *args, "--docker-host", "unix:///nonexistent"])
    assert code == 2
    assert "--task-timeout 2h is above --task-timeout-max 1h" in capsys.readouterr().err


def test_limits_become_docker_create_arguments():
    limits = TaskLimits(memory=16 * MiB, cpus=1.5, pids_limit=20, timeout=2.0)
    assert resources(limits) == {
        "mem_limit": 16 * MiB,
        "memswap_limit": 16 * MiB,  # no swapping past the limit
        "nano_cpus": 1_500_000_000,
        "pids_limit": 20,
    }


def test_no_limit_is_no_argument_except_processes_which_say_unlimited():
    """-1: unlimited whatever the engine's own default process limit."""
    assert resources(TaskLimits()) == {"pids_limit": -1}
