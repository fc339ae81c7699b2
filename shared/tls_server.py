"""The certificate a master serves its clients with (``--tls-cert`` / ``--tls-key``): HTTPS and
WSS for browsers, TLS on the gRPC client port. Read once at start; a bad pair is a clear
error before anything listens."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shared.errors import ConfigError


class _TlsSettings(Protocol):
    @property
    def tls_cert(self) -> str: ...

    @property
    def tls_key(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ServerTls:
    """A certificate chain and its key, PEM, checked to belong together."""

    cert_file: str
    key_file: str
    cert: bytes
    key: bytes

    @property
    def pair(self) -> tuple[bytes, bytes]:
        """(key, chain): what gRPC's server credentials take."""
        return (self.key, self.cert)

    def context(self) -> ssl.SSLContext:
        """A server context for the web port (TLS 1.2 at least)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def server_tls(settings: _TlsSettings) -> ServerTls | None:
    """The configured certificate (None when there is none); ConfigError when only one of
    the two files is given, or they are unreadable or do not belong together."""
    cert_file, key_file = settings.tls_cert, settings.tls_key
    if not cert_file and not key_file:
        return None
    if not cert_file or not key_file:
        raise ConfigError("--tls-cert and --tls-key go together: give both files, or neither")
    try:
        cert, key = Path(cert_file).read_bytes(), Path(key_file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the TLS certificate or key: {exc}") from None
    tls = ServerTls(cert_file, key_file, cert, key)
    try:
        tls.context()  # parses both, and checks that the key is the certificate's
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigError(
            f"--tls-cert {cert_file} and --tls-key {key_file} are not a PEM certificate and "
            f"its key: {exc}"
        ) from None
    return tls
