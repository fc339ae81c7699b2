"""Certificates of the master<->worker link: issuing, checking, join tokens. Pure."""

from __future__ import annotations

import pytest

from shared import pki


def test_a_worker_certificate_is_the_cas_for_the_workers_key_and_name():
    ca_key, ca = pki.new_ca("test CA")
    key = pki.new_key()
    csr = pki.signing_request(key, pki.worker_cn("w1"))
    assert pki.read_request(csr)[0] == "worker:w1"
    cert = pki.issue(ca_key, ca, csr, pki.worker_cn("w1"), pki.worker_dns("w1"), 3600)
    issued = pki.check_issued(cert, ca, key)
    assert issued.common_name == "worker:w1"
    assert 3500 < issued.not_after - issued.not_before - 300 <= 3600  # (5 min of slack before)
    short = pki.check_issued(pki.issue(ca_key, ca, csr, "worker:w1", "w1", 6), ca, key)
    assert short.not_after - short.not_before == pytest.approx(6.6, abs=1.1)  # slack: 10%
    assert issued.key_id == pki.read_request(csr)[1]  # bound to the key of its request


def test_a_certificate_from_another_ca_or_for_another_key_does_not_hold():
    ca_key, ca = pki.new_ca("ours")
    other_key, other = pki.new_ca("theirs")
    key = pki.new_key()
    theirs = pki.issue(other_key, other, key, "worker:w1", pki.worker_dns("w1"), 60)
    with pytest.raises(pki.CertificateError, match="not issued by this CA"):
        pki.check_issued(theirs, ca, key)
    ours = pki.issue(ca_key, ca, key, "worker:w1", pki.worker_dns("w1"), 60)
    with pytest.raises(pki.CertificateError, match="not for this key"):
        pki.check_issued(ours, ca, pki.new_key())


def test_garbage_is_refused_with_a_clear_error():
    with pytest.raises(pki.CertificateError, match="not a certificate signing request"):
        pki.read_request(b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n")
    with pytest.raises(pki.CertificateError, match="not a certificate"):
        pki.describe(b"hello")


def test_renewal_is_due_after_two_thirds_of_the_lifetime():
    issued = pki.Issued("worker:w1", 1, not_before=1000.0, not_after=4000.0, key_id="k")
    assert not pki.renew_due(issued, 2999.0)
    assert pki.renew_due(issued, 3000.0)


def test_a_join_token_carries_the_pin_of_the_ca_and_a_token():
    _, ca = pki.new_ca("test CA")
    token = "lct_0123456789ab_" + "A" * 43
    joined = pki.join_token(pki.fingerprint(ca), token)
    assert pki.parse_join_token(joined) == (pki.fingerprint(ca), token)
    for bad in ("", token, joined[:-1], joined.replace("lcj1_", "lcj2_"), "lcj1_zz_" + token):
        with pytest.raises(ValueError, match="malformed join token"):
            pki.parse_join_token(bad)
