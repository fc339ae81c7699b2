"""Adapter: gRPC credentials for the master<->worker link (mutual TLS with the master's CA)
and for clients of a master that serves TLS; who the peer of a call is."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

from shared.addresses import is_loopback, split_hostport
from shared.errors import ConfigError, PermissionDenied

if TYPE_CHECKING:  # clients need no certificate code (it costs ~40 ms to import)
    from shared import pki

Identity = tuple[bytes, bytes]  # (key PEM, certificate PEM)


def mutual_server_credentials(
    identity: Callable[[], Identity], ca: bytes
) -> grpc.ServerCredentials:
    """Server credentials that require a client certificate from ``ca``. ``identity`` is
    asked again at every new connection: a renewed certificate is served without a restart."""
    current = identity()

    def fetch() -> grpc.ServerCertificateConfiguration | None:
        nonlocal current
        latest = identity()
        if latest == current:
            return None
        current = latest
        return grpc.ssl_server_certificate_configuration([latest], root_certificates=ca)

    return grpc.dynamic_ssl_server_credentials(
        grpc.ssl_server_certificate_configuration([current], root_certificates=ca),
        fetch,  # type: ignore[arg-type]  # None means "no change" (grpc's docs; stubs lack it)
        require_client_authentication=True,
    )


def mutual_channel(
    address: str, identity: Identity, ca: bytes, peer_dns: str, options: Sequence[tuple[str, Any]]
) -> grpc.aio.Channel:
    """A channel to ``address`` that presents ``identity`` and accepts only a server whose
    certificate, from ``ca``, names ``peer_dns`` (whatever address it was reached at)."""
    key, cert = identity
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert
    )
    return grpc.aio.secure_channel(
        address, credentials, options=[*options, ("grpc.ssl_target_name_override", peer_dns)]
    )


def client_channel(
    address: str, tls: bool, ca_file: str, options: Sequence[tuple[str, Any]]
) -> grpc.aio.Channel:
    """A channel to a master's client port: TLS checked against ``ca_file`` (else the
    system's roots) when ``tls``, else plaintext (loopback only: see :func:`uses_tls`)."""
    if not tls:
        return grpc.aio.insecure_channel(address, options=options)
    roots = read_ca(ca_file) if ca_file else None
    return grpc.aio.secure_channel(
        address, grpc.ssl_channel_credentials(root_certificates=roots), options=options
    )


def uses_tls(address: str, ca_file: str) -> bool:
    """A client speaks TLS to a master that is not on loopback, or when given a CA file."""
    try:
        host, _ = split_hostport(address)
    except ValueError:
        return True
    return bool(ca_file) or not is_loopback(host)


def read_ca(path: str) -> bytes:
    """The PEM certificates of ``path`` (--tls-ca), or ConfigError."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the CA file {path}: {exc}") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise ConfigError(f"{path} holds no PEM certificate")
    return data


def peer(context: grpc.aio.ServicerContext) -> pki.Issued:
    """What the client certificate of this call says (mutual TLS servers only)."""
    pems = list(context.auth_context().get("x509_pem_cert") or ())
    if not pems:
        raise PermissionDenied("no client certificate")
    return _described(bytes(pems[0]))


_seen: dict[bytes, pki.Issued] = {}


def _described(pem: bytes) -> pki.Issued:
    issued = _seen.get(pem)
    if issued is None:
        if len(_seen) > 1024:
            _seen.clear()
        from shared import pki

        issued = _seen[pem] = pki.describe(pem)
    return issued


def require_master(context: grpc.aio.ServicerContext, what: str) -> None:
    """PermissionDenied unless the caller holds the master's certificate (a worker takes
    calls from its master only; other certificates of the CA are workers')."""
    who = peer(context)
    from shared.pki import MASTER_CN

    if who.common_name != MASTER_CN:
        raise PermissionDenied(f"{what}: only the master may call a worker, not {who.common_name}")
