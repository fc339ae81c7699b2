"""The browser log view, in real headless Chromium against a real master, worker and Docker."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import uuid

import pytest
from playwright.async_api import Page

from master.config import MasterConfig
from master.master_client import MasterClient
from master.running import run_master
from master.tui.sanitize import plain_text
from shared.model import TaskSpec
from tests.browser import goto
from tests.cluster import provision
from tests.fixtures import TEST_IMAGE, eventually
from tests.integration.test_fanout import numbered
from tests.procs import MASTER, free_port

pytestmark = [pytest.mark.docker, pytest.mark.browser, pytest.mark.asyncio]

LINE_TEXTS = """[...document.querySelectorAll('#log .line')].map(l =>
    [...l.children].filter(c => !c.classList.contains('ts')).map(c => c.textContent).join(''))"""
LINE_SEQS = "[...document.querySelectorAll('#log .line')].map(l => Number(l.dataset.seq))"


async def run(address: str, script: str) -> str:
    async with MasterClient(address) as client:
        info = await client.run(TaskSpec("", TEST_IMAGE, ("sh", "-c", script)))
    return info.task_id


async def run_to_end(address: str, script: str) -> str:
    """:func:`run`, and wait for the task's end (its whole log is stored)."""
    task_id = await run(address, script)
    async with MasterClient(address) as client:
        async for batch in client.stream(task_id):
            if batch.end is not None:
                break
    return task_id


async def open_task(browser, running, task_id: str) -> tuple[Page, list[str]]:
    page = await browser.new_page(accept_downloads=True)
    problems: list[str] = []
    page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    await goto(page, running.login_link())  # the single-use link `master serve` prints
    await goto(page, f"http://{running.http_address}/tasks/{task_id}")
    return page, problems


async def until(page: Page, expression: str, timeout: float = 30.0) -> None:
    """Poll a JS expression until it is true. (Playwright's wait_for_function evaluates strings
    inside the page, which the page's Content-Security-Policy rightly forbids.)"""
    for _ in range(int(timeout / 0.05)):
        if await page.evaluate(expression):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {expression}")


async def wait_banner(page: Page) -> str:
    await page.wait_for_selector("#banner:not([hidden])", timeout=30_000)
    return await page.text_content("#banner") or ""


async def test_page_shows_lines_as_they_come_and_the_final_status(browser, master_factory):
    async with master_factory() as (running, _):
        script = (
            'for i in $(seq 1 60); do printf "\\033[3%dmline %d\\033[0m\\n" $((i % 7)) $i; '
            '[ $((i % 10)) -eq 0 ] && echo "warn $i" >&2; sleep 0.05; done; exit 4'
        )
        task_id = await run(running.grpc_address, script)
        page, problems = await open_task(browser, running, task_id)
        await until(page, "document.querySelectorAll('#log .line').length >= 5")
        partial = await page.evaluate(LINE_TEXTS)
        assert len(partial) < 66  # lines arrive while the task runs
        assert "failed" not in (await page.text_content("#conn"))
        banner = await wait_banner(page)
        assert "Task Completed - Status: failed (exit code 4)" in banner
        shown = await page.evaluate(LINE_TEXTS)
        plain = await asyncio.to_thread(
            subprocess.run,
            [MASTER, "monitor", task_id, "--plain", "--master", running.grpc_address],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert plain.returncode == 1
        assert shown == [plain_text(ln) for ln in plain.stdout.splitlines()]
        assert len(shown) == 66
        assert await page.locator("#log .line.stderr").count() == 6
        red = page.locator("#log .line span.fg-1").first
        assert await red.text_content() == "line 1"
        assert await page.text_content("#conn") == "finished"
        assert problems == []


async def test_html_in_log_lines_is_shown_as_text_and_never_runs(browser, master_factory):
    async with master_factory() as (running, _):
        evil = [
            "<img src=x onerror=alert(1)>",
            "</script><script>alert(1)</script>",
            '<a href="javascript:alert(1)">x</a>',
            "&lt;b&gt;not bold&lt;/b&gt;",
        ]
        script = "; ".join(f"echo '{line}'" for line in evil)
        task_id = await run(running.grpc_address, script)
        page, problems = await open_task(browser, running, task_id)
        await wait_banner(page)
        await page.wait_for_timeout(300)  # give an injected handler every chance to fire
        assert await page.evaluate(LINE_TEXTS) == evil
        assert await page.locator("#log img, #log script, #log a").count() == 0
        assert problems == []


async def test_filter_follow_and_download_work_like_a_person_uses_them(browser, master_factory):
    async with master_factory() as (running, _):
        script = (
            "for i in $(seq 1 300); do "
            'if [ $((i % 50)) -eq 0 ]; then echo "ERROR at $i"; else echo "ok $i"; fi; done; '
            "sleep 2; "
            'for i in $(seq 301 320); do echo "late $i"; sleep 0.1; done'
        )
        task_id = await run(running.grpc_address, script)
        page, problems = await open_task(browser, running, task_id)
        await page.set_viewport_size({"width": 900, "height": 400})
        await until(page, "document.querySelectorAll('#log .line').length >= 300")

        # filter: type, only matches remain (highlighted); clear, everything is back
        await page.click("#filter")
        await page.keyboard.type("error")
        await until(page, "document.querySelectorAll('#log .line').length === 6")
        assert await page.evaluate(LINE_TEXTS) == [f"ERROR at {i}" for i in range(50, 301, 50)]
        assert await page.locator("#log mark").first.text_content() == "ERROR"
        await page.fill("#filter", "")
        await until(page, "document.querySelectorAll('#log .line').length >= 300")

        # follow: scrolling up pauses it, new lines do not move the view; the button resumes
        log = page.locator("#log")
        await log.hover()
        await page.mouse.wheel(0, -3000)
        await until(
            page, "document.getElementById('follow').getAttribute('aria-pressed') === 'false'"
        )
        top = await log.evaluate("el => el.scrollTop")
        await until(page, "!document.getElementById('follow').textContent.includes('(0 new)')")
        assert await log.evaluate("el => el.scrollTop") == top
        await page.click("#follow")
        await until(
            page,
            "(el => el.scrollHeight - el.scrollTop - el.clientHeight < 8)"
            "(document.getElementById('log'))",
        )
        await wait_banner(page)

        # download: the whole stored log, from the server's export (not the page's copy)
        export = f"/api/tasks/{task_id}/log?format=text"
        assert await page.get_attribute("#download", "href") == export
        async with page.expect_download() as event:
            await page.click("#download")
        download = await event.value
        text = (await download.path()).read_text(encoding="utf-8")
        expected = [f"ERROR at {i}" if i % 50 == 0 else f"ok {i}" for i in range(1, 301)]
        expected += [f"late {i}" for i in range(301, 321)]
        assert text.splitlines() == expected
        assert download.suggested_filename == f"{task_id}.log"
        await page.check("#timestamps")
        assert await page.get_attribute("#download", "href") == export + "&timestamps=1"
        assert problems == []


async def test_page_reconnects_after_a_master_restart_without_duplicates(
    browser, worker_factory, tmp_path
):
    grpc_port, http_port, cluster_port = free_port(), free_port(), free_port()
    config = MasterConfig(
        grpc_listen=f"127.0.0.1:{grpc_port}",
        http_listen=f"127.0.0.1:{http_port}",
        cluster_listen=f"127.0.0.1:{cluster_port}",
        worker_timeout=2.0,
    )
    name = f"w{uuid.uuid4().hex[:8]}"
    # the worker starts first (it joined before): its certificate names the master's cluster port
    provision(tmp_path / "worker", name, f"127.0.0.1:{cluster_port}")
    async with worker_factory(
        master=f"127.0.0.1:{grpc_port}", name=name, data_dir=tmp_path / "worker"
    ):
        first = contextlib.AsyncExitStack()
        running = await first.enter_async_context(run_master(config))
        await eventually(lambda: running.master.registry.workers(), "the worker to register")
        task_id = await run(running.grpc_address, numbered(300, "sleep 0.02"))
        page, problems = await open_task(browser, running, task_id)
        await until(page, "document.querySelectorAll('#log .line').length >= 20")
        await first.aclose()  # the master goes away: the page's connection breaks
        await until(page, "document.getElementById('conn').dataset.state === 'reconnecting'")
        async with run_master(config) as again:  # and comes back on the same ports
            assert again.http_address == running.http_address
            banner = await wait_banner(page)
            seqs = await page.evaluate(LINE_SEQS)
            texts = await page.evaluate(LINE_TEXTS)
        assert "Task Completed - Status: success" in banner
        assert seqs == list(range(1, 301))  # every line once, in order
        assert texts == [f"seq={i}" for i in range(1, 301)]
        assert problems == []
