"""tests/netns.py builds a private network of namespaces: hosts reach each other at their
addresses, not at each other's loopback, and nothing is left behind."""

from __future__ import annotations

import selectors
import subprocess
import sys
import time

import pytest

from tests.netns import Network, list_namespaces, network, skip_unless_possible

# A one-line echo server: binds HOST:0, prints its port, then echoes one line per connection.
SERVER = """
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
s.listen()
s.settimeout(30)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    with c:
        c.settimeout(5)
        c.sendall(c.makefile("rb").readline())
"""

# Connects to HOST:PORT, sends a line, prints what comes back; or prints the error's class name.
CLIENT = """
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3) as c:
        c.sendall(b"hello from " + sys.argv[3].encode() + b"\\n")
        print(c.makefile("rb").readline().decode().strip())
except OSError as e:
    print(type(e).__name__)
"""


@pytest.fixture(autouse=True)
def _needs_netns() -> None:
    skip_unless_possible()


def start_server(net: Network, host: str, bind: str) -> int:
    """Start the echo server in HOST bound to BIND; return its port."""
    proc = net.popen(host, [sys.executable, "-c", SERVER, bind], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=10):
            raise TimeoutError(f"echo server in {host} did not start")
    line = proc.stdout.readline()
    assert line.strip().isdigit(), f"echo server in {host} said {line!r} (rc {proc.poll()})"
    return int(line)


def connect(net: Network, host: str, address: str, port: int) -> str:
    """From HOST, send a line to ADDRESS:PORT; what came back, or the error's class name."""
    done = net.run(host, [sys.executable, "-c", CLIENT, address, str(port), host], timeout=10)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_hosts_talk_at_their_addresses_not_over_loopback() -> None:
    with network(["a", "b", "c"]) as net:
        names = net.namespaces
        assert set(names) <= set(list_namespaces())
        addresses = [net.address(h) for h in ("a", "b", "c")]
        assert len(set(addresses)) == 3
        assert all(a.startswith("10.213.") for a in addresses)

        a = net.address("a")
        port = start_server(net, "a", a)
        assert connect(net, "b", a, port) == "hello from b"
        assert connect(net, "c", a, port) == "hello from c"
        # b's and c's loopback are their own: a's server is not there
        assert connect(net, "b", "127.0.0.1", port) == "ConnectionRefusedError"

        # a server on a's loopback answers inside a only
        local = start_server(net, "a", "127.0.0.1")
        assert connect(net, "a", "127.0.0.1", local) == "hello from a"
        for other in ("b", "c"):
            assert connect(net, other, a, local) == "ConnectionRefusedError"
            assert connect(net, other, "127.0.0.1", local) == "ConnectionRefusedError"

        servers = list(net._procs)
        assert len(servers) == 2 and all(p.poll() is None for p in servers)

    # the servers were killed and every namespace is gone (with its veth ends and the bridge)
    assert all(p.poll() is not None for p in servers)
    assert not set(names) & set(list_namespaces())


def test_everything_is_removed_when_the_body_raises() -> None:
    started = time.monotonic()
    with pytest.raises(ZeroDivisionError), network(["x"]) as net:
        names = net.namespaces
        sleeper = net.popen("x", [sys.executable, "-c", "import time; time.sleep(60)"])
        1 / 0  # noqa: B018 - the body fails
    assert sleeper.poll() is not None
    assert not set(names) & set(list_namespaces())
    assert time.monotonic() - started < 10


def test_two_networks_at_once_do_not_collide() -> None:
    with network(["a"]) as one, network(["a"]) as two:
        assert not set(one.namespaces) & set(two.namespaces)
        assert one.run("a", ["true"], timeout=5).returncode == 0
        assert two.run("a", ["true"], timeout=5).returncode == 0
    assert not set(one.namespaces + two.namespaces) & set(list_namespaces())
