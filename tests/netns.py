"""A private multi-host network on this Linux machine, built out of network namespaces.

``network(["master", "w1", "w2", "client"])`` creates, for the duration of a ``with`` block:

- one "hub" namespace holding a Linux bridge (the network's switch);
- one namespace per host, joined to the bridge by a veth pair, with loopback up and one private
  address on a /24 chosen at random per call (``10.213.X.0/24``; the hosts get ``.1``, ``.2``, ...
  in the order given).

Each host sees only its own loopback and its own address: a server bound to ``127.0.0.1`` in one
host cannot be reached from another, so a test proves its parts talk over real addresses.
Namespace and interface names carry a random suffix, so parallel runs and leftovers of a killed
run never collide. On exit (even when the body raised) the processes started with
:meth:`Network.popen` are killed and every namespace is deleted (which deletes its veth ends and
the bridge); nothing is left in the machine's own namespace, where nothing is ever created.

Only the network is private: the filesystem (and with it the Docker unix socket,
``/var/run/docker.sock``) is shared with the namespaces, so processes in them can use Docker,
read and write the test's temporary files, and run the venv's programs as usual.

Needs the ``ip`` binary (Debian: iproute2, installed by ``scripts/setup``) and root (or
CAP_NET_ADMIN and CAP_SYS_ADMIN). When they are missing, :func:`network` raises
:class:`NetnsUnavailable`; :func:`skip_unless_possible` turns that into a pytest skip (a failure
under CI, which runs as root and must really run these tests). Every ``ip`` call has a timeout.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import IO, Any

import pytest

__all__ = [
    "IP_TIMEOUT",
    "NetnsUnavailable",
    "Network",
    "list_namespaces",
    "network",
    "skip_unless_possible",
    "unavailable_reason",
]

IP_TIMEOUT = 10.0
"""Seconds any single ``ip`` call may take."""
_KILL_TIMEOUT = 10.0
_HOST_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_MAX_HOSTS = 250
_File = int | IO[Any] | None


class NetnsUnavailable(RuntimeError):
    """This machine (or this user) cannot create network namespaces."""


@cache
def _ip_binary() -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return shutil.which("ip", path=path)


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``ip ARGS``; raise RuntimeError (with ip's stderr) when it fails."""
    ip = _ip_binary()
    if ip is None:
        raise NetnsUnavailable("no `ip` binary (Debian: apt-get install iproute2)")
    try:
        done = subprocess.run(
            [ip, *args],
            capture_output=True,
            text=True,
            timeout=IP_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as e:
        raise RuntimeError(f"`ip {' '.join(args)}` took more than {IP_TIMEOUT}s") from e
    if done.returncode != 0:
        raise RuntimeError(f"`ip {' '.join(args)}` failed ({done.returncode}): {done.stderr}")
    return done


def list_namespaces() -> list[str]:
    """The names ``ip netns list`` shows now."""
    out = _ip("netns", "list").stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


@cache
def unavailable_reason() -> str | None:
    """Why namespaces cannot be created here, or None when they can (probed once, then cached)."""
    if _ip_binary() is None:
        return "no `ip` binary (Debian: apt-get install iproute2)"
    probe = f"lcprobe-{secrets.token_hex(4)}"
    try:
        _ip("netns", "add", probe)
    except RuntimeError as e:
        return (
            f"cannot create a network namespace as uid {os.geteuid()} "
            f"(needs root, with CAP_SYS_ADMIN and CAP_NET_ADMIN): {e}"
        )
    try:
        _ip("netns", "delete", probe)
    except RuntimeError as e:
        return f"cannot delete a network namespace: {e}"
    return None


def skip_unless_possible() -> None:
    """Skip the calling test when namespaces cannot be created here; under CI, fail instead."""
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"network namespaces are needed under CI: {reason}", pytrace=False)
    pytest.skip(f"network namespaces unavailable: {reason}")


class Network:
    """The hosts of one :func:`network` call: their addresses and namespaces; runs commands there.

    Processes started with :meth:`popen` are tracked and killed (with their process group) when
    the network is torn down.
    """

    def __init__(self, suffix: str, hosts: Sequence[str], subnet: ipaddress.IPv4Network) -> None:
        self.suffix = suffix
        self.subnet = subnet
        self.hub = f"lc-{suffix}-hub"
        self.bridge = f"lb{suffix}"
        self._hosts = list(hosts)
        self._namespaces = {h: f"lc-{suffix}-{h}" for h in hosts}
        self._addresses = {h: str(subnet.network_address + i + 1) for i, h in enumerate(hosts)}
        self._procs: list[subprocess.Popen[str]] = []

    @property
    def hosts(self) -> list[str]:
        return list(self._hosts)

    @property
    def namespaces(self) -> list[str]:
        """Every namespace of this network: the hub's first, then each host's."""
        return [self.hub, *self._namespaces.values()]

    def address(self, host: str) -> str:
        """The host's IPv4 address, e.g. ``10.213.7.1``."""
        return self._addresses[self._known(host)]

    def namespace(self, host: str) -> str:
        """The name of the host's namespace (as ``ip netns`` knows it)."""
        return self._namespaces[self._known(host)]

    def argv(self, host: str, argv: Sequence[str]) -> list[str]:
        """The command line that runs ARGV inside the host's namespace."""
        ip = _ip_binary()
        if ip is None:
            raise NetnsUnavailable("no `ip` binary (Debian: apt-get install iproute2)")
        return [ip, "netns", "exec", self.namespace(host), *argv]

    def popen(
        self,
        host: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        stdin: _File = subprocess.DEVNULL,
        stdout: _File = subprocess.DEVNULL,
        stderr: _File = subprocess.DEVNULL,
        **kw: Any,
    ) -> subprocess.Popen[str]:
        """Start ARGV inside the host's namespace (text mode, its own session); tracked, so it is
        killed when the network is torn down. ENV is added to this process's environment."""
        proc = subprocess.Popen(
            self.argv(host, argv),
            env={**os.environ, **(env or {})},
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            text=True,
            start_new_session=True,
            **kw,
        )
        self._procs.append(proc)
        return proc

    def run(
        self,
        host: str,
        argv: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        check: bool = False,
        **kw: Any,
    ) -> subprocess.CompletedProcess[str]:
        """Run ARGV inside the host's namespace to its end (at most TIMEOUT seconds, then it is
        killed and TimeoutExpired raised); its stdout and stderr are captured as text."""
        if input is None:
            kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run(
            self.argv(host, argv),
            env={**os.environ, **(env or {})},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            **kw,
        )

    def _known(self, host: str) -> str:
        if host not in self._namespaces:
            raise KeyError(f"no host {host!r} in this network (hosts: {self._hosts})")
        return host

    def _kill_all(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)  # its session: children too
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=_KILL_TIMEOUT)
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()


def _check_hosts(hosts: Sequence[str]) -> None:
    if isinstance(hosts, str):
        raise TypeError("hosts must be a sequence of names, not one string")
    if not hosts:
        raise ValueError("a network needs at least one host")
    if len(hosts) > _MAX_HOSTS:
        raise ValueError(f"at most {_MAX_HOSTS} hosts fit on one /24")
    if len(set(hosts)) != len(hosts):
        raise ValueError(f"host names repeat: {list(hosts)}")
    for h in hosts:
        if not _HOST_NAME.fullmatch(h) or h == "hub":
            raise ValueError(f"bad host name {h!r}: use 1-40 of [A-Za-z0-9_.-], not 'hub'")


@contextlib.contextmanager
def network(hosts: Sequence[str]) -> Iterator[Network]:
    """A private network with one namespace per host (see the module docstring).

    Raises NetnsUnavailable when namespaces cannot be created here, RuntimeError when an ``ip``
    call fails otherwise; whatever was created is removed in every case.
    """
    _check_hosts(hosts)
    reason = unavailable_reason()
    if reason is not None:
        raise NetnsUnavailable(reason)
    suffix = secrets.token_hex(3)  # 6 hex digits: interface names stay <= 15 characters
    subnet = ipaddress.IPv4Network(f"10.213.{random.randrange(256)}.0/24")
    net = Network(suffix, hosts, subnet)
    created: list[str] = []
    try:
        for ns in net.namespaces:
            _ip("netns", "add", ns)
            created.append(ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", net.hub, "link", "add", net.bridge, "type", "bridge")
        _ip("-n", net.hub, "link", "set", net.bridge, "up")
        for i, host in enumerate(hosts):
            ns = net.namespace(host)
            hub_end, host_end = f"lh{suffix}{i}", f"lv{suffix}{i}"
            # made in the hub with its peer in the host: nothing touches this machine's namespace
            peer = ["peer", "name", host_end, "netns", ns]
            _ip("-n", net.hub, "link", "add", hub_end, "type", "veth", *peer)
            _ip("-n", net.hub, "link", "set", hub_end, "master", net.bridge, "up")
            _ip("-n", ns, "addr", "add", f"{net.address(host)}/{subnet.prefixlen}", "dev", host_end)
            _ip("-n", ns, "link", "set", host_end, "up")
        yield net
    finally:
        try:
            net._kill_all()
        finally:
            errors = []
            for ns in reversed(created):
                try:
                    _ip("netns", "delete", ns)
                except RuntimeError as e:
                    errors.append(str(e))
            if errors:
                raise RuntimeError("could not remove network namespaces: " + "; ".join(errors))
