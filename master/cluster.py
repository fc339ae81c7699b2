"""The master's certificate authority for its workers: issues, renews and binds certificates.

Files in the state directory (keys 0600, written atomically):

- ``ca.key`` / ``ca.crt``: the CA, made on the first start (one per install: never shared);
- ``cluster.key`` / ``cluster.crt``: the master's own certificate (``master``), re-issued
  when two thirds of its lifetime have passed;
- ``workers.json``: which key each worker name is bound to. A name is bound at its first
  join; after that only a holder of that key (a renewal), or a join token made with
  ``master join-token --replace NAME``, or the owner's admin token, gets a certificate for it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from shared import pki
from shared.access import Principal, Role, Scope
from shared.errors import ConfigError, InvalidRequest, PermissionDenied
from shared.files import write_private
from shared.ids import validate_worker_name

log = logging.getLogger(__name__)

CA_KEY, CA_CERT = "ca.key", "ca.crt"
MASTER_KEY, MASTER_CERT = "cluster.key", "cluster.crt"
BINDINGS = "workers.json"
REPLACE_LABEL = "logcast.replace-worker"  # a join token's scope: the name it may re-join

DAY = 86400.0
MAX_REQUEST = 16 * 1024  # a PEM signing request is well under 1 KiB


def replace_scope(name: str) -> Scope:
    """The scope of a join token that may join worker ``name`` again (a reinstall)."""
    return Scope(labels=((REPLACE_LABEL, validate_worker_name(name)),))


class ClusterAuthority:
    """The master's CA (see the module docstring)."""

    def __init__(
        self,
        state_dir: Path,
        *,
        worker_lifetime: float = 30 * DAY,
        master_lifetime: float = 365 * DAY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state_dir = state_dir
        self.worker_lifetime = worker_lifetime
        self.master_lifetime = master_lifetime
        self.clock = clock
        self.ca_key = b""
        self.ca_cert = b""
        self._master: tuple[bytes, bytes] = (b"", b"")
        self._renew_at = 0.0  # when the master's certificate is due for renewal
        self._bindings: dict[str, str] = {}  # worker name -> key id

    # ------------------------------------------------------------------ files

    def open(self) -> None:
        """Load the CA (making it on the first start), the bindings, the master's certificate."""
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            key_path, cert_path = self.state_dir / CA_KEY, self.state_dir / CA_CERT
            if key_path.exists() and cert_path.exists():
                self.ca_key, self.ca_cert = key_path.read_bytes(), cert_path.read_bytes()
                pki.check_issued(self.ca_cert, self.ca_cert, self.ca_key)
            else:
                self.ca_key, self.ca_cert = pki.new_ca(f"logcast CA {self.state_dir.name}")
                write_private(key_path, self.ca_key)
                write_private(cert_path, self.ca_cert, mode=0o644)
                log.info("made the master's certificate authority in %s", cert_path)
            self._bindings = self._read_bindings()
            self.master_identity()
        except pki.CertificateError as exc:
            raise ConfigError(f"the CA in {self.state_dir} is unusable: {exc}") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"cannot keep the CA in {self.state_dir}: {exc}") from exc

    def _read_bindings(self) -> dict[str, str]:
        path = self.state_dir / BINDINGS
        if not path.exists():
            return {}
        data = json.loads(path.read_text())
        return {str(k): str(v["key_id"]) for k, v in data.items()}

    def _save_bindings(self) -> None:
        data = {name: {"key_id": key_id} for name, key_id in sorted(self._bindings.items())}
        write_private(self.state_dir / BINDINGS, (json.dumps(data, indent=1) + "\n").encode())

    @property
    def fingerprint(self) -> str:
        """What a join token pins: the SHA-256 of the CA certificate."""
        return pki.fingerprint(self.ca_cert)

    def master_identity(self) -> tuple[bytes, bytes]:
        """The master's (key, certificate), re-issued (same key) once renewal is due. Asked
        at every new connection and worker call: checked against the CA only when it is
        loaded or made, after that a comparison with the time it is due."""
        key, cert = self._master
        if cert and self.clock() < self._renew_at:
            return self._master
        if not cert:
            key_path, cert_path = self.state_dir / MASTER_KEY, self.state_dir / MASTER_CERT
            if key_path.exists() and cert_path.exists():
                key, cert = key_path.read_bytes(), cert_path.read_bytes()
            else:
                key = pki.new_key()
                write_private(key_path, key)
        issued = self._checked(cert, key) if cert else None
        if issued is None or pki.renew_due(issued, self.clock()):
            cert = pki.issue(
                self.ca_key, self.ca_cert, key, pki.MASTER_CN, pki.MASTER_DNS, self.master_lifetime
            )
            write_private(self.state_dir / MASTER_CERT, cert, mode=0o644)
            issued = pki.describe(cert)
        self._master = (key, cert)
        self._renew_at = pki.renew_at(issued)
        return self._master

    def _checked(self, cert: bytes, key: bytes) -> pki.Issued | None:
        """What ``cert`` says, if it is this CA's and for ``key`` (else None: make another)."""
        try:
            return pki.check_issued(cert, self.ca_cert, key)
        except pki.CertificateError:
            return None

    # ------------------------------------------------------------------ workers

    def join(self, name: str, csr: bytes, who: Principal) -> bytes:
        """A certificate for worker ``name`` (a join, with a join or admin token)."""
        name = validate_worker_name(name)
        key_id = self._read(csr, name)
        bound = self._bindings.get(name)
        if bound is not None and bound != key_id:
            may_replace = who.role >= Role.ADMIN or (REPLACE_LABEL, name) in who.scope.labels
            if not may_replace:
                raise PermissionDenied(
                    f"worker {name} has joined before with another key; if this is a "
                    f"reinstall, join with a token from `master join-token --replace {name}`"
                )
            log.warning("worker %s re-joined with a new key (token %s)", name, who.token_id)
        cert = self._issue(name, csr)
        if bound != key_id:
            self._bindings = {**self._read_bindings(), **self._bindings, name: key_id}
            self._save_bindings()
        log.info("worker %s joined (token %s)", name, who.token_id)
        return cert

    def renew(self, name: str, csr: bytes) -> bytes:
        """A new certificate for worker ``name``'s key (the call came with its certificate)."""
        key_id = self._read(csr, name)
        if self._bindings.get(name) != key_id:
            raise PermissionDenied(f"worker {name}: a renewal must keep the key it joined with")
        return self._issue(name, csr)

    def provision(self, name: str, key: bytes | None = None) -> tuple[bytes, bytes]:
        """A (key, certificate) for a worker in this process or on this host (the embedded
        worker, tests): no join token, as the key never travels. ``key``: the one it has."""
        key = key or pki.new_key()
        cert = self.join(name, pki.signing_request(key, pki.worker_cn(name)), _OWNER)
        return key, cert

    def is_bound(self, name: str, key_id: str) -> bool:
        """True if worker ``name``'s certificate is for the key its name is bound to (the
        file is read again for a name not bound here: another process of this master's
        owner, such as `master serve` run again, may have bound it)."""
        if name not in self._bindings:
            try:
                self._bindings = {**self._read_bindings(), **self._bindings}
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("cannot read %s: %s", self.state_dir / BINDINGS, exc)
        return self._bindings.get(name) == key_id

    def _read(self, csr: bytes, name: str) -> str:
        if len(csr) > MAX_REQUEST:
            raise InvalidRequest(f"certificate signing request over {MAX_REQUEST} bytes")
        try:
            common_name, key_id = pki.read_request(csr)
        except pki.CertificateError as exc:
            raise InvalidRequest(str(exc)) from None
        if common_name != pki.worker_cn(name):
            raise InvalidRequest(
                f"the signing request names {common_name!r}, not {pki.worker_cn(name)!r}"
            )
        return key_id

    def _issue(self, name: str, csr: bytes) -> bytes:
        return pki.issue(
            self.ca_key,
            self.ca_cert,
            csr,
            pki.worker_cn(name),
            pki.worker_dns(name),
            self.worker_lifetime,
        )


_OWNER = Principal("local", "owner", Role.ADMIN)
