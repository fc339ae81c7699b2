"""Adapter: the master's cluster port, where its workers report (mutual TLS: only holders of
a certificate of the master's CA get this far; each call is then checked to come from the
worker it speaks for, with the key its name is bound to)."""

from __future__ import annotations

import logging

import grpc

from master.cluster import ClusterAuthority
from master.coordinator import Master
from shared import pki
from shared.convert import info_from_pb
from shared.errors import PermissionDenied, quoted
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from shared.rpc_errors import maps_errors
from shared.tls_grpc import peer

log = logging.getLogger(__name__)


class ClusterService(pb_grpc.ClusterServicer):
    """Heartbeat and Renew, from workers."""

    def __init__(self, master: Master, authority: ClusterAuthority) -> None:
        self.master = master
        self.authority = authority
        self.stats = master.stats  # refusals, counted by maps_errors
        self.cluster_port = 0

    def _worker(self, context: grpc.aio.ServicerContext, what: str) -> str:
        """The name of the worker whose certificate made this call (else the refusal, logged)."""
        try:
            who = peer(context)
            name = who.common_name.removeprefix(pki.WORKER_PREFIX)
            if not who.common_name.startswith(pki.WORKER_PREFIX):
                raise PermissionDenied(f"{what}: {who.common_name} is not a worker")
            if not self.authority.is_bound(name, who.key_id):
                raise PermissionDenied(
                    f"{what}: worker {name}'s certificate is for a key its name is no longer "
                    "bound to (it joined again elsewhere)"
                )
        except PermissionDenied as exc:
            log.warning("refused %s from %s: %s", what, context.peer(), exc)
            raise
        return name

    @maps_errors
    async def Heartbeat(
        self, request: pb.HeartbeatRequest, context: grpc.aio.ServicerContext
    ) -> pb.HeartbeatResponse:
        name = self._worker(context, "a heartbeat")
        if request.name != name:
            log.warning("refused a heartbeat as %s from worker %s", quoted(request.name), name)
            raise PermissionDenied(
                f"this certificate is worker {name}'s: it cannot report as {quoted(request.name)}"
            )
        synced = self.master.heartbeat(
            request.name,
            request.address,
            [info_from_pb(t) for t in request.tasks],
            since=request.since_version,
            version=request.catalog_version,
            sent_at=request.sent_at if request.HasField("sent_at") else None,
        )
        return pb.HeartbeatResponse(
            interval=self.master.config.worker_timeout / 5, synced_version=synced
        )

    @maps_errors
    async def Renew(
        self, request: pb.RenewRequest, context: grpc.aio.ServicerContext
    ) -> pb.JoinReply:
        name = self._worker(context, "a certificate renewal")
        certificate = self.authority.renew(name, bytes(request.csr))
        log.info("renewed worker %s's certificate", name)
        return pb.JoinReply(
            certificate=certificate, ca=self.authority.ca_cert, cluster_port=self.cluster_port
        )
