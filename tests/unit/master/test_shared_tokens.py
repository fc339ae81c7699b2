"""Two masters on one state directory (`worker serve --also-master`) share its token file: a
token made or revoked on one is known to the other at its next check, and neither loses the
other's tokens when it writes the file (real files in a temporary directory)."""

from __future__ import annotations

import pytest

from master.access import MasterAccess
from shared.access import Role
from shared.errors import Unauthenticated


def two(tmp_path) -> tuple[MasterAccess, MasterAccess]:
    a, b = MasterAccess(tmp_path), MasterAccess(tmp_path)
    a.open()
    b.open()
    return a, b


def test_a_token_made_on_one_master_is_good_on_the_other(tmp_path):
    a, b = two(tmp_path)
    assert a.owner_token == b.owner_token
    _, token = a.create(Role.VIEWER, "alice")
    assert b.authenticate(token).user == "alice"


def test_a_token_revoked_on_one_master_is_refused_by_the_other(tmp_path):
    a, b = two(tmp_path)
    record, token = a.create(Role.OPERATOR, "bob")
    assert b.authenticate(token).user == "bob"
    a.revoke(record.token_id)
    with pytest.raises(Unauthenticated, match="revoked"):
        b.authenticate(token)


def test_tokens_made_on_both_masters_are_all_kept(tmp_path):
    a, b = two(tmp_path)
    _, on_a = a.create(Role.VIEWER, "alice")
    _, on_b = b.create(Role.VIEWER, "carol")  # b has not checked a token since a wrote
    again = MasterAccess(tmp_path)
    again.open()
    assert {again.authenticate(t).user for t in (on_a, on_b)} == {"alice", "carol"}


def test_a_broken_token_file_keeps_the_tokens_in_memory(tmp_path, caplog):
    a, b = two(tmp_path)
    _, token = a.create(Role.VIEWER, "alice")
    assert b.authenticate(token).user == "alice"
    a.tokens_path.write_text("{not json")
    assert b.authenticate(token).user == "alice"
    assert "not a token list" in caplog.text
