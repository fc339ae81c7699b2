"""HOST:PORT parsing and the loopback-only default: logcast has no authentication or TLS yet,
so it refuses to listen beyond this host unless told to accept the risk."""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import TYPE_CHECKING

from shared.errors import ConfigError, InvalidRequest, quoted

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # clients import this module too: no gRPC at run time
    import grpc

DEFAULT_MASTER = "127.0.0.1:50051"
"""Where clients and workers find the master unless told (``--master``, ``LOGCAST_MASTER``)."""


def split_hostport(address: str, *, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``"host:port"`` (or ``"[v6]:port"``, or ``":port"``) as ``(host, port)``."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isascii() or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"invalid address {address!r}: expected HOST:PORT, e.g. 127.0.0.1:50051")
    host = host.strip("[]") or default_host
    return host, int(port)


_HOST_NAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9_][A-Za-z0-9_-]{0,62}(\.[A-Za-z0-9_][A-Za-z0-9_-]{0,62})*\.?"
)
"""A host name or an IPv4 address: dot-separated labels of letters, digits, ``-``, ``_``."""


def validate_dial_address(address: object) -> str:
    """Return ``address`` unchanged if another process can dial it: ``HOST:PORT`` with a host
    name, an IPv4 address or a bracketed IPv6 address, and a port 1-65535 (what a worker
    reports to its master). Else :class:`InvalidRequest`, quoting it escaped: no scheme, path,
    space or control character gets through."""
    if isinstance(address, str) and len(address) <= 300:
        host, sep, port = address.rpartition(":")
        if sep and port.isascii() and port.isdigit() and 1 <= int(port) <= 65535:
            if host.startswith("[") and host.endswith("]"):
                try:
                    ipaddress.IPv6Address(host[1:-1])
                    return address
                except ValueError:
                    pass
            elif _HOST_NAME.fullmatch(host):
                return address
    raise InvalidRequest(
        f"invalid address {quoted(address)}: expected HOST:PORT (a host name, an IP address "
        "or [IPv6], and a port 1-65535), e.g. 10.0.0.5:50052"
    )


def join_hostport(host: str, port: int) -> str:
    """``host:port``, an IPv6 host in brackets (``[::1]:50052``: what gRPC can dial)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(
    address: str, *, insecure_expose: bool, what: str, tls: bool = False
) -> tuple[str, int]:
    """Parse a listen address; refuse a non-loopback one unless its traffic is protected
    (``tls``) or ``insecure_expose`` (then say loudly that it is not)."""
    host, port = split_hostport(address)
    if not is_loopback(host) and not tls:
        if not insecure_expose:
            raise ConfigError(
                f"refusing to serve {what} on {host}:{port} without TLS: tokens and logs would "
                "cross the network readable. Give a certificate (--tls-cert FILE --tls-key "
                "FILE), or listen on 127.0.0.1 (the default; a reverse proxy can end TLS), or "
                "pass --insecure-expose on a network you trust."
            )
        log.warning(
            "INSECURE: serving %s on %s:%d in plaintext (--insecure-expose): anyone on the "
            "network path can read its tokens and logs",
            what,
            host,
            port,
        )
    return host, port


def bind_grpc(
    server: grpc.aio.Server,
    address: str,
    what: str,
    credentials: grpc.ServerCredentials | None = None,
) -> int:
    """``server.add_insecure_port(address)`` (or ``add_secure_port`` with ``credentials``),
    with a clear error when the port is taken."""
    try:
        if credentials is not None:
            return server.add_secure_port(address, credentials)
        return server.add_insecure_port(address)
    except RuntimeError as exc:
        raise ConfigError(
            f"cannot listen on {address} for {what}: the port is in use (another logcast?) "
            "or the address is not on this host"
        ) from exc
