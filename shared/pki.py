"""Certificates for the link between a master and its workers (pure: bytes in, bytes out).

The master is its own certificate authority. Every master<->worker connection is mutual TLS
with certificates it issued: the master's names it ``master`` (DNS name
:data:`MASTER_DNS`), a worker's names it ``worker:NAME`` (DNS name :func:`worker_dns`). The
DNS names are what each side checks when it dials the other, so a master dialling worker
``w1`` reaches only a holder of ``w1``'s certificate, whatever address was reported.

Keys are ECDSA P-256; a worker makes its own key and sends a certificate signing request
(its key never leaves its host); a renewal signs the same key again, so the master binds a
worker's name to its key.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MASTER_CN = "master"
MASTER_DNS = "master.cluster.logcast"
WORKER_PREFIX = "worker:"
ORGANIZATION = "logcast"


class CertificateError(ValueError):
    """A certificate, request or key that is malformed or not what was expected."""


def worker_dns(name: str) -> str:
    """The DNS name in worker ``name``'s certificate (what the master checks when dialling)."""
    return f"{name}.worker.cluster.logcast"


def worker_cn(name: str) -> str:
    """The common name in worker ``name``'s certificate."""
    return WORKER_PREFIX + name


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate as the issuer sees it."""

    common_name: str
    serial: int
    not_before: float
    not_after: float
    key_id: str  # sha256 of the public key (DER SubjectPublicKeyInfo), hex


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def new_key() -> bytes:
    """A new private key, PEM (PKCS#8, unencrypted: the file holding it is mode 0600)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_key(key_pem: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"not a private key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateError("not an ECDSA private key")
    return key


def load_certificate(pem: bytes) -> x509.Certificate:
    """Parse a PEM certificate; CertificateError when it is not one."""
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise CertificateError(f"not a certificate: {exc}") from None


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def new_ca(title: str, days: float = 3650) -> tuple[bytes, bytes]:
    """A new certificate authority: (key PEM, certificate PEM)."""
    key_pem = new_key()
    key = _load_key(key_pem)
    name = _name(title)
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def fingerprint(cert_pem: bytes) -> str:
    """The SHA-256 of a certificate's DER encoding, lowercase hex (what a join token pins)."""
    return load_certificate(cert_pem).fingerprint(hashes.SHA256()).hex()


def key_id_of(public_key: CertificatePublicKeyTypes) -> str:
    """SHA-256 of a public key's SubjectPublicKeyInfo, hex."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def signing_request(key_pem: bytes, common_name: str) -> bytes:
    """A certificate signing request for ``key_pem`` (PEM)."""
    key = _load_key(key_pem)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name(common_name))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def read_request(csr_pem: bytes) -> tuple[str, str]:
    """(common name, key id) of a signing request whose signature holds."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as exc:
        raise CertificateError(f"not a certificate signing request: {exc}") from None
    if not csr.is_signature_valid:
        raise CertificateError("the signing request's signature does not hold")
    key = csr.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise CertificateError("the signing request's key is not ECDSA")
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        raise CertificateError("the signing request must name exactly one common name")
    return str(names[0].value), key_id_of(key)


def issue(
    ca_key_pem: bytes,
    ca_cert_pem: bytes,
    public_key_source: bytes,
    common_name: str,
    dns_name: str,
    seconds: float,
) -> bytes:
    """A certificate for ``common_name`` / ``dns_name``, valid ``seconds`` from now, for
    both ends of a TLS connection. ``public_key_source``: a signing request (PEM) or a
    private key (PEM; the master's own)."""
    ca_key = _load_key(ca_key_pem)
    ca_cert = load_certificate(ca_cert_pem)
    if b"CERTIFICATE REQUEST" in public_key_source:
        public = x509.load_pem_x509_csr(public_key_source).public_key()
    else:
        public = _load_key(public_key_source).public_key()
    now = _now()
    until = min(now + datetime.timedelta(seconds=seconds), ca_cert.not_valid_after_utc)
    slack = datetime.timedelta(seconds=min(300.0, seconds / 10))  # clocks a little apart
    usage = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - slack)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def describe(cert_pem: bytes) -> Issued:
    """What a certificate says."""
    cert = load_certificate(cert_pem)
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return Issued(
        common_name=str(names[0].value) if names else "",
        serial=cert.serial_number,
        not_before=cert.not_valid_before_utc.timestamp(),
        not_after=cert.not_valid_after_utc.timestamp(),
        key_id=key_id_of(cert.public_key()),
    )


def check_issued(cert_pem: bytes, ca_cert_pem: bytes, key_pem: bytes | None = None) -> Issued:
    """That ``cert_pem`` was signed by the CA (and, given ``key_pem``, is for that key);
    CertificateError saying which check failed."""
    cert = load_certificate(cert_pem)
    ca = load_certificate(ca_cert_pem)
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise CertificateError("the certificate was not issued by this CA") from None
    issued = describe(cert_pem)
    if key_pem is not None and key_id_of(_load_key(key_pem).public_key()) != issued.key_id:
        raise CertificateError("the certificate is not for this key")
    return issued


def renew_at(issued: Issued) -> float:
    """When a certificate is due for renewal: once two thirds of its lifetime have passed."""
    return issued.not_before + (issued.not_after - issued.not_before) * 2 / 3


def renew_due(issued: Issued, now: float) -> bool:
    """True once two thirds of a certificate's lifetime have passed."""
    return now >= renew_at(issued)


JOIN_PREFIX = "lcj1_"
_JOIN = re.compile(r"lcj1_([0-9a-f]{64})_(lct_[0-9a-f]{12}_[A-Za-z0-9_-]{43})")


def join_token(ca_fingerprint: str, token: str) -> str:
    """What ``master join-token`` prints: the pin of the master's CA and a join-role token."""
    return f"{JOIN_PREFIX}{ca_fingerprint}_{token}"


def parse_join_token(text: str) -> tuple[str, str]:
    """(CA fingerprint, bearer token) of a join token; ValueError saying what is wrong."""
    match = _JOIN.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            "malformed join token (expected lcj1_<CA fingerprint>_lct_<id>_<secret>, as "
            "printed by `master join-token`)"
        )
    return match.group(1), match.group(2)
