"""Fixtures shared by every test layer."""

from __future__ import annotations

import os

import docker
import pytest

TEST_IMAGE = "logcast/busybox:test"
DOCKER_HOST = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


@pytest.fixture(scope="session")
def docker_engine() -> docker.DockerClient:
    """A live Docker engine with the test image. Fails (never skips) when there is none:
    run scripts/setup, which installs and starts one."""
    try:
        client = docker.DockerClient(base_url=DOCKER_HOST, version="auto", timeout=30)
        client.ping()
    except Exception as exc:
        pytest.fail(f"no Docker engine answers at {DOCKER_HOST} ({exc}); run scripts/setup")
    try:
        client.images.get(TEST_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"test image {TEST_IMAGE} missing; run scripts/setup")
    yield client
    client.close()
