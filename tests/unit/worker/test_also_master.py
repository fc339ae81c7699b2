"""``worker serve --also-master``: other masters of the cluster to report to, as a repeatable
flag, a TOML list or a comma-separated variable, each address checked alike."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError
from tests.unit.worker.test_task_limits import no_outside_settings  # noqa: F401 (fixture)
from worker.cli import config_from_args, settings


def also(*argv: str) -> tuple[str, ...]:
    return config_from_args(settings("serve", list(argv)).namespace()).also_masters


def test_none_by_default_and_repeatable_as_a_flag():
    assert also() == ()
    got = also("--also-master", "10.0.0.2:50053", "--also-master", "m3.example:50053")
    assert got == ("10.0.0.2:50053", "m3.example:50053")


def test_the_file_and_the_environment_give_lists(tmp_path, monkeypatch):
    (tmp_path / "worker.toml").write_text('also_masters = ["10.0.0.2:50053"]\n')
    assert also() == ("10.0.0.2:50053",)
    monkeypatch.setenv("LOGCAST_ALSO_MASTERS", "10.0.0.3:1,10.0.0.4:2")
    assert also() == ("10.0.0.3:1", "10.0.0.4:2")


def test_a_bad_address_is_refused_wherever_it_comes_from(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit):
        settings("serve", ["--also-master", "http://m2/"])
    assert "argument --also-master: invalid address 'http://m2/'" in capsys.readouterr().err
    monkeypatch.setenv("LOGCAST_ALSO_MASTERS", "m2")
    with pytest.raises(ConfigError, match="LOGCAST_ALSO_MASTERS: 'm2' refused: invalid address"):
        settings("serve", [])
