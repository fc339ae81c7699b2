"""Throwaway certificates for tests of a master that serves TLS (``--tls-cert/--tls-key``):
a test CA, and server certificates it signs for IP addresses and DNS names.

    ca = make_ca(tmp_path)
    cert, key = ca.server_cert(tmp_path, ["127.0.0.1", "localhost"])
    # master serve --tls-cert cert --tls-key key; clients: --tls-ca ca.cert_path
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared import pki

LIFETIME = datetime.timedelta(days=2)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "logcast tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _san(host: str) -> x509.GeneralName:
    """An IP address SAN for an IP literal, else a DNS name."""
    try:
        return x509.IPAddress(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return x509.DNSName(host)


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@dataclass(frozen=True, slots=True)
class TestCA:
    """A CA whose certificate is ``cert_path`` (PEM): what a client trusts (``--tls-ca``)."""

    __test__ = False  # not a pytest test class

    cert_path: Path
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def server_cert(
        self, directory: Path, hosts: Sequence[str], *, name: str = "server"
    ) -> tuple[Path, Path]:
        """A new key and a certificate for ``hosts`` (IP addresses and DNS names) signed by
        this CA, written as ``directory/NAME.crt`` and ``directory/NAME.key``: (cert, key)."""
        if not hosts:
            raise ValueError("a server certificate names at least one host")
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(hosts[0]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=True,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(self.key, hashes.SHA256())
        )
        cert_path = _write(directory / f"{name}.crt", cert.public_bytes(serialization.Encoding.PEM))
        key_path = _write(directory / f"{name}.key", _pem_key(key))
        key_path.chmod(0o600)
        return cert_path, key_path


def make_ca(directory: Path, *, name: str = "ca") -> TestCA:
    """A new self-signed test CA (:func:`shared.pki.new_ca`, the kind the master makes); its
    certificate written as ``directory/NAME.crt``."""
    key_pem, cert_pem = pki.new_ca(f"logcast test CA {name}", days=LIFETIME.days)
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    path = _write(directory / f"{name}.crt", cert_pem)
    return TestCA(path, pki.load_certificate(cert_pem), key)
