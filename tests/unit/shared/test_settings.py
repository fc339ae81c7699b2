"""Settings from a TOML file, LOGCAST_* variables and flags (shared/settings.py). No I/O."""

from __future__ import annotations

import argparse

import pytest

from shared.cliutil import positive_int
from shared.errors import ConfigError
from shared.settings import REDACTED, parse_file, resolve


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="x serve")
    p.add_argument("--config", default=None)
    p.add_argument("--http", default="127.0.0.1:8080")
    p.add_argument("--worker-timeout", type=float, default=5.0)
    p.add_argument("--max-finished-tasks", type=positive_int, default=100)
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning"))
    p.add_argument("--local-worker", action="store_true")
    p.add_argument("--token", default="")
    return p


def test_flags_beat_the_environment_which_beats_the_file_which_beats_the_defaults():
    file = {"http": "127.0.0.1:9000", "worker_timeout": 7, "log_level": "debug"}
    env = {"LOGCAST_WORKER_TIMEOUT": "9.5", "LOGCAST_LOG_LEVEL": "warning", "OTHER": "x"}
    got = resolve(
        parser(),
        ["--log-level", "info"],
        env=env,
        file=file,
        file_path="/etc/x.toml",
        skip=("config",),
    )
    assert got.values["http"] == "127.0.0.1:9000"
    assert got.values["worker_timeout"] == 9.5
    assert got.values["log_level"] == "info"
    assert got.values["max_finished_tasks"] == 100
    assert got.sources == {
        "http": "file /etc/x.toml",
        "worker_timeout": "env LOGCAST_WORKER_TIMEOUT",
        "log_level": "flag --log-level",
        "max_finished_tasks": "default",
        "local_worker": "default",
        "token": "default",
    }
    assert "config" not in got.values


def test_a_flag_given_with_its_default_value_still_wins():
    got = resolve(parser(), ["--http", "127.0.0.1:8080"], env={"LOGCAST_HTTP": "127.0.0.1:1"})
    assert got.values["http"] == "127.0.0.1:8080"
    assert got.sources["http"] == "flag --http"


def test_booleans_from_the_file_and_the_environment():
    assert resolve(parser(), [], env={}, file={"local_worker": True}).values["local_worker"]
    for text, expected in (("1", True), ("yes", True), ("false", False), ("0", False)):
        env = {"LOGCAST_LOCAL_WORKER": text}
        assert resolve(parser(), [], env=env).values["local_worker"] is expected


@pytest.mark.parametrize(
    ("file", "env", "message"),
    [
        ({"htp": "x"}, {}, "/c.toml: unknown key 'htp'"),
        ({"worker_timeout": "soon"}, {}, "/c.toml: key 'worker_timeout': expected a number"),
        ({"max_finished_tasks": 0}, {}, "key 'max_finished_tasks': expected an integer >= 1"),
        ({"max_finished_tasks": 2.5}, {}, "key 'max_finished_tasks': expected an integer"),
        ({"log_level": "loud"}, {}, "key 'log_level': 'loud' is not one of debug, info"),
        ({"local_worker": "maybe"}, {}, "key 'local_worker': expected true or false"),
        ({"http": 8080}, {}, None),  # a number where a string is wanted is taken as its text
        ({}, {"LOGCAST_WORKER_TIMEOUT": "x"}, "environment variable LOGCAST_WORKER_TIMEOUT"),
    ],
)
def test_bad_values_are_refused_naming_the_key_and_where_it_came_from(file, env, message):
    if message is None:
        assert resolve(parser(), [], env=env, file=file, file_path="/c.toml").values["http"]
        return
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        resolve(parser(), [], env=env, file=file, file_path="/c.toml")


def test_a_file_that_is_not_toml_is_refused_with_its_path():
    with pytest.raises(ConfigError, match=r"/c\.toml: not valid TOML"):
        parse_file("http = \n", "/c.toml")
    assert parse_file('http = "127.0.0.1:1"\n', "/c.toml") == {"http": "127.0.0.1:1"}


def test_secrets_are_redacted_when_printed():
    got = resolve(parser(), ["--token", "s3cret"], env={})
    rows = {key: (value, source) for key, value, source in got.rows()}
    assert rows["token"] == (REDACTED, "flag --token")
    assert rows["http"] == ("127.0.0.1:8080", "default")
    assert "s3cret" not in repr(got.rows())
