"""The worker's instance id: made once per data directory, kept, private."""

from __future__ import annotations

import stat

import pytest

from shared.errors import ConfigError
from worker.instance import FILE_NAME, instance_id


def test_made_once_then_read_again_owner_only(tmp_path):
    first = instance_id(tmp_path)
    assert len(first) == 32 and int(first, 16) >= 0
    path = tmp_path / FILE_NAME
    assert path.read_text() == first + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert instance_id(tmp_path) == first  # a restart: the same id
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # no temporary file left


def test_each_data_directory_has_its_own(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert instance_id(tmp_path / "a") != instance_id(tmp_path / "b")


def test_a_file_that_holds_no_id_is_refused_never_replaced(tmp_path):
    path = tmp_path / FILE_NAME
    path.write_text("not an id\n")
    with pytest.raises(ConfigError, match="does not hold a worker instance id"):
        instance_id(tmp_path)
    assert path.read_text() == "not an id\n"


def test_a_data_directory_it_cannot_write_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot create the worker's instance id"):
        instance_id(tmp_path / "missing")
