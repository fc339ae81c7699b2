"""Adapter: create, start, inspect, stop and remove task containers with docker-py.

docker-py is blocking; every call runs in a small dedicated thread pool so the event loop never
waits on Docker. Waiting for a container to exit is not a blocking ``wait()`` per task: the
end of the container's log stream says it stopped, and :meth:`ContainerRuntime.inspect` reads
the exit code.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig

from shared.errors import ContainerGone, DockerUnavailable, TaskExists, TaskStartFailed
from shared.limits import TaskLimits
from shared.model import TaskSpec

T = TypeVar("T")

LABEL_TASK = "logcast.task"
LABEL_WORKER = "logcast.worker"
LABEL_INSTANCE = "logcast.instance"  # the worker's instance id (worker.instance): whose it is


@dataclass(frozen=True, slots=True)
class ContainerState:
    """What ``inspect`` says about a container."""

    container_id: str
    task_id: str
    running: bool
    exit_code: int | None
    oom_killed: bool
    error: str
    tty: bool
    image: str
    command: tuple[str, ...]


class ContainerRuntime:
    """Task containers on one Docker engine."""

    def __init__(self, docker_host: str, *, threads: int = 8) -> None:
        self.docker_host = docker_host
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="docker")
        self._client: docker.DockerClient | None = None

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))
        except docker.errors.NotFound as exc:
            raise ContainerGone(_explain(exc)) from exc
        except docker.errors.APIError as exc:
            raise DockerUnavailable(f"Docker refused: {_explain(exc)}") from exc
        except (
            docker.errors.DockerException,
            requests.exceptions.RequestException,
            OSError,
        ) as exc:
            raise DockerUnavailable(f"cannot reach Docker at {self.docker_host}: {exc}") from exc

    def _docker(self) -> docker.DockerClient:
        if self._client is None:
            self._client = docker.DockerClient(
                base_url=self.docker_host, version="auto", timeout=30
            )
        return self._client

    async def ping(self) -> None:
        """Raise :class:`DockerUnavailable` unless the engine answers."""
        await self._call(lambda: self._docker().ping())

    async def create(
        self,
        spec: TaskSpec,
        worker: str,
        *,
        instance: str,
        log_options: dict[str, str] | None = None,
        limits: TaskLimits | None = None,
    ) -> str:
        """Create (not start) the container of ``spec``, labelled with its task, its worker's
        name and the worker's ``instance`` id; return its id. ``log_options``: the
        json-file driver's (``max-size``, ``max-file``: Docker's own copy stays bounded);
        ``limits``: its memory, CPUs and processes (see :func:`resources`)."""

        def create() -> str:
            try:
                container = self._docker().containers.create(
                    spec.image,
                    list(spec.command) or None,
                    name=f"logcast-{worker}-{spec.task_id}",
                    environment=dict(spec.env),
                    tty=spec.tty,
                    labels={
                        LABEL_TASK: spec.task_id,
                        LABEL_WORKER: worker,
                        LABEL_INSTANCE: instance,
                    },
                    log_config=LogConfig(type=LogConfig.types.JSON, config=log_options or {}),
                    **resources(limits or TaskLimits()),
                )
            except docker.errors.ImageNotFound as exc:
                raise TaskStartFailed(
                    f"image {spec.image!r} is not on this worker (logcast does not pull images)"
                ) from exc
            except docker.errors.APIError as exc:
                if exc.status_code == 409:
                    raise TaskExists(f"a container for {spec.task_id} already exists") from exc
                if exc.status_code is not None and 400 <= exc.status_code < 500:
                    raise TaskStartFailed(f"cannot create the container: {_explain(exc)}") from exc
                raise
            return str(container.id)

        return await self._call(create)

    async def start(self, container_id: str) -> None:
        """Start a created container."""

        def start() -> None:
            try:
                self._docker().api.start(container_id)
            except docker.errors.APIError as exc:
                if exc.status_code is not None and exc.status_code != 404:
                    # e.g. "exec: "nosuch": executable file not found in $PATH"
                    raise TaskStartFailed(f"cannot start the container: {_explain(exc)}") from exc
                raise

        await self._call(start)

    async def inspect(self, container_id: str) -> ContainerState:
        """The container's state, exit code and labels."""
        data = await self._call(lambda: self._docker().api.inspect_container(container_id))
        return _state(data)

    async def saw_oom(self, container_id: str, since: float, wait: float) -> bool:
        """Whether Docker reported an ``oom`` event for the container since ``since`` (epoch
        seconds), waiting up to ``wait`` seconds more for one.

        Docker 20.10 marks a container ``OOMKilled`` only when containerd's OOM event comes
        before its exit event, and containerd does not promise that order (containerd#12714):
        a late one leaves ``OOMKilled`` false for good, but is still published as an event.
        The engine keeps only its most recent events (256), so ask soon after the exit."""

        def find() -> bool:
            stream = self._docker().api.events(
                since=math.floor(since),
                until=math.ceil(time.time() + wait),  # the answer ends at ``until``
                filters={"container": container_id, "event": "oom"},
                decode=True,
            )
            try:
                return any(True for _event in stream)
            finally:
                stream.close()

        return await self._call(find)

    async def stop(self, container_id: str, grace: float) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds."""
        await self._call(lambda: self._docker().api.stop(container_id, timeout=max(0, int(grace))))

    async def remove(self, container_id: str) -> None:
        """Remove the container (and its log)."""
        try:
            await self._call(lambda: self._docker().api.remove_container(container_id, force=True))
        except ContainerGone:
            pass

    async def list_tasks(self, worker: str, instance: str) -> list[ContainerState]:
        """Every container this worker created, running or not: those with its name and its
        instance id (another worker of the same name on this engine has another id)."""

        def find() -> list[dict[str, Any]]:
            api = self._docker().api
            mine = [f"{LABEL_WORKER}={worker}", f"{LABEL_INSTANCE}={instance}"]  # both
            found = api.containers(all=True, filters={"label": mine})
            states = []
            for c in found:
                try:
                    states.append(api.inspect_container(c["Id"]))
                except docker.errors.NotFound:
                    continue  # removed meanwhile
            return states

        return [_state(d) for d in await self._call(find)]

    async def close(self) -> None:
        """Release the thread pool and the client."""
        if self._client is not None:
            client, self._client = self._client, None
            await asyncio.get_running_loop().run_in_executor(self._pool, client.close)
        self._pool.shutdown(wait=False, cancel_futures=True)


def _state(data: dict[str, Any]) -> ContainerState:
    state = data.get("State") or {}
    config = data.get("Config") or {}
    running = bool(state.get("Running")) or bool(state.get("Restarting"))
    status = str(state.get("Status", ""))
    exit_code = None if running or status == "created" else int(state.get("ExitCode", 0))
    labels = config.get("Labels") or {}
    return ContainerState(
        container_id=str(data.get("Id", "")),
        task_id=str(labels.get(LABEL_TASK, "")),
        running=running,
        exit_code=exit_code,
        oom_killed=bool(state.get("OOMKilled")),
        error=str(state.get("Error") or ""),
        tty=bool(config.get("Tty")),
        image=str(config.get("Image", "")),
        command=tuple(config.get("Cmd") or ()),
    )


def _explain(exc: docker.errors.DockerException) -> str:
    if isinstance(exc, docker.errors.APIError) and exc.explanation:
        return str(exc.explanation)
    return str(exc)


def resources(limits: TaskLimits) -> dict[str, Any]:
    """docker-py's ``create`` arguments for ``limits`` (0: none). The memory limit includes
    swap (``memswap_limit`` = ``mem_limit``): a task cannot go past it by swapping. No
    process limit is ``-1`` (unlimited, whatever the engine's default). The timeout is the
    executor's (Docker has none)."""
    out: dict[str, Any] = {"pids_limit": limits.pids_limit or -1}
    if limits.memory:
        out["mem_limit"] = out["memswap_limit"] = limits.memory
    if limits.cpus:
        out["nano_cpus"] = round(limits.cpus * 1e9)
    return out
