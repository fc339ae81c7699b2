"""Listen addresses: HOST:PORT parsing and the loopback-only default. Pure."""

from __future__ import annotations

import pytest

from shared.addresses import check_bind, split_hostport
from shared.errors import ConfigError


def test_a_non_loopback_bind_is_refused_with_a_clear_message():
    assert check_bind("127.0.0.1:0", insecure_expose=False, what="gRPC") == ("127.0.0.1", 0)
    assert check_bind("[::1]:8080", insecure_expose=False, what="HTTP") == ("::1", 8080)
    for address in ("0.0.0.0:8080", "10.1.2.3:50051", "[::]:8080"):
        with pytest.raises(ConfigError) as err:
            check_bind(address, insecure_expose=False, what="HTTP")
        assert "no authentication or TLS" in str(err.value)
        assert "--insecure-expose" in str(err.value)
    assert check_bind("0.0.0.0:8080", insecure_expose=True, what="HTTP") == ("0.0.0.0", 8080)


@pytest.mark.parametrize("bad", ["", "localhost", "host:port", "1.2.3.4:70000"])
def test_malformed_addresses_are_refused(bad):
    with pytest.raises(ConfigError):
        split_hostport(bad)
