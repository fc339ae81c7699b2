"""Durations, sizes, task listing (filters, newest first, page tokens), summaries. Pure."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError, InvalidRequest
from shared.listing import TaskQuery, page_of, parse_label, parse_status
from shared.model import SUMMARY_CHARS, TaskInfo, TaskStatus, summary
from shared.units import format_size, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("1.5h", 5400)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "size"),
    [("1000", 1000), ("10m", 10 * 2**20), ("2GiB", 2 * 2**30), ("512MiB", 512 * 2**20),
     ("1.5k", 1536), ("2G", 2 * 2**30)],
)  # fmt: skip
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["", "7 days", "-1s", "1y"])
def test_a_bad_duration_says_what_is_expected(bad):
    with pytest.raises(ConfigError, match="not a duration"):
        parse_duration(bad)


@pytest.mark.parametrize("bad", ["", "2 gigs", "-5", "1PB"])
def test_a_bad_size_says_what_is_expected(bad):
    with pytest.raises(ConfigError, match="not a size"):
        parse_size(bad)


def test_sizes_format_back():
    assert format_size(2 * 2**30) == "2GiB"
    assert format_size(512 * 2**20) == "512MiB"
    assert format_size(1000) == "1000B"


def tasks(n: int) -> list[TaskInfo]:
    """Newest first: task n-1 (created last) .. task 0."""
    out = [
        TaskInfo(
            f"task-{i:03d}",
            TaskStatus.FAILED if i % 3 == 0 else TaskStatus.SUCCESS,
            created_at=1000.0 + i // 2,  # pairs share a creation time: the id breaks the tie
            labels={"job": "a" if i % 2 else "b"},
        )
        for i in range(n)
    ]
    return sorted(out, key=lambda t: (t.created_at, t.task_id), reverse=True)


def test_pages_are_exact_and_filtered():
    all_ = tasks(50)
    query = TaskQuery(limit=7)
    seen, token = [], ""
    while True:
        page, token = page_of(all_, TaskQuery(limit=7, page_token=token))
        seen += [t.task_id for t in page]
        if not token:
            break
    assert seen == [t.task_id for t in all_]
    failed_a, _ = page_of(all_, TaskQuery(frozenset({TaskStatus.FAILED}), (("job", "a"),), 100))
    assert [t.task_id for t in failed_a] == [
        t.task_id for t in all_ if t.status is TaskStatus.FAILED and t.labels["job"] == "a"
    ]
    assert page_of(all_, query)[0] == all_[:7]


def test_bad_listing_input_is_refused_clearly():
    with pytest.raises(InvalidRequest, match="one of: pending, running"):
        parse_status("done")
    with pytest.raises(InvalidRequest, match="KEY=VALUE"):
        parse_label("nolabel")
    assert parse_label("k=v=w") == ("k", "v=w")
    with pytest.raises(InvalidRequest, match="limit"):
        TaskQuery(limit=0)
    with pytest.raises(InvalidRequest, match="page token"):
        page_of(tasks(3), TaskQuery(page_token="garbage"))


def test_a_huge_command_is_summarised_for_lists_and_heartbeats():
    info = TaskInfo("task-1", TaskStatus.RUNNING, command=("sh", "-c", "x" * 1_100_000))
    cut = summary(info)
    assert sum(len(a) for a in cut.command) < SUMMARY_CHARS + 100
    assert cut.command[-1].startswith("[... ")
    assert summary(TaskInfo("task-2", TaskStatus.RUNNING, command=("ls",))).command == ("ls",)
