"""A master that serves TLS (``--tls-cert/--tls-key``), with real parts: HTTPS and WSS for
WebSocket clients and browsers (Secure session cookie, https-only same origin), TLS on the
gRPC client port for the CLI, and the configuration errors that stop it before it listens.
Certificates come from a throwaway test CA (tests/tlscerts.py)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import http.client
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import docker
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidMessage, InvalidStatus

from master.config import MasterConfig
from master.master_client import MasterClient
from master.running import RunningMaster, run_master
from shared.errors import ConfigError
from shared.model import TaskSpec
from tests.access import owner_token, seed
from tests.browser import goto
from tests.fixtures import TEST_IMAGE, eventually, remove_containers
from tests.integration.test_websocket import frames, lines_of
from tests.procs import master_cli
from tests.tlscerts import TestCA, make_ca

pytestmark = [pytest.mark.asyncio]

LOOPBACK = ["127.0.0.1", "localhost"]


@dataclass
class TlsMaster:
    running: RunningMaster
    ca: TestCA

    @property
    def ca_file(self) -> str:
        return str(self.ca.cert_path)

    def trusting(self) -> ssl.SSLContext:
        """A client context that trusts the test CA (and nothing else)."""
        return ssl.create_default_context(cafile=self.ca_file)

    async def run(self, script: str) -> str:
        async with MasterClient(self.running.grpc_address, tls_ca=self.ca_file) as client:
            info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", script)))
        return info.task_id

    async def finished(self, task_id: str) -> None:
        registry = self.running.master.registry
        await eventually(lambda: registry.status(task_id).is_final, f"{task_id} to end", 30)


@contextlib.asynccontextmanager
async def tls_master(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> AsyncIterator[TlsMaster]:
    """An in-process master with its embedded worker, serving TLS with a test CA's
    certificate for 127.0.0.1 and localhost."""
    ca = make_ca(tmp_path / "pki")
    cert, key = ca.server_cert(tmp_path / "pki", LOOPBACK)
    config = MasterConfig(
        grpc_listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        cluster_listen="127.0.0.1:0",
        local_worker=True,
        state_dir=seed(tmp_path / "state"),
        tls_cert=str(cert),
        tls_key=str(key),
    )
    async with run_master(config) as running:
        try:
            yield TlsMaster(running, ca)
        finally:
            if running.local_worker is not None:
                remove_containers(docker_engine.api, running.local_worker.config.name)


def https_get(
    address: str, target: str, context: ssl.SSLContext, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    """``GET target`` over HTTPS, redirects not followed; the response, read."""
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPSConnection(host, int(port), context=context, timeout=30)
    try:
        conn.request("GET", target, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response
    finally:
        conn.close()


async def status_of_handshake(url: str, **kw: object) -> int:
    """The HTTP status a WebSocket handshake is refused with (101: accepted)."""
    try:
        async with connect(url, **kw):  # type: ignore[arg-type]
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


@pytest.mark.docker
async def test_wss_streams_to_a_client_that_trusts_the_ca_only(tmp_path, docker_engine):
    async with tls_master(tmp_path, docker_engine) as tm:
        running = tm.running
        task_id = await tm.run("echo one; echo two; echo three")
        await tm.finished(task_id)
        got, code = await frames(f"wss://{running.http_address}/logs/{task_id}", ssl=tm.trusting())
        assert code == 1000
        assert lines_of(got) == [(1, "one"), (2, "two"), (3, "three")]

        # plaintext to the TLS port: no WebSocket (the server wants a TLS handshake)
        with pytest.raises(InvalidMessage, match="did not receive a valid HTTP response"):
            await frames(f"ws://{running.http_address}/logs/{task_id}", open_timeout=5)
        # a client that does not trust the test CA refuses the server: with the system's
        # roots, or another CA's
        other = make_ca(tmp_path / "other")
        for context in (
            ssl.create_default_context(),
            ssl.create_default_context(cafile=str(other.cert_path)),
        ):
            with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
                await frames(f"wss://{running.http_address}/logs/{task_id}", ssl=context)
        # and one that trusts it, but asks for a name the certificate does not list
        with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
            await frames(
                f"wss://{running.http_address}/logs/{task_id}",
                ssl=tm.trusting(),
                server_hostname="logs.example",
            )
        # the master still serves after the failed handshakes
        got, code = await frames(f"wss://{running.http_address}/logs/{task_id}", ssl=tm.trusting())
        assert (code, len(lines_of(got))) == (1000, 3)


@pytest.mark.docker
async def test_https_login_gives_a_secure_cookie_and_wss_takes_https_origins_only(
    tmp_path, docker_engine
):
    async with tls_master(tmp_path, docker_engine) as tm:
        running = tm.running
        address = running.http_address
        link = running.login_link()
        assert link.startswith(f"https://{address}/login?code=")
        parts = urlsplit(link)
        answer = await asyncio.to_thread(
            https_get, address, f"{parts.path}?{parts.query}", tm.trusting()
        )
        assert answer.status == 303 and answer.getheader("Location") == "/"
        cookie = answer.getheader("Set-Cookie") or ""
        flags = [flag.strip() for flag in cookie.split(";")]
        assert {"Secure", "HttpOnly", "SameSite=Strict", "Path=/"} <= set(flags), cookie
        session = flags[0]
        assert session.startswith("logcast_session=") and len(session) > 40

        task_id = await tm.run("echo over wss")
        await tm.finished(task_id)
        url = f"wss://{address}/logs/{task_id}"
        got, code = await frames(
            url,
            ssl=tm.trusting(),
            origin=f"https://{address}",
            additional_headers={"Cookie": session},
        )
        assert (code, lines_of(got)) == (1000, [(1, "over wss")])
        for origin in (f"http://{address}", "https://evil.example", f"https://{address}.evil"):
            status = await status_of_handshake(
                url, ssl=tm.trusting(), origin=origin, additional_headers={"Cookie": session}
            )
            assert status == 403, origin
        # the page's own login (a token, once, in a header) and the logout: Secure too
        token = owner_token()
        answer = await asyncio.to_thread(
            https_get,
            address,
            "/api/session",
            tm.trusting(),
            {"Authorization": f"Bearer {token}"},
        )
        assert answer.status == 200 and "; Secure" in (answer.getheader("Set-Cookie") or "")
        answer = await asyncio.to_thread(
            https_get, address, "/logout", tm.trusting(), {"Cookie": session}
        )
        assert answer.status == 303 and "; Secure" in (answer.getheader("Set-Cookie") or "")


@pytest.mark.docker
async def test_the_cli_speaks_tls_to_the_grpc_port_given_the_ca(tmp_path, docker_engine):
    async with tls_master(tmp_path, docker_engine) as tm:
        address = tm.running.grpc_address
        task_id = await tm.run("echo alpha; echo beta >&2; echo gamma")
        await tm.finished(task_id)

        def cli(*args: str) -> tuple[int, str, str]:
            done = master_cli(address, *args, timeout=60)
            return done.returncode, done.stdout, done.stderr

        code, out, err = await asyncio.to_thread(cli, "logs", "--tls-ca", tm.ca_file, task_id)
        assert (code, out.splitlines(), err.splitlines()) == (0, ["alpha", "gamma"], ["beta"])

        # no CA: plaintext on loopback, which a TLS port closes; the message says what to do
        code, out, err = await asyncio.to_thread(cli, "logs", task_id)
        assert code != 0 and out == ""
        assert f"the master at {address} closed the connection" in err and "--tls-ca" in err
        assert len(err.splitlines()) == 1, err  # the message alone (no gRPC log lines)
        code, _, err = await asyncio.to_thread(cli, "list-tasks")
        assert code != 0 and "--tls-ca FILE" in err
        # another CA: the certificate is not trusted
        other = make_ca(tmp_path / "other")
        code, _, err = await asyncio.to_thread(
            cli, "logs", "--tls-ca", str(other.cert_path), task_id
        )
        assert code != 0
        assert err.startswith(f"master: the master at {address} serves a TLS certificate ")
        assert "this client does not trust" in err and "--tls-ca FILE" in err
        assert len(err.splitlines()) == 1, err


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run scripts/setup --browser")
    return CHROMIUM


LINE_TEXTS = """[...document.querySelectorAll('#log .line')].map(l =>
    [...l.children].filter(c => !c.classList.contains('ts')).map(c => c.textContent).join(''))"""


@pytest.mark.docker
@pytest.mark.browser
async def test_a_browser_logs_in_over_https_and_gets_lines_over_wss(
    tmp_path, docker_engine, chromium
):
    from playwright.async_api import async_playwright

    async with tls_master(tmp_path, docker_engine) as tm, async_playwright() as p:
        running = tm.running
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            context = await browser.new_context(ignore_https_errors=True)
            page = await context.new_page()
            problems: list[str] = []
            sockets: list[str] = []
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("websocket", lambda ws: sockets.append(ws.url))
            script = "for i in $(seq 1 20); do echo line $i; sleep 0.05; done"
            task_id = await tm.run(script)
            await goto(page, running.login_link())
            assert page.url == f"https://{running.http_address}/"
            cookies = await context.cookies()
            assert [(c["name"], c["secure"], c["httpOnly"]) for c in cookies] == [
                ("logcast_session", True, True)
            ]
            await goto(page, f"https://{running.http_address}/tasks/{task_id}")
            want = [f"line {i}" for i in range(1, 21)]
            for _ in range(600):  # the page's CSP forbids wait_for_function's string eval
                if await page.evaluate(LINE_TEXTS) == want:
                    break
                await asyncio.sleep(0.05)
            assert await page.evaluate(LINE_TEXTS) == want
            assert sockets and all(u.startswith(f"wss://{running.http_address}/") for u in sockets)
            assert problems == []
        finally:
            await browser.close()


async def test_config_errors_stop_the_master_before_it_listens(tmp_path):
    ca = make_ca(tmp_path)
    cert, key = ca.server_cert(tmp_path, LOOPBACK)
    _, other_key = ca.server_cert(tmp_path, LOOPBACK, name="other")
    base = MasterConfig(
        grpc_listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        cluster_listen="127.0.0.1:0",
        state_dir=tmp_path / "state",
    )
    cases: list[tuple[dict[str, Any], str]] = [
        (dict(grpc_listen="10.255.255.1:0"), "--tls-cert"),
        (dict(http_listen="10.255.255.1:0"), "--tls-cert"),
        (dict(tls_cert=str(cert)), "--tls-cert and --tls-key go together"),
        (dict(tls_key=str(key)), "--tls-cert and --tls-key go together"),
        (dict(tls_cert=str(cert), tls_key=str(other_key)), "are not a PEM certificate and its key"),
        (dict(tls_cert=str(key), tls_key=str(cert)), "are not a PEM certificate and its key"),
        (dict(tls_cert=str(tmp_path / "nope.crt"), tls_key=str(key)), "cannot read"),
    ]
    for overrides, message in cases:
        config = dataclasses.replace(base, **overrides)
        with pytest.raises(ConfigError, match=re.escape(message)):
            async with run_master(config):
                pass
    assert not (tmp_path / "state").exists()  # refused before anything was made


async def test_a_client_is_told_when_tls_does_not_fit_the_master(tmp_path):
    """The client's TLS failures that waiting does not mend come at once, in words."""
    ca = make_ca(tmp_path)
    cert, key = ca.server_cert(tmp_path, ["10.213.5.1", "logs.example"])
    config = MasterConfig(
        grpc_listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        cluster_listen="127.0.0.1:0",
        state_dir=seed(tmp_path / "state"),
    )
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "does not answer TLS (a master started without --tls-cert"),
        ({"tls_cert": str(cert), "tls_key": str(key)}, "certificate does not name 127.0.0.1"),
    ]
    for overrides, message in cases:
        async with run_master(dataclasses.replace(config, **overrides)) as running:
            client = MasterClient(running.grpc_address, tls_ca=str(ca.cert_path))
            async with client:
                with pytest.raises(ConfigError, match=re.escape(message)):
                    await client.wait_connected(8.0)
                with pytest.raises(ConfigError, match=re.escape(message)):
                    await client.tasks()
