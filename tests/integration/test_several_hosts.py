"""logcast across hosts: a master and two workers, each in a network namespace of its own
(separate network stacks joined by a bridge, private addresses), and a client in a fourth.
The workers join with a join token; tasks run on both; the client, holding only tokens and
the CA that signed the master's certificate, runs and reads them over TLS (gRPC and WSS).
Nothing without a certificate or a token gets in. Real processes, real Docker, real TLS."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests.fixtures import TEST_IMAGE, remove_containers
from tests.netns import Network, network, skip_unless_possible
from tests.procs import MASTER, WORKER
from tests.tlscerts import make_ca

pytestmark = [pytest.mark.docker]

GRPC, HTTP, CLUSTER, WORKER_PORT = 50051, 8443, 50053, 50052


class Hosts:
    """The test's four hosts and the files each keeps."""

    def __init__(self, net: Network, tmp: Path) -> None:
        self.net = net
        self.tmp = tmp
        self.master = f"{net.address('master')}:{GRPC}"
        self.procs: list[tuple[subprocess.Popen[str], Path]] = []

    def start(self, host: str, argv: list[str], env: dict[str, str]) -> Path:
        log = self.tmp / f"{host}.log"
        with open(log, "a") as out:
            proc = self.net.popen(host, argv, env=env, stderr=out)
        self.procs.append((proc, log))
        return log

    def state(self, host: str) -> dict[str, str]:
        """A host's own state directory: what its logcast commands find there (the master's
        host: the owner's credential; elsewhere: nothing)."""
        path = self.tmp / f"state-{host}"
        path.mkdir(exist_ok=True, mode=0o700)
        return {"LOGCAST_STATE_DIR": str(path)}

    def cli(
        self, host: str, *args: str, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """``master ARGS --master MASTER`` run on ``host``."""
        head = 2 if args[0] == "token" else 1
        argv = [MASTER, *args[:head], "--master", self.master, *args[head:]]
        return self.net.run(host, argv, env={**self.state(host), **(env or {})}, timeout=timeout)

    def python(self, host: str, code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return self.net.run(
            host, [sys.executable, "-c", code], env=self.state(host), timeout=timeout
        )


def wait_for(
    predicate: Callable[[], bool], what: str, timeout: float = 60.0, logs: Sequence[Path] = ()
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    raise AssertionError(f"timed out waiting for {what}\n{tails}")


def test_a_master_two_workers_and_a_client_on_four_hosts(tmp_path, docker_engine):
    skip_unless_possible()
    suffix = uuid.uuid4().hex[:6]
    names = [f"host-a-{suffix}", f"host-b-{suffix}"]
    ca = make_ca(tmp_path / "pki")  # the organisation's CA: it signs the master's certificate
    with network(["master", "w1", "w2", "client"]) as net:
        hosts = Hosts(net, tmp_path)
        m = net.address("master")
        cert, key = ca.server_cert(tmp_path / "pki", [m])
        master_log = hosts.start(
            "master",
            [MASTER, "serve", "--grpc", f"{m}:{GRPC}", "--http", f"{m}:{HTTP}",
             "--cluster", f"{m}:{CLUSTER}", "--tls-cert", str(cert), "--tls-key", str(key),
             "--worker-timeout", "3"],
            hosts.state("master"),
        )  # fmt: skip
        wait_for(lambda: "listening on" in master_log.read_text(), "the master", logs=[master_log])
        tls = ["--tls-ca", str(ca.cert_path)]
        try:
            # on the master's host, its owner makes a join token and the client's tokens
            made = hosts.cli("master", "join-token", *tls)
            assert made.returncode == 0, made.stderr
            join_token = made.stdout.strip()
            operator = hosts.cli("master", "token", "create", "--role", "operator", *tls)
            viewer = hosts.cli("master", "token", "create", "--role", "viewer", *tls)
            operator_token, viewer_token = operator.stdout.strip(), viewer.stdout.strip()
            assert operator_token.startswith("lct_") and viewer_token.startswith("lct_")

            # each worker host: `worker serve --master --join-token`, listening on its address
            logs = [master_log]
            for host, name in zip(("w1", "w2"), names, strict=True):
                logs.append(
                    hosts.start(
                        host,
                        [WORKER, "serve", "--name", name, "--master", hosts.master,
                         "--listen", f"{net.address(host)}:{WORKER_PORT}", *tls],
                        {**hosts.state(host), "LOGCAST_JOIN_TOKEN": join_token},
                    )
                )  # fmt: skip

            def workers() -> list[dict[str, object]]:
                out = hosts.cli("master", "workers", "--json", *tls)
                return json.loads(out.stdout) if out.returncode == 0 else []

            wait_for(
                lambda: sorted(str(w["name"]) for w in workers() if w["alive"]) == names,
                "both workers to join and report",
                logs=logs,
            )
            addresses = {str(w["name"]): str(w["address"]) for w in workers()}
            assert addresses == {
                names[0]: f"{net.address('w1')}:{WORKER_PORT}",
                names[1]: f"{net.address('w2')}:{WORKER_PORT}",
            }

            # the client host runs two tasks (one lands on each worker) and reads them
            op = {"LOGCAST_TOKEN": operator_token}
            task_ids = []
            for i in (1, 2):
                script = f"echo task {i} on $(hostname); seq 1 200; sleep 3"
                run = hosts.cli(
                    "client", "run", *tls, "--image", TEST_IMAGE, "--", "sh", "-c", script, env=op
                )
                assert run.returncode == 0, run.stderr
                task_ids.append(run.stdout.strip())
            placed = {}
            for task_id in task_ids:
                shown = hosts.cli("client", "logs", *tls, "--follow", task_id, env=op)
                assert shown.returncode == 0, shown.stderr
                lines = shown.stdout.splitlines()
                assert lines[1:] == [str(n) for n in range(1, 201)], lines[:5]
                info = hosts.cli("client", "list-tasks", *tls, "--json", env=op)
                placed[task_id] = next(
                    t["worker"] for t in json.loads(info.stdout) if t["task_id"] == task_id
                )
            assert sorted(placed.values()) == names  # one task on each worker

            # a viewer reads over WSS from the client host, with the CA and a Bearer token
            wss = hosts.python("client", WSS_READ.format(
                url=f"wss://{m}:{HTTP}/logs/{task_ids[0]}", ca=ca.cert_path, token=viewer_token
            ))  # fmt: skip
            assert wss.returncode == 0, wss.stderr
            assert wss.stdout.split() == ["200", "success"], wss.stdout

            # what is refused, from the client host
            refused = hosts.python("client", PROBES.format(
                master=m, cluster=CLUSTER, grpc=GRPC, http=HTTP,
                worker=f"{net.address('w1')}:{WORKER_PORT}", worker_name=names[0],
                ca=ca.cert_path, cluster_ca=tmp_path / "state-master" / "ca.crt",
            ))  # fmt: skip
            assert refused.returncode == 0, refused.stderr
            assert json.loads(refused.stdout) == {
                "heartbeat without a certificate": "UNAVAILABLE",
                "worker call without a certificate": "UNAVAILABLE",
                "gRPC in plaintext": "UNAVAILABLE",
                "web page in plaintext": "refused",
                "join without a token": "UNAUTHENTICATED",
            }
            no_ca = hosts.cli("client", "list-tasks", env=op)  # the system's CAs: not ours
            assert no_ca.returncode != 0
            viewer_run = hosts.cli(
                "client", "run", *tls, "--image", TEST_IMAGE, "--", "true",
                env={"LOGCAST_TOKEN": viewer_token},
            )  # fmt: skip
            assert viewer_run.returncode == 2 and "operator" in viewer_run.stderr
            bad_join = net.run(
                "client",
                [WORKER, "serve", "--name", "intruder", "--master", hosts.master, *tls],
                env={**hosts.state("client"), "LOGCAST_JOIN_TOKEN": join_token[:-2] + "xx"},
                timeout=60,
            )
            assert bad_join.returncode == 2 and "refused to join" in bad_join.stderr
            assert "intruder" not in json.dumps(workers())
        finally:
            for proc, _ in hosts.procs:
                proc.terminate()
            for proc, _ in hosts.procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            for name in names:
                remove_containers(docker_engine.api, name)


WSS_READ = """
import asyncio, json, ssl
from websockets.asyncio.client import connect

async def main():
    context = ssl.create_default_context(cafile="{ca}")
    lines, status = 0, ""
    headers = {{"Authorization": "Bearer {token}"}}
    async with connect("{url}", ssl=context, additional_headers=headers) as ws:
        async for message in ws:
            frame = json.loads(message)
            if frame.get("isComplete"):
                status = frame["status"]
                break
            if frame.get("type") == "log" and frame["content"].isdigit():
                lines += 1
    print(lines, status)

asyncio.run(main())
"""

PROBES = """
import asyncio, json, ssl, urllib.request
import grpc
from shared import pki
from shared.protos import logcast_pb2 as pb, logcast_pb2_grpc as pb_grpc

ca = open("{ca}", "rb").read()  # what signed the master's client-facing certificate
cluster_ca = open("{cluster_ca}", "rb").read()  # the master's own CA: public, but no key

def mutual(address, dns):  # TLS that trusts the master's CA, without a certificate
    options = [("grpc.ssl_target_name_override", dns)]
    return grpc.aio.secure_channel(address, grpc.ssl_channel_credentials(cluster_ca), options)

async def code(call):
    try:
        await call()
    except grpc.aio.AioRpcError as err:
        return err.code().name
    return "OK"

async def main():
    out = {{}}
    cluster = pb_grpc.ClusterStub(mutual("{master}:{cluster}", pki.MASTER_DNS))
    beat = pb.HeartbeatRequest(name="intruder", address="10.0.0.1:1")
    out["heartbeat without a certificate"] = await code(lambda: cluster.Heartbeat(beat, timeout=9))
    worker = pb_grpc.WorkerStub(mutual("{worker}", pki.worker_dns("{worker_name}")))
    listing = pb.ListTasksRequest()
    call = lambda: worker.ListTasks(listing, timeout=9)
    out["worker call without a certificate"] = await code(call)
    plain = grpc.aio.insecure_channel("{master}:{grpc}")
    out["gRPC in plaintext"] = await code(lambda: pb_grpc.MasterStub(plain).ListTasks(
        pb.ListTasksRequest(), timeout=10))
    try:
        urllib.request.urlopen("http://{master}:{http}/", timeout=10).read()
        out["web page in plaintext"] = "served"
    except OSError:
        out["web page in plaintext"] = "refused"
    secure = grpc.aio.secure_channel("{master}:{grpc}", grpc.ssl_channel_credentials(ca))
    csr = pki.signing_request(pki.new_key(), pki.worker_cn("intruder"))
    out["join without a token"] = await code(lambda: pb_grpc.MasterStub(secure).Join(
        pb.JoinRequest(name="intruder", csr=csr), timeout=10))
    print(json.dumps(out))

asyncio.run(main())
"""
