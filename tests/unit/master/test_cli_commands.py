"""The CLI's own parsing of client commands and the list-tasks table. Pure (no master)."""

from __future__ import annotations

import pytest

from master.cli import build_parser, parse_labels
from master.config import MasterConfig
from master.presentation import labels_column
from shared.errors import InvalidRequest


def test_labels_are_validated_and_a_repeated_key_keeps_its_last_value():
    assert parse_labels(["team=a", "env=prod", "team=b", "empty="]) == (
        ("empty", ""),
        ("env", "prod"),
        ("team", "b"),
    )
    for bad in ["novalue", "=v", "k" * 129 + "=v"]:
        with pytest.raises(InvalidRequest):
            parse_labels([bad])


def test_the_labels_column_is_compact_and_bounded():
    assert labels_column({}) == ""
    assert labels_column({"z": "1", "a": "2"}) == "a=2,z=1"
    long = labels_column({f"k{i}": "v" * 10 for i in range(10)})
    assert len(long) == 40 and long.endswith("...")


def test_logs_defaults_and_flags():
    args = build_parser().parse_args(["logs", "task-123456"])
    assert (args.follow, args.tail, args.since_seq, args.output) == (False, None, None, "text")
    args = build_parser().parse_args(
        ["logs", "task-1", "-f", "--tail", "0", "--timestamps", "--output", "jsonl"]
    )
    assert (args.follow, args.tail, args.timestamps, args.output) == (True, 0, True, "jsonl")


@pytest.mark.parametrize(
    "argv",
    [
        ["logs", "task-1", "--tail", "5", "--since-seq", "3"],
        ["logs", "task-1", "--tail", "-1"],
        ["logs", "task-1", "--output", "yaml"],
        ["list-tasks", "--limit", "0"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_list_tasks_filters_parse():
    args = build_parser().parse_args(
        ["list-tasks", "--status", "success,failed", "--status", "lost", "--label", "k=v"]
    )
    assert args.status == ["success,failed", "lost"] and args.label == ["k=v"]
    assert args.limit == 100
    args = build_parser().parse_args(["run", "--image", "i", "--label", "a=b", "--", "true"])
    assert args.label == ["a=b"]


def test_doctor_checks_what_serve_would_use_by_default():
    defaults = MasterConfig()
    args = build_parser().parse_args(["doctor"])
    assert (args.grpc, args.http, args.state_dir) == (
        defaults.grpc_listen,
        defaults.http_listen,
        None,
    )
    assert (args.local_worker, args.json) == (False, False)
    args = build_parser().parse_args(["doctor", "--master", "m:1", "--local-worker", "--json"])
    assert (args.master, args.local_worker, args.json) == ("m:1", True, True)
