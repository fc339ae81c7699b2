"""Listen addresses: HOST:PORT parsing and the loopback-only default. Pure."""

from __future__ import annotations

import pytest

from shared.addresses import check_bind, join_hostport, split_hostport, validate_dial_address
from shared.errors import ConfigError, InvalidRequest


def test_a_non_loopback_bind_needs_tls_or_says_loudly_that_it_has_none(caplog):
    assert check_bind("127.0.0.1:0", insecure_expose=False, what="gRPC") == ("127.0.0.1", 0)
    assert check_bind("[::1]:8080", insecure_expose=False, what="HTTP") == ("::1", 8080)
    for address in ("0.0.0.0:8080", "10.1.2.3:50051", "[::]:8080"):
        with pytest.raises(ConfigError) as err:
            check_bind(address, insecure_expose=False, what="HTTP")
        assert "without TLS" in str(err.value) and "--tls-cert" in str(err.value)
        assert "--insecure-expose" in str(err.value)
        host, port = check_bind(address, insecure_expose=False, what="HTTP", tls=True)
        assert f"{host}:{port}".endswith(address.rsplit(":", 1)[1])
    assert caplog.records == []  # TLS: nothing to warn about
    assert check_bind("0.0.0.0:8080", insecure_expose=True, what="HTTP") == ("0.0.0.0", 8080)
    [warning] = caplog.records
    assert warning.levelname == "WARNING" and "INSECURE" in warning.getMessage()


@pytest.mark.parametrize(
    "bad", ["", "localhost", "host:port", "1.2.3.4:70000", "h:\u00b2", "h:\uff11\uff12"]
)
def test_malformed_addresses_are_refused(bad):
    with pytest.raises(ConfigError):
        split_hostport(bad)


@pytest.mark.parametrize(
    "good", ["127.0.0.1:50052", "[::1]:1", "build-host.example.org:65535", "worker_1:8"]
)
def test_an_address_a_worker_reports_is_host_and_port(good):
    assert validate_dial_address(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "nohost",
        "h:0",
        "h:65536",
        ":50052",
        "::1:50052",  # IPv6 needs brackets
        "[nope]:1",
        "unix:/tmp/x:1",
        "dns:///h:1",
        "a/b:1",
        "h x:1",
        "h\x1b[31m:1",
        "h:\uff11\uff12",  # digits to str.isdigit, not ASCII
        "h..x:1",
        "h" * 300 + ":1",
        None,
    ],
)
def test_anything_else_is_refused_escaped(bad):
    with pytest.raises(InvalidRequest) as err:
        validate_dial_address(bad)
    assert "expected HOST:PORT" in str(err.value) and len(str(err.value)) < 200
    assert "\x1b" not in str(err.value)


def test_an_address_joined_from_a_listen_address_can_be_dialled():
    """A worker listening on ``[::1]:0`` reports ``[::1]:PORT`` (gRPC cannot dial ``::1:PORT``)."""
    for listen in ("127.0.0.1:0", "[::1]:0", "localhost:0"):
        host, _ = split_hostport(listen)
        assert validate_dial_address(join_hostport(host, 50052)) == join_hostport(host, 50052)
    assert join_hostport("::1", 1) == "[::1]:1"
