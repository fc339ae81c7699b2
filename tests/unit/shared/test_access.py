"""Tokens, roles, scopes and browser sessions (shared/access.py, shared/sessions.py). No I/O."""

from __future__ import annotations

import pytest

from shared.access import (
    PermissionDenied,
    Principal,
    Role,
    Scope,
    TokenBook,
    Unauthenticated,
    bearer,
)
from shared.sessions import Sessions, cookie_value, set_cookie


def test_a_token_is_shown_once_kept_as_a_hash_and_authenticates_its_owner():
    book = TokenBook()
    record, token = book.create(Role.OPERATOR, "ana", 100.0)
    assert token.startswith(f"lct_{record.token_id}_")
    assert token.split("_", 2)[2] not in repr(book.to_json())  # only the hash is kept
    who = TokenBook.from_json(book.to_json()).authenticate(token, 101.0)  # survives a reload
    assert (who.user, who.role, who.token_id) == ("ana", Role.OPERATOR, record.token_id)


@pytest.mark.parametrize(
    ("presented", "reason"),
    [
        (None, "no token"),
        ("", "no token"),
        ("Bearer x", "malformed"),
        ("lct_0123456789ab_" + "A" * 43, "unknown token 0123456789ab"),
    ],
)
def test_bad_tokens_are_refused_saying_why_and_never_echoed(presented, reason):
    book = TokenBook()
    book.create(Role.ADMIN, "owner", 0.0)
    with pytest.raises(Unauthenticated, match=reason) as err:
        book.authenticate(presented, 1.0)
    if presented and len(presented) > 20:
        assert presented.split("_", 2)[2] not in str(err.value)


def test_a_wrong_secret_expired_and_revoked_tokens_are_refused():
    book = TokenBook()
    record, token = book.create(Role.VIEWER, "v", 0.0, expires_at=50.0)
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(Unauthenticated, match="unknown token"):
        book.authenticate(wrong, 1.0)
    assert book.authenticate(token, 49.0).role is Role.VIEWER
    with pytest.raises(Unauthenticated, match="is expired"):
        book.authenticate(token, 50.0)
    other, token2 = book.create(Role.ADMIN, "a", 0.0)
    book.revoke(other.token_id, 10.0)
    with pytest.raises(Unauthenticated, match="is revoked"):
        book.authenticate(token2, 11.0)
    assert book.records[other.token_id].state(11.0) == "revoked"
    assert record.state(1.0) == "active"


def test_roles_nest_viewer_operator_admin():
    viewer = Principal("id", "v", Role.VIEWER)
    viewer.require(Role.VIEWER, "reading a log")
    with pytest.raises(PermissionDenied, match="running a task needs the operator role"):
        viewer.require(Role.OPERATOR, "running a task")
    Principal("id", "a", Role.ADMIN).require(Role.OPERATOR, "running a task")


def test_a_scoped_token_sees_its_tasks_by_id_or_by_every_label():
    scope = Scope(("task-aaaaaa",), (("job", "nightly"), ("team", "web")))
    who = Principal("id", "v", Role.VIEWER, scope)
    assert who.may_see("task-aaaaaa", {})
    assert who.may_see("task-bbbbbb", {"job": "nightly", "team": "web", "x": "1"})
    assert not who.may_see("task-bbbbbb", {"job": "nightly"})
    assert not who.may_see("task-bbbbbb", [("job", "hourly"), ("team", "web")])
    with pytest.raises(PermissionDenied, match="limited to task-aaaaaa,job=nightly,team=web"):
        who.require_task("task-cccccc", {})
    assert Principal("id", "v", Role.VIEWER).may_see("task-cccccc", {})


def test_bearer_headers():
    assert bearer("Bearer abc") == "abc"
    assert bearer("bearer  abc ") == "abc"
    assert bearer("Basic abc") is None
    assert bearer("Bearer ") is None
    assert bearer(None) is None


def test_login_codes_are_single_use_and_expire():
    sessions = Sessions(b"k" * 32, code_ttl=10.0)
    who = Principal("id", "owner", Role.ADMIN)
    code = sessions.login_code(who, 0.0)
    assert sessions.redeem(code, 1.0) == who
    assert sessions.redeem(code, 1.0) is None  # used
    late = sessions.login_code(who, 0.0)
    assert sessions.redeem(late, 10.0) is None  # expired


def test_session_cookies_are_signed_expire_and_end_at_logout():
    sessions = Sessions(b"k" * 32, session_ttl=100.0)
    cookie = sessions.open(Principal("abc123", "owner", Role.ADMIN), 0.0)
    assert sessions.token_id(cookie, 50.0) == "abc123"
    assert Sessions(b"k" * 32).token_id(cookie, 50.0) == "abc123"  # another run, same key
    assert Sessions(b"x" * 32).token_id(cookie, 50.0) is None  # another master's key
    forged = cookie.replace("abc123", "fff999")
    assert sessions.token_id(forged, 50.0) is None
    assert sessions.token_id(cookie, 100.0) is None  # expired
    sessions.close(cookie)
    assert sessions.token_id(cookie, 50.0) is None
    assert sessions.token_id("garbage", 1.0) is None


def test_cookie_headers():
    header = set_cookie("v1")
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/" in header
    assert cookie_value("a=1; logcast_session=v1; b=2") == "v1"
    assert cookie_value("a=1") is None
