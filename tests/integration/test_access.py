"""Access control of a real `master serve --local-worker` process: tokens and roles on gRPC
(the CLI), HTTP and the WebSocket; scoped, expired and revoked tokens; browsers' single-use
login links and session cookies with the Origin check; workers that must authenticate; and
no token in any log line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
import websockets
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from shared import pki
from shared.protos import logcast_pb2 as pb
from shared.protos import logcast_pb2_grpc as pb_grpc
from tests.access import owner_token
from tests.fixtures import TEST_IMAGE
from tests.procs import MASTER, free_port, start_master
from worker.identity import JoinRefused, join

pytestmark = pytest.mark.docker


def cli(master: str, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    """`master ARGS` with ``token`` in LOGCAST_TOKEN (None: the owner's, found by itself;
    "": none at all: a state directory without a credential)."""
    env = dict(os.environ)
    if token == "":
        env["LOGCAST_STATE_DIR"] = "/nonexistent"
    elif token is not None:
        env["LOGCAST_TOKEN"] = token
    head = 2 if args[0] == "token" else 1  # `master token create --master ...`
    return subprocess.run(
        [MASTER, *args[:head], "--master", master, *args[head:]],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def http(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(base + path, headers=headers or {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def master(tmp_path, docker_engine):
    proc = start_master(tmp_path, free_port(), "--local-worker")
    http_address = ""
    for _ in range(100):
        text = proc.log.read_text()
        if "http://" in text:
            http_address = text.split("http://", 1)[1].split("/", 1)[0]
            break
        time.sleep(0.05)
    proc.http = http_address  # type: ignore[attr-defined]
    try:
        yield proc
    finally:
        proc.stop()
        for c in docker_engine.api.containers(all=True, filters={"label": "logcast.task"}):
            if c["Labels"].get("logcast.worker", "").startswith("local-"):
                continue  # other tests' embedded workers clean up their own


def run_task(master, token: str | None = None, *labels: str) -> subprocess.CompletedProcess[str]:
    extra = [a for label in labels for a in ("--label", label)]
    return cli(
        master.address, "run", "--image", TEST_IMAGE, *extra, "--", "echo", "hi", token=token
    )


def test_roles_scopes_expiry_and_revocation_on_the_cli(master):
    address = master.address
    nobody = cli(address, "list-tasks", token="")
    assert nobody.returncode == 2 and "not authenticated: no token" in nobody.stderr
    forged = cli(address, "list-tasks", token="lct_0123456789ab_" + "A" * 43)
    assert forged.returncode == 2 and "unknown token 0123456789ab" in forged.stderr

    def make(*args: str) -> str:
        made = cli(address, "token", "create", *args)
        assert made.returncode == 0, made.stderr
        return made.stdout.strip()

    viewer, operator = make("--role", "viewer"), make("--role", "operator")
    nightly = make("--role", "viewer", "--label", "job=nightly")
    refused = run_task(master, viewer)
    assert refused.returncode == 2
    assert "permission denied: running a task needs the operator role" in refused.stderr
    mine = run_task(master, operator, "job=nightly").stdout.strip()
    other = run_task(master, operator, "job=hourly").stdout.strip()
    assert mine.startswith("task-") and other.startswith("task-")
    assert cli(address, "logs", "-f", mine, token=viewer).stdout == "hi\n"
    assert cli(address, "logs", mine, token=nightly).stdout == "hi\n"  # its label
    denied = cli(address, "logs", other, token=nightly)
    assert denied.returncode == 2 and "permission denied" in denied.stderr
    listed = cli(address, "list-tasks", token=nightly).stdout
    assert mine in listed and other not in listed
    assert "needs the admin role" in cli(address, "token", "list", token=operator).stderr
    assert "needs the admin role" in cli(address, "workers", token=viewer).stderr

    short = make("--role", "viewer", "--expires", "1s")
    assert cli(address, "list-tasks", token=short).returncode == 0
    time.sleep(1.2)
    expired = cli(address, "list-tasks", token=short)
    assert expired.returncode == 2 and "is expired" in expired.stderr
    viewer_id = viewer.split("_")[1]
    assert cli(address, "token", "revoke", viewer_id).stdout.split() == [viewer_id, "revoked"]
    revoked = cli(address, "list-tasks", token=viewer)
    assert revoked.returncode == 2 and f"token {viewer_id} is revoked" in revoked.stderr
    table = cli(address, "token", "list").stdout
    assert viewer_id in table and "revoked" in table and "job=nightly" in table

    # no token, and no token's secret, in the master's log
    log = master.log.read_text()
    for token in (viewer, operator, nightly, short, owner_token()):
        assert token.split("_", 2)[2] not in log
    assert "refused running a task" in log  # refusals are logged, with their reason


def test_http_and_websocket_need_a_token_or_a_session_and_keep_the_origin_check(master):
    base = f"http://{master.http}"
    task_id = run_task(master).stdout.strip()
    assert http(base, "/healthz")[0] == 200 and http(base, "/readyz")[0] == 200
    for path in ("/api/tasks", f"/api/tasks/{task_id}/log", "/metrics"):
        status, headers, body = http(base, path)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer"), path
        assert b"not authenticated" in body
    bearer = {"Authorization": f"Bearer {owner_token()}"}
    assert http(base, "/api/tasks", bearer)[0] == 200
    status, headers, _ = http(base, "/")
    assert status == 303 and headers["Location"] == "/login"  # a browser: to the login page

    # a single-use login link gives a session cookie (HttpOnly, SameSite=Strict), once
    link = cli(master.address, "login-link").stdout.strip()
    assert link.startswith(f"{base}/login?code=")
    status, headers, _ = http(base, link[len(base) :])
    assert status == 303 and headers["Location"] == "/"
    cookie_header = headers["Set-Cookie"]
    assert "HttpOnly" in cookie_header and "SameSite=Strict" in cookie_header
    cookie = {"Cookie": cookie_header.split(";", 1)[0]}
    assert http(base, link[len(base) :])[0] == 401  # used
    assert http(base, "/api/tasks", cookie)[0] == 200
    assert http(base, "/", cookie)[0] == 200

    async def ws(headers: dict[str, str], origin: Origin | None = None) -> int:
        url = f"ws://{master.http}/logs/{task_id}"
        try:
            async with websockets.connect(url, additional_headers=headers, origin=origin) as c:
                async for _ in c:
                    pass
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    assert asyncio.run(ws({})) == 401  # refused before the upgrade
    assert asyncio.run(ws(bearer)) == 101
    assert asyncio.run(ws(cookie, origin=Origin(base))) == 101
    # a valid cookie from another site's page: refused (cross-site WebSocket hijacking)
    assert asyncio.run(ws(cookie, origin=Origin("http://evil.example"))) == 403

    # log out: the cookie stops working
    assert http(base, "/logout", cookie)[0] == 303
    assert http(base, "/api/tasks", cookie)[0] == 401


def test_a_process_without_a_certificate_cannot_register_or_command_a_worker(master, tmp_path):
    """The attack of the issue: a fake worker takes the next task (and its secrets). Workers
    report on the cluster port, mutual TLS with the master's CA: no certificate, another CA's
    certificate, or plaintext get nowhere; joining needs a join (or admin) token; a joined
    worker cannot speak for another; and a worker takes calls from its master only."""
    log = master.log.read_text()
    cluster = log.split("workers report to ", 1)[1].split(" ", 1)[0]
    ca = (tmp_path / "state" / "ca.crt").read_bytes()
    local = json.loads(cli(master.address, "workers", "--json").stdout)[0]
    heartbeat = pb.HeartbeatRequest(name="evil", address="127.0.0.1:1")

    async def call(make: Callable[[], grpc.aio.Channel], worker: bool = False) -> grpc.StatusCode:
        try:
            async with make() as channel:
                if worker:
                    await pb_grpc.WorkerStub(channel).ListTasks(pb.ListTasksRequest(), timeout=10)
                else:
                    await pb_grpc.ClusterStub(channel).Heartbeat(heartbeat, timeout=10)
        except grpc.aio.AioRpcError as err:
            return err.code()
        return grpc.StatusCode.OK

    def tls(key: bytes | None = None, cert: bytes | None = None) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(ca, key, cert)

    def channel(
        address: str, credentials: grpc.ChannelCredentials, dns: str
    ) -> Callable[[], grpc.aio.Channel]:
        options = [("grpc.ssl_target_name_override", dns)]
        return lambda: grpc.aio.secure_channel(address, credentials, options=options)

    # no certificate, plaintext, a certificate from another CA: the handshake fails
    unavailable = grpc.StatusCode.UNAVAILABLE
    assert asyncio.run(call(channel(cluster, tls(), pki.MASTER_DNS))) is unavailable
    assert asyncio.run(call(lambda: grpc.aio.insecure_channel(cluster))) is unavailable
    other_key, other_ca = pki.new_ca("another CA")
    key = pki.new_key()
    forged = pki.issue(
        other_key, other_ca, key, pki.worker_cn("evil"), pki.worker_dns("evil"), 3600
    )
    assert asyncio.run(call(channel(cluster, tls(key, forged), pki.MASTER_DNS))) is unavailable
    # joining needs a join token (or an admin's): no token, or a viewer's or operator's, fail
    assert "no token" in join_refusal(master.address, "evil", "")
    for role in ("viewer", "operator"):
        token = cli(master.address, "token", "create", "--role", role).stdout.strip()
        assert "needs a join token" in join_refusal(master.address, "evil", token)
    # a joined worker cannot report as another, nor join under a name already joined
    join_token = cli(master.address, "join-token").stdout.strip()
    identity = asyncio.run(join(master.address, "evil", join_token))
    assert pki.fingerprint(identity.ca) == pki.fingerprint(ca)  # the pinned CA
    evil = channel(cluster, tls(identity.key, identity.cert), pki.MASTER_DNS)
    heartbeat = pb.HeartbeatRequest(name=local["name"], address="127.0.0.1:1")
    assert asyncio.run(call(evil)) is grpc.StatusCode.PERMISSION_DENIED
    assert "joined before with another key" in join_refusal(
        master.address, local["name"], join_token
    )
    # a worker takes calls from its master only: not from another worker, nor without one
    to_local = channel(
        local["address"], tls(identity.key, identity.cert), pki.worker_dns(local["name"])
    )
    assert asyncio.run(call(to_local, worker=True)) is grpc.StatusCode.PERMISSION_DENIED
    no_cert = channel(local["address"], tls(), pki.worker_dns(local["name"]))
    assert asyncio.run(call(no_cert, worker=True)) is unavailable
    workers = cli(master.address, "workers", "--json").stdout
    assert "evil" not in workers


def join_refusal(master: str, name: str, token: str) -> str:
    """Why the master refuses to join worker ``name`` with ``token`` ("": none at all)."""
    if token:
        with pytest.raises(JoinRefused) as refused:
            asyncio.run(join(master, name, token))
        return str(refused.value)

    async def bare() -> str:
        csr = pki.signing_request(pki.new_key(), pki.worker_cn(name))
        async with grpc.aio.insecure_channel(master) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await pb_grpc.MasterStub(channel).Join(pb.JoinRequest(name=name, csr=csr))
        assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED
        return err.value.details() or ""

    return asyncio.run(bare())


def test_the_owners_credential_is_private(tmp_path, master):
    state = Path(tmp_path / "state")
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for name in ("admin.token", "tokens.json", "session.key"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name


@pytest.mark.asyncio
async def test_a_reverse_proxy_s_host_and_origin_are_allowed_when_named(master_factory):
    """Behind a proxy (`--allowed-host logs.example --allowed-origin https://logs.example`)
    the master answers that name and that page's WebSockets, and still nothing else."""
    async with master_factory(
        allowed_hosts=("logs.example",), allowed_origins=("https://logs.example",)
    ) as (running, _):
        base = f"http://{running.http_address}"
        port = running.http_address.rsplit(":", 1)[1]
        status = await asyncio.to_thread(http, base, "/healthz", {"Host": f"logs.example:{port}"})
        assert status[0] == 200
        evil = await asyncio.to_thread(http, base, "/healthz", {"Host": f"evil.example:{port}"})
        assert evil[0] == 421
        url = f"ws://{running.http_address}/logs/task-000000"
        bearer = {"Authorization": f"Bearer {owner_token()}"}
        for origin, expected in (("https://logs.example", None), ("https://evil.example", 403)):
            try:
                async with websockets.connect(
                    url, additional_headers=bearer, origin=Origin(origin)
                ) as ws:
                    with contextlib.suppress(websockets.ConnectionClosed):
                        async for _ in ws:  # upgraded; then told the task is unknown
                            pass
                got = None
            except InvalidStatus as exc:
                got = exc.response.status_code
            assert got == expected, origin
