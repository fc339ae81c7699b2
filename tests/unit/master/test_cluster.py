"""The master's CA: joins, renewals and the binding of worker names to keys (real files in a
temporary state directory; no network)."""

from __future__ import annotations

import stat

import pytest

from master.cluster import ClusterAuthority, replace_scope
from shared import pki
from shared.access import Principal, Role
from shared.errors import InvalidRequest, PermissionDenied

JOINER = Principal("t1", "join", Role.JOIN)


def request(name: str, key: bytes | None = None) -> tuple[bytes, bytes]:
    key = key or pki.new_key()
    return key, pki.signing_request(key, pki.worker_cn(name))


def test_the_ca_is_made_once_its_key_private_and_kept_across_restarts(tmp_path):
    first = ClusterAuthority(tmp_path)
    first.open()
    assert stat.S_IMODE((tmp_path / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "cluster.key").stat().st_mode) == 0o600
    again = ClusterAuthority(tmp_path)
    again.open()
    assert again.fingerprint == first.fingerprint
    assert again.master_identity() == first.master_identity()
    assert pki.check_issued(first.master_identity()[1], first.ca_cert).common_name == "master"
    other = ClusterAuthority(tmp_path / "elsewhere")
    other.open()
    assert other.fingerprint != first.fingerprint  # no CA shared between installs


def test_a_name_is_bound_to_the_key_it_first_joined_with(tmp_path):
    ca = ClusterAuthority(tmp_path)
    ca.open()
    key, csr = request("w1")
    cert = ca.join("w1", csr, JOINER)
    issued = pki.check_issued(cert, ca.ca_cert, key)
    assert ca.is_bound("w1", issued.key_id)
    # the same key again (a renewal, or the same worker joining again): fine
    assert pki.check_issued(ca.renew("w1", csr), ca.ca_cert, key).key_id == issued.key_id
    # another key under that name: not with a plain join token, nor as a renewal
    _, intruder = request("w1")
    with pytest.raises(PermissionDenied, match="joined before with another key"):
        ca.join("w1", intruder, JOINER)
    with pytest.raises(PermissionDenied, match="keep the key"):
        ca.renew("w1", intruder)
    # a restarted master knows the binding
    again = ClusterAuthority(tmp_path)
    again.open()
    assert again.is_bound("w1", issued.key_id)
    # a join token made for replacing w1 (a reinstall) may re-bind it
    replacer = Principal("t2", "join:w1", Role.JOIN, replace_scope("w1"))
    _, new_csr = request("w1")
    again.join("w1", new_csr, replacer)
    assert not again.is_bound("w1", issued.key_id)
    assert again.is_bound("w1", pki.read_request(new_csr)[1])


def test_a_request_must_name_the_worker_it_is_for(tmp_path):
    ca = ClusterAuthority(tmp_path)
    ca.open()
    _, csr = request("w2")
    with pytest.raises(InvalidRequest, match="names 'worker:w2', not 'worker:w1'"):
        ca.join("w1", csr, JOINER)
    with pytest.raises(InvalidRequest, match="invalid worker name"):
        ca.join("W[/]", csr, JOINER)
    with pytest.raises(InvalidRequest, match="not a certificate signing request"):
        ca.join("w1", b"junk", JOINER)
    with pytest.raises(InvalidRequest, match="over"):
        ca.join("w1", b"x" * 100_000, JOINER)


def test_certificates_live_as_long_as_configured_and_the_masters_renews(tmp_path):
    now = [1_000_000_000.0]
    ca = ClusterAuthority(tmp_path, worker_lifetime=600.0, master_lifetime=900.0)
    ca.open()
    key, csr = request("w1")
    issued = pki.check_issued(ca.join("w1", csr, JOINER), ca.ca_cert, key)
    assert issued.not_after - issued.not_before == pytest.approx(600.0 + 60.0, abs=2)
    first = ca.master_identity()
    assert ca.master_identity() == first  # not due yet
    ca.clock = lambda: now[0] + 10**10  # long after: re-issued, same key
    renewed = ca.master_identity()
    assert renewed[0] == first[0] and renewed[1] != first[1]
