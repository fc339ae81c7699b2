"""The worker's certificate from its master's CA: kept in its data directory, got by joining
(``worker serve --master HOST:PORT --join-token TOKEN``), renewed over the cluster link before
it expires.

``DATA_DIR/identity/``: ``key.pem`` (0600: made here, never sent), ``cert.pem``, ``ca.pem``,
``master.json`` (the worker's name and its master's cluster address).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import grpc

from shared import pki
from shared.addresses import join_hostport, split_hostport
from shared.errors import ConfigError
from shared.files import write_private
from shared.grpc_options import channel_options
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from shared.tls_grpc import Identity, client_channel, uses_tls

log = logging.getLogger(__name__)

DIR = "identity"
JOIN_TIMEOUT = 10.0
_RETRY = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class JoinRefused(ConfigError):
    """The master refused to join this worker (or is not the master the token pins)."""


@dataclass(frozen=True, slots=True)
class WorkerIdentity:
    """A worker's key and certificate, its master's CA, and where its master takes calls."""

    name: str
    key: bytes
    cert: bytes
    ca: bytes
    master: str  # the master's cluster address (host:port)

    @property
    def pair(self) -> Identity:
        return (self.key, self.cert)

    def issued(self) -> pki.Issued:
        return pki.describe(self.cert)


class IdentityFiles:
    """A worker's identity on disk (see the module docstring)."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / DIR

    def load(self, name: str) -> WorkerIdentity | None:
        """The kept identity of worker ``name`` (None when there is none, or it is not
        usable: another name, or files that do not fit together)."""
        try:
            meta = json.loads((self.dir / "master.json").read_text())
            identity = WorkerIdentity(
                name=str(meta["name"]),
                key=(self.dir / "key.pem").read_bytes(),
                cert=(self.dir / "cert.pem").read_bytes(),
                ca=(self.dir / "ca.pem").read_bytes(),
                master=str(meta["master"]),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the unreadable identity in %s: %s", self.dir, exc)
            return None
        if identity.name != name:
            log.warning(
                "the identity in %s is worker %s's, not %s's: joining again",
                self.dir,
                identity.name,
                name,
            )
            return None
        try:
            pki.check_issued(identity.cert, identity.ca, identity.key)
        except pki.CertificateError as exc:
            log.warning("ignoring the identity in %s: %s", self.dir, exc)
            return None
        return identity

    def save(self, identity: WorkerIdentity) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_private(self.dir / "key.pem", identity.key)
            write_private(self.dir / "cert.pem", identity.cert, mode=0o644)
            write_private(self.dir / "ca.pem", identity.ca, mode=0o644)
            meta = {"name": identity.name, "master": identity.master}
            write_private(self.dir / "master.json", json.dumps(meta) + "\n", mode=0o644)
        except OSError as exc:
            raise ConfigError(f"cannot keep the worker's certificate in {self.dir}: {exc}") from exc


def accept(reply: pb.JoinReply, key: bytes, pin: str, master_host: str) -> tuple[bytes, bytes, str]:
    """(certificate, CA, cluster address) of a join or renewal reply, once checked: the CA is
    the pinned one (when pinned), the certificate is from it and for ``key``."""
    ca, cert = bytes(reply.ca), bytes(reply.certificate)
    try:
        if pin and pki.fingerprint(ca) != pin:
            raise JoinRefused(
                "the master's CA is not the one the join token pins: a different master "
                "answers at that address (or something in between); ask its admin for a "
                "new token"
            )
        pki.check_issued(cert, ca, key)
    except pki.CertificateError as exc:
        raise JoinRefused(f"the master's answer does not hold: {exc}") from None
    if not 0 < reply.cluster_port < 65536:
        raise JoinRefused("the master did not say where it takes workers' calls")
    return cert, ca, join_hostport(master_host, reply.cluster_port)


async def join(
    master: str, name: str, token: str, tls_ca: str = "", *, key: bytes | None = None
) -> WorkerIdentity:
    """Join the master whose client port is ``master`` as worker ``name``, with ``token``: a
    join token (``master join-token``: it pins the master's CA), or the owner's admin token
    (this host's own master). Retries while the master is unreachable."""
    pin = ""
    if token.startswith(pki.JOIN_PREFIX):
        try:
            pin, token = pki.parse_join_token(token)
        except ValueError as exc:
            raise JoinRefused(str(exc)) from None
    elif not token:
        raise JoinRefused(
            f"worker {name} has not joined its master yet: pass --join-token TOKEN (printed by "
            "`master join-token` on the master's host) or set LOGCAST_JOIN_TOKEN"
        )
    key = key or pki.new_key()
    csr = pki.signing_request(key, pki.worker_cn(name))
    host, _ = split_hostport(master)
    delay = 0.2
    async with client_channel(master, uses_tls(master, tls_ca), tls_ca, channel_options()) as ch:
        stub = pb_grpc.MasterStub(ch)
        while True:
            try:
                reply = await stub.Join(
                    pb.JoinRequest(name=name, csr=csr),
                    metadata=(("authorization", f"Bearer {token}"),),
                    timeout=JOIN_TIMEOUT,
                )
                break
            except grpc.aio.AioRpcError as err:
                if err.code() not in _RETRY:
                    raise JoinRefused(
                        f"master {master} refused to join worker {name}: {err.details()}"
                    ) from None
                log.warning(
                    "master %s unreachable for joining (%s: %s); retrying",
                    master,
                    err.code().name,
                    err.details(),
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
    cert, ca, cluster = accept(reply, key, pin, host)
    log.info("joined master %s as worker %s (its cluster port: %s)", master, name, cluster)
    return WorkerIdentity(name, key, cert, ca, cluster)


async def renew(identity: WorkerIdentity, channel: grpc.aio.Channel) -> WorkerIdentity:
    """A new certificate for the same key, over the worker's link to its master."""
    csr = pki.signing_request(identity.key, pki.worker_cn(identity.name))
    reply = await pb_grpc.ClusterStub(channel).Renew(pb.RenewRequest(csr=csr), timeout=JOIN_TIMEOUT)
    host, _ = split_hostport(identity.master)
    cert, ca, _cluster = accept(reply, identity.key, pki.fingerprint(identity.ca), host)
    return replace(identity, cert=cert, ca=ca)


class IdentityHolder:
    """The worker's current identity: what its server presents, and its heartbeat; a
    renewal replaces it (kept on disk first)."""

    def __init__(self, identity: WorkerIdentity, files: IdentityFiles | None) -> None:
        self.current = identity
        self.files = files

    def pair(self) -> Identity:
        return self.current.pair

    def update(self, identity: WorkerIdentity) -> None:
        if self.files is not None:
            self.files.save(identity)
        self.current = identity
