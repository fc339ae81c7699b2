"""Listing tasks: filters, newest first, pages. Pure.

A page token names the last task of the previous page (its creation time and id), so pages
stay exact while new tasks arrive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from shared.errors import InvalidRequest
from shared.model import TaskInfo, TaskStatus

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class _ListRequest(Protocol):
    @property
    def status(self) -> Iterable[int]: ...
    @property
    def labels(self) -> Mapping[str, str]: ...
    @property
    def limit(self) -> int: ...
    @property
    def page_token(self) -> str: ...


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """Which tasks to list: any of ``statuses`` (none: all), having every label in
    ``labels``, at most ``limit``, after ``page_token``."""

    statuses: frozenset[TaskStatus] = frozenset()
    labels: tuple[tuple[str, str], ...] = ()
    limit: int = DEFAULT_LIMIT
    page_token: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}")

    @classmethod
    def from_pb(cls, request: _ListRequest) -> TaskQuery:
        """From a ListTasksRequest."""
        from shared.convert import status_from_pb

        return cls(
            statuses=frozenset(status_from_pb(s) for s in request.status),  # type: ignore[arg-type]
            labels=tuple(sorted(request.labels.items())),
            limit=request.limit or DEFAULT_LIMIT,
            page_token=request.page_token,
        )

    def matches(self, info: TaskInfo) -> bool:
        """Whether ``info`` passes the filters."""
        if self.statuses and info.status not in self.statuses:
            return False
        return all(info.labels.get(k) == v for k, v in self.labels)


def parse_status(text: str) -> TaskStatus:
    """A status name, or InvalidRequest naming the valid ones."""
    try:
        return TaskStatus(text.strip().lower())
    except ValueError:
        names = ", ".join(s.value for s in TaskStatus)
        raise InvalidRequest(f"unknown status {text!r} (one of: {names})") from None


def parse_label(text: str) -> tuple[str, str]:
    """``K=V`` as a pair, or InvalidRequest."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or len(key) > 128 or len(value) > 1024:
        raise InvalidRequest(f"a label is KEY=VALUE, got {text[:80]!r}")
    return key, value


def token_of(info: TaskInfo) -> str:
    """The page token that continues after ``info``."""
    return f"{info.created_at!r}/{info.task_id}"


def _position(token: str) -> tuple[float, str]:
    created, sep, task_id = token.partition("/")
    try:
        if not sep:
            raise ValueError
        return float(created), task_id
    except ValueError:
        raise InvalidRequest(f"invalid page token {token[:40]!r}") from None


def page_of(newest_first: Iterable[TaskInfo], query: TaskQuery) -> tuple[list[TaskInfo], str]:
    """The page ``query`` asks for from tasks sorted newest first (by creation time, then id,
    both descending), and the token of the next page ("" when this is the last)."""
    after = _position(query.page_token) if query.page_token else None
    page: list[TaskInfo] = []
    for info in newest_first:
        if after is not None and (info.created_at, info.task_id) >= after:
            continue
        if not query.matches(info):
            continue
        if len(page) == query.limit:
            return page, token_of(page[-1])
        page.append(info)
    return page, ""
