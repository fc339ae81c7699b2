"""API tokens and roles: who may do what on a master. Pure: no I/O.

A token is ``lct_<id>_<secret>``: ``id`` (12 hex digits) names it in lists and logs, the
secret (32 random bytes, base64url) is shown once when it is made and kept only as its
SHA-256 (a random 256-bit secret needs no slow hash). Roles nest: ``viewer`` reads tasks and
their logs, ``operator`` also runs and stops tasks, ``admin`` also manages tokens and sees
workers. A token may be limited to some tasks (by id, or by labels that must all match).

:class:`TokenBook` holds the records (the master keeps it in its state directory as JSON,
see :mod:`master.tokens`), makes and revokes tokens and turns a presented token into a
:class:`Principal`, or says exactly why not (:class:`Unauthenticated`).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from shared.errors import PermissionDenied, Unauthenticated

__all__ = [
    "PermissionDenied",
    "Principal",
    "Role",
    "Scope",
    "TokenBook",
    "TokenRecord",
    "Unauthenticated",
    "bearer",
]
Labels = Mapping[str, str] | Iterable[tuple[str, str]]  # a task's labels, either way
PREFIX = "lct_"
_TOKEN = re.compile(r"lct_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


class Role(enum.IntEnum):
    JOIN = 0  # joins a worker to the master (``master join-token``), nothing else
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {text!r} (viewer, operator, admin, join)") from None


@dataclass(frozen=True, slots=True)
class Scope:
    """The tasks a token may see: all (empty), or those with one of ``task_ids`` or with all
    of ``labels``."""

    task_ids: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def everything(self) -> bool:
        return not self.task_ids and not self.labels

    def allows(self, task_id: str, labels: Labels) -> bool:
        if self.everything or task_id in self.task_ids:
            return True
        if not self.labels:
            return False
        have = dict(labels)
        return all(have.get(k) == v for k, v in self.labels)

    def describe(self) -> str:
        parts = [*self.task_ids, *(f"{k}={v}" for k, v in self.labels)]
        return ",".join(parts) if parts else "all tasks"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a token's owner with its role and scope."""

    token_id: str
    user: str
    role: Role
    scope: Scope = field(default_factory=Scope)

    def require(self, role: Role, what: str) -> None:
        """Raise PermissionDenied unless this principal's role is at least ``role``."""
        if self.role < role:
            raise PermissionDenied(
                f"{what} needs the {role.label} role; token {self.token_id} ({self.user}) is "
                f"{self.role.label}"
            )

    def may_see(self, task_id: str, labels: Labels) -> bool:
        return self.scope.allows(task_id, labels)

    def require_task(self, task_id: str, labels: Labels) -> None:
        if not self.may_see(task_id, labels):
            raise PermissionDenied(
                f"token {self.token_id} ({self.user}) is limited to {self.scope.describe()}: "
                f"not {task_id}"
            )


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """What the master keeps of a token (never the token itself)."""

    token_id: str
    user: str
    role: Role
    created_at: float
    expires_at: float = 0.0  # 0: never
    revoked_at: float = 0.0  # 0: not revoked
    scope: Scope = field(default_factory=Scope)
    secret_sha256: str = ""

    def state(self, now: float) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and now >= self.expires_at:
            return "expired"
        return "active"

    def principal(self) -> Principal:
        """Who presents this token."""
        return Principal(self.token_id, self.user, self.role, self.scope)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["role"] = self.role.label
        out["scope"] = {"task_ids": list(self.scope.task_ids), "labels": dict(self.scope.labels)}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TokenRecord:
        scope = data.get("scope") or {}
        return cls(
            token_id=str(data["token_id"]),
            user=str(data["user"]),
            role=Role.parse(str(data["role"])),
            created_at=float(data["created_at"]),
            expires_at=float(data.get("expires_at", 0.0)),
            revoked_at=float(data.get("revoked_at", 0.0)),
            scope=Scope(
                tuple(scope.get("task_ids", ())),
                tuple(sorted(dict(scope.get("labels", {})).items())),
            ),
            secret_sha256=str(data["secret_sha256"]),
        )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header (None without one)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class TokenBook:
    """Every token of a master (see the module docstring)."""

    def __init__(self, records: Iterable[TokenRecord] = ()) -> None:
        self.records: dict[str, TokenRecord] = {r.token_id: r for r in records}

    def create(
        self,
        role: Role,
        user: str,
        now: float,
        *,
        expires_at: float = 0.0,
        scope: Scope | None = None,
        secret: str | None = None,
    ) -> tuple[TokenRecord, str]:
        """A new token: its record (kept) and the token itself (shown once)."""
        if not user or len(user) > 64 or not user.isprintable():
            raise ValueError("a token's user is 1-64 printable characters")
        token_id = secrets.token_hex(6)
        while token_id in self.records:
            token_id = secrets.token_hex(6)
        secret = secret or base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        record = TokenRecord(
            token_id,
            user,
            role,
            now,
            expires_at=expires_at,
            scope=scope or Scope(),
            secret_sha256=_digest(secret),
        )
        self.records[token_id] = record
        return record, f"{PREFIX}{token_id}_{secret}"

    def revoke(self, token_id: str, now: float) -> TokenRecord:
        record = self.records.get(token_id)
        if record is None:
            raise KeyError(token_id)
        if not record.revoked_at:
            record = self.records[token_id] = replace(record, revoked_at=now)
        return record

    def authenticate(self, token: str | None, now: float) -> Principal:
        """The principal of ``token``, or Unauthenticated saying why (never echoing it)."""
        if not token:
            raise Unauthenticated("no token (send Authorization: Bearer TOKEN, or log in)")
        match = _TOKEN.fullmatch(token.strip())
        if match is None:
            raise Unauthenticated("malformed token (expected lct_<id>_<secret>)")
        token_id, secret = match.groups()
        record = self.records.get(token_id)
        if record is None or not hmac.compare_digest(record.secret_sha256, _digest(secret)):
            raise Unauthenticated(f"unknown token {token_id}")
        state = record.state(now)
        if state != "active":
            raise Unauthenticated(f"token {token_id} is {state}")
        return record.principal()

    def to_json(self) -> dict[str, Any]:
        return {"tokens": [r.to_json() for r in self.records.values()]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TokenBook:
        return cls(TokenRecord.from_json(r) for r in data.get("tokens", []))
