"""Adapter: the standard gRPC health-checking service (``grpc.health.v1.Health``, from
``grpcio-health-checking``) on a logcast server, so probes and tools like
``grpc_health_probe`` can ask whether it serves."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

HEALTH_SERVICE = health.SERVICE_NAME  # "grpc.health.v1.Health"
MASTER_SERVICE = "logcast.v1.Master"
WORKER_SERVICE = "logcast.v1.Worker"


class Health:
    """The health service of one gRPC server: the whole server (``""``) and its services."""

    def __init__(self, server: grpc.aio.Server, services: tuple[str, ...]) -> None:
        self.services = ("", *services)
        self._servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._servicer, server)

    async def serving(self) -> None:
        """Everything serves."""
        for name in self.services:
            await self._servicer.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stopping(self) -> None:
        """The server is going away: NOT_SERVING for every service, watchers told."""
        await self._servicer.enter_graceful_shutdown()
