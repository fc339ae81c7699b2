"""The master's caps on open WebSocket connections, in all and per client address. Pure."""

from __future__ import annotations

import pytest

from master.connection_caps import ConnectionCaps


def test_one_address_gets_its_share_and_no_more_while_others_still_get_in():
    caps = ConnectionCaps(total=10, per_address=2)
    assert caps.admit("10.0.0.1") is None and caps.admit("10.0.0.1") is None
    refusal = caps.admit("10.0.0.1")
    assert refusal is not None and "10.0.0.1" in refusal and "2 per client address" in refusal
    assert caps.from_address("10.0.0.1") == 2 and caps.open == 2  # a refusal counts nothing
    assert caps.admit("10.0.0.2") is None
    caps.release("10.0.0.1")
    assert caps.admit("10.0.0.1") is None  # a closed connection frees its place


def test_the_total_cap_holds_across_addresses():
    caps = ConnectionCaps(total=3, per_address=100)
    for i in range(3):
        assert caps.admit(f"10.0.0.{i}") is None
    refusal = caps.admit("10.0.0.9")
    assert refusal is not None and "limit is 3" in refusal
    caps.release("10.0.0.0")
    assert caps.open == 2 and caps.from_address("10.0.0.0") == 0
    assert caps.admit("10.0.0.9") is None


def test_bad_caps_are_refused_and_zero_per_address_means_no_cap():
    with pytest.raises(ValueError):
        ConnectionCaps(total=0, per_address=1)
    with pytest.raises(ValueError):
        ConnectionCaps(total=1, per_address=-1)
    caps = ConnectionCaps(total=1000, per_address=0)  # a proxy's, or a benchmark's, viewers
    assert all(caps.admit("127.0.0.1") is None for _ in range(1000))
    assert caps.admit("127.0.0.1") is not None  # the total cap still holds
