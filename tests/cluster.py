"""The tests' own master CA, for workers that run without a master (a test calls them
directly, as their master would): :func:`provision` gives a worker's data directory a
certificate, :func:`worker_channel` dials a worker with the master's certificate.

The CA is the one of the session's state directory (see :mod:`tests.access`): the CA of every
in-process master a test starts without a state directory of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

import grpc

from master.cluster import ClusterAuthority
from shared import pki
from shared.grpc_options import channel_options
from shared.tls_grpc import mutual_channel
from tests.access import owner_token
from worker.identity import IdentityFiles, WorkerIdentity, join

_authority: ClusterAuthority | None = None


def authority() -> ClusterAuthority:
    """The session's test CA (a master's, without a master)."""
    global _authority
    if _authority is None:
        _authority = ClusterAuthority(Path(os.environ["LOGCAST_STATE_DIR"]))
        _authority.open()
    return _authority


def provision(data_dir: Path, name: str, master: str = "127.0.0.1:9") -> None:
    """Give worker ``name`` (data directory ``data_dir``) a certificate of the test CA, as
    if it had joined a master whose cluster port is ``master``."""
    ca = authority()
    key, cert = ca.provision(name)
    IdentityFiles(data_dir).save(WorkerIdentity(name, key, cert, ca.ca_cert, master))


def worker_channel(address: str, name: str) -> grpc.aio.Channel:
    """A channel to worker ``name`` at ``address`` holding the (test) master's certificate."""
    ca = authority()
    return mutual_channel(
        address, ca.master_identity(), ca.ca_cert, pki.worker_dns(name), channel_options()
    )


async def join_as(master: str, name: str) -> WorkerIdentity:
    """Join the master at ``master`` (its client port) as worker ``name``, with the owner's
    token, as a worker on the master's host does: the test speaks for that worker."""
    return await join(master, name, owner_token())


def cluster_channel(identity: WorkerIdentity) -> grpc.aio.Channel:
    """A channel to the master's cluster port holding ``identity``'s certificate."""
    return mutual_channel(
        identity.master, identity.pair, identity.ca, pki.MASTER_DNS, channel_options()
    )
