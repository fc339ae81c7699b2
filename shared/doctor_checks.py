"""Adapter: the I/O of ``doctor`` that master and worker share (a directory, a port, a
running master). Each function gathers facts and hands them to :mod:`shared.doctor`, which
says what they mean. Nothing here changes the host: a directory that does not exist is not
created, a port is bound for an instant and released.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from shared.addresses import split_hostport
from shared.doctor import Check, directory_check, port_check
from shared.errors import LogcastError
from shared.model import WorkerSummary

PROBE_TIMEOUT = 2.0  # seconds another server has to answer "who is there?"


# ---------------------------------------------------------------- directories


def check_directory(name: str, option: str, path: Path) -> Check:
    """``path`` exists or can be created, this user can write it, and there is room."""
    problem, exists, free, total = probe_directory(path)
    return directory_check(
        name, option, str(path), problem=problem, exists=exists, free=free, total=total
    )


def probe_directory(path: Path) -> tuple[str, bool, int, int]:
    """(why ``path`` cannot be used or "", whether it exists, free bytes, total bytes) --
    measured on ``path`` or, when it does not exist yet, on its nearest existing parent."""
    path = path.expanduser().absolute()
    existing = path
    try:
        while not existing.exists():
            existing = existing.parent
    except OSError as exc:
        return f"{existing}: {exc.strerror or exc}", False, 0, 0
    if not existing.is_dir():
        return f"{existing} is not a directory", False, 0, 0
    exists = existing == path
    try:
        if exists:
            with tempfile.TemporaryFile(dir=path, prefix=".logcast-doctor-"):
                pass
        else:
            os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".logcast-doctor-"))
    except OSError as exc:
        what = "cannot write it" if exists else f"cannot create it in {existing}"
        return f"{what} ({exc.strerror or exc})", exists, 0, 0
    st = os.statvfs(existing)
    return "", exists, st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize


# ---------------------------------------------------------------- ports


def check_port(name: str, option: str, address: str, *, http_server: str = "") -> Check:
    """Whether a server could listen on ``address``; when the port is taken, whether a
    logcast server holds it: a gRPC address asks the standard health service (master or
    worker?); an HTTP one (``http_server``: who serves it, "master", ...) asks ``/healthz``."""
    error = probe_bind(address)
    holder = ""
    if error == "in use":
        if http_server:
            holder = http_server if healthz_answers(address) else ""
        else:
            holder = grpc_holder(address)
    return port_check(name, option, address, error, holder)


def probe_bind(address: str) -> str:
    """ "" if a server could listen on ``address`` now, ``"in use"``, or why not."""
    try:
        host, port = split_hostport(address)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except LogcastError as exc:
        return str(exc)
    except socket.gaierror as exc:
        return f"unknown host ({exc.strerror})"
    for family, kind, proto, _, where in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
            try:
                sock.bind(where)
                sock.listen(1)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return "in use"
                return exc.strerror or str(exc)
    return ""


def _dial(address: str) -> str:
    """Where to connect to reach a server listening on ``address`` (any-address: loopback)."""
    host, port = split_hostport(address)
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def grpc_holder(address: str) -> str:
    """``"master"`` or ``"worker"`` when a logcast server serves gRPC at ``address``, else "".
    A port of the master-worker link (mutual TLS) is known by the certificate it shows."""
    return _health_holder(address) or tls_holder(address)


def tls_holder(address: str) -> str:
    """``"master"`` or ``"worker"`` when the TLS server at ``address`` shows a certificate of
    a logcast master or worker (its common name), else "". Only its certificate is read (TLS
    1.3 shows it before asking for the client's); nothing is verified or trusted."""
    import ssl

    from shared import pki

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # who it says it is, no more
    context.set_alpn_protocols(["h2"])  # as gRPC clients ask
    host, port = split_hostport(_dial(address))
    try:
        with (
            socket.create_connection((host, port), timeout=PROBE_TIMEOUT) as sock,
            context.wrap_socket(sock) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except OSError:  # refused, silent, or not TLS (ssl.SSLError is an OSError)
        return ""
    try:
        name = pki.describe(ssl.DER_cert_to_PEM_cert(der or b"").encode()).common_name
    except ValueError:
        return ""
    if name == pki.MASTER_CN:
        return "master"
    return "worker" if name.startswith(pki.WORKER_PREFIX) else ""


def _health_holder(address: str) -> str:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from shared.health import MASTER_SERVICE, WORKER_SERVICE

    with grpc.insecure_channel(_dial(address)) as channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)  # (the stubs declare no methods)
        for service, holder in ((MASTER_SERVICE, "master"), (WORKER_SERVICE, "worker")):
            request = health_pb2.HealthCheckRequest(service=service)
            try:
                stub.Check(request, timeout=PROBE_TIMEOUT)
            except grpc.RpcError as err:
                if isinstance(err, grpc.Call) and err.code() is grpc.StatusCode.NOT_FOUND:
                    continue  # a health service without this name: ask for the next one
                return ""  # not a gRPC server with health checks (or silent)
            return holder
    return ""


def read_file(path: Path) -> tuple[bytes | None, str]:
    """(its bytes, ""); (None, "") when there is no such file; (None, why) when it cannot be
    read."""
    try:
        return path.read_bytes(), ""
    except (FileNotFoundError, NotADirectoryError):  # a file in the path: no such file
        return None, ""
    except OSError as exc:
        return None, exc.strerror or str(exc)


def healthz_answers(address: str) -> bool:
    """Whether ``GET /healthz`` at ``address`` answers as logcast's servers do."""
    url = f"http://{_dial(address)}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT) as reply:
            body = json.loads(reply.read(4096))
    except (OSError, ValueError):  # URLError is an OSError
        return False
    return isinstance(body, dict) and body.get("status") == "ok"


# ---------------------------------------------------------------- the running master


def ask_master(address: str, timeout: float = 5.0) -> tuple[list[WorkerSummary] | None, str]:
    """The workers the master at ``address`` knows, or (None, why it did not answer)."""
    import grpc

    from shared.convert import worker_from_pb
    from shared.credentials import find_token
    from shared.grpc_options import channel_options
    from shared.protos import logcast_pb2 as pb
    from shared.protos import logcast_pb2_grpc as pb_grpc

    with grpc.insecure_channel(address, options=channel_options()) as channel:
        try:
            reply = pb_grpc.MasterStub(channel).ListWorkers(
                pb.ListWorkersRequest(),
                timeout=timeout,
                metadata=(("authorization", f"Bearer {find_token()}"),),
            )
        except grpc.RpcError as err:
            code = err.code() if isinstance(err, grpc.Call) else None
            details = err.details() if isinstance(err, grpc.Call) else str(err)
            if code is grpc.StatusCode.DEADLINE_EXCEEDED:
                return None, f"no answer in {timeout:g} s"
            if "connection refused" in (details or "").lower():
                return None, "connection refused"
            return None, details or (code.name if code else "error")
    return [worker_from_pb(w) for w in reply.workers], ""
