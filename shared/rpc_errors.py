"""Adapter: logcast errors to gRPC status codes and back, for every servicer and client."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

import grpc

from shared.errors import (
    ConfigError,
    DockerUnavailable,
    InvalidRequest,
    LogcastError,
    LogExpired,
    PermissionDenied,
    TaskExists,
    TaskNotFound,
    TaskStartFailed,
    Unauthenticated,
    WorkerUnavailable,
)

F = TypeVar("F", bound=Callable[..., Any])

_CODES: list[tuple[type[LogcastError], grpc.StatusCode]] = [
    (InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT),
    (ConfigError, grpc.StatusCode.INVALID_ARGUMENT),
    (TaskNotFound, grpc.StatusCode.NOT_FOUND),
    (LogExpired, grpc.StatusCode.OUT_OF_RANGE),
    (TaskExists, grpc.StatusCode.ALREADY_EXISTS),
    (TaskStartFailed, grpc.StatusCode.FAILED_PRECONDITION),
    (DockerUnavailable, grpc.StatusCode.UNAVAILABLE),
    (WorkerUnavailable, grpc.StatusCode.UNAVAILABLE),
    (Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
]
_ERRORS = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequest,
    grpc.StatusCode.NOT_FOUND: TaskNotFound,
    grpc.StatusCode.OUT_OF_RANGE: LogExpired,
    grpc.StatusCode.ALREADY_EXISTS: TaskExists,
    grpc.StatusCode.FAILED_PRECONDITION: TaskStartFailed,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
}


def code_for(exc: LogcastError) -> grpc.StatusCode:
    """The gRPC status code that carries ``exc``."""
    for cls, code in _CODES:
        if isinstance(exc, cls):
            return code
    return grpc.StatusCode.UNKNOWN


def error_from_rpc(err: grpc.RpcError) -> LogcastError:
    """The logcast error a failed call stands for (WorkerUnavailable for transport failures)."""
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    details = err.details() if hasattr(err, "details") else str(err)
    cls = _ERRORS.get(code, WorkerUnavailable)
    return cls(details or code.name)


def _refused(servicer: Any, code: grpc.StatusCode) -> None:
    stats = getattr(servicer, "stats", None)  # a FlowStats counts refusals for /metrics
    if stats is not None:
        stats.refusals["grpc", code.name.lower()] += 1


def maps_errors(fn: F) -> F:
    """Servicer method decorator: a LogcastError ends the call with its status code and message
    (counted in the servicer's ``stats``, if it has one)."""
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def stream(
            self: Any, request: Any, context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            try:
                async for item in fn(self, request, context):
                    yield item
            except LogcastError as exc:
                _refused(self, code_for(exc))
                await context.abort(code_for(exc), str(exc))

        return cast(F, stream)

    @functools.wraps(fn)
    async def unary(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await fn(self, request, context)
        except LogcastError as exc:
            _refused(self, code_for(exc))
            await context.abort(code_for(exc), str(exc))

    return cast(F, unary)
