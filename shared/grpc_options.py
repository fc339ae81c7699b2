"""gRPC channel and server options, in one place, for every logcast server and client."""

from __future__ import annotations

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
"""gRPC's default receive limit, kept. Log batches are cut far below it (see shared.convert)."""

MAX_SEND_BYTES = 2 * 1024 * 1024
"""What logcast ever puts in one message (a safety net: batches are ~0.5 MiB at most)."""


def server_options() -> list[tuple[str, int]]:
    """Options for ``grpc.aio.server``."""
    return [
        # ping an idle client every 20 s; a peer that does not answer within 10 s is dropped,
        # which frees its subscriptions (a frozen or vanished monitor holds nothing for long)
        ("grpc.keepalive_time_ms", 20_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        # accept the clients' pings (every 10 s, see channel_options) without calling them abuse
        ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_SEND_BYTES),
        # the port is ours alone: two workers must not share one by accident
        ("grpc.so_reuseport", 0),
    ]


def channel_options() -> list[tuple[str, int]]:
    """Options for every ``grpc.aio`` channel (master → worker, CLI → master, ...)."""
    return [
        # notice a dead server within ~15 s even while a log stream is idle
        ("grpc.keepalive_time_ms", 10_000),
        ("grpc.keepalive_timeout_ms", 5_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_SEND_BYTES),
        # reconnect quickly after a server restart (defaults back off up to 120 s)
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 2_000),
        ("grpc.min_reconnect_backoff_ms", 200),
    ]
