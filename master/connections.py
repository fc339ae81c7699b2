"""Adapter: one gRPC channel per worker address, shared by every relay and command."""

from __future__ import annotations

import grpc

from shared.grpc_options import channel_options
from shared.protos import logcast_pb2_grpc as pb_grpc


class WorkerConnections:
    """Channels to workers, created on first use and kept until :meth:`close`."""

    def __init__(self) -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}

    def stub(self, address: str) -> pb_grpc.WorkerStub:
        """A stub for the worker at ``address``."""
        channel = self._channels.get(address)
        if channel is None:
            channel = self._channels[address] = grpc.aio.insecure_channel(
                address, options=channel_options()
            )
        return pb_grpc.WorkerStub(channel)

    async def close(self) -> None:
        """Close every channel."""
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close()
