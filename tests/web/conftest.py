"""Headless Chromium (Debian's, driven by Playwright; never a downloaded browser)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run scripts/setup --browser")
    return CHROMIUM


@pytest_asyncio.fixture
async def browser(chromium) -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=chromium, args=FLAGS)
        yield b
        await b.close()


@pytest_asyncio.fixture
async def web_only(tmp_path) -> AsyncIterator[str]:
    """The master's web server on 127.0.0.1:0 with in-memory workers (no Docker): for tests of
    the page's own scripts. Yields its address."""
    from master.access import MasterAccess
    from master.config import MasterConfig
    from master.coordinator import Master
    from master.web_server import run_web
    from tests.access import seed
    from tests.fakes.workers import FakeWorkers

    config = MasterConfig()
    master = Master(config, FakeWorkers())
    access = MasterAccess(seed(tmp_path / "state"))
    access.open()
    async with run_web(master, access, config.web_dir, "127.0.0.1", 0) as (server, _):
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"127.0.0.1:{port}"
    await master.close()
