"""The merged page of several tasks (/tasks?ids=A,B), in real headless Chromium against a real
master, worker and Docker: reached from the task list's selection, lines tagged with their
task in the task's colour, each task's end, and a reconnect that resumes every task exactly.

With ``LOGCAST_WRITE_DOCS=1`` the test also writes its screenshot to docs/merged.png (else to
a temporary directory: a normal run leaves the repository as it was)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.merge import colour_index
from tests.browser import goto
from tests.web.test_page import run, until, wait_banner

pytestmark = [pytest.mark.docker, pytest.mark.browser, pytest.mark.asyncio]

DOCS = Path(__file__).resolve().parents[2] / "docs"
ROWS = """[...document.querySelectorAll('#log .line')].map(l => [
    l.dataset.task, Number(l.dataset.seq), l.querySelector('.tag').textContent,
    l.querySelector('.tag').className, l.querySelector('.ts').textContent,
    [...l.children].filter(c => !c.classList.contains('ts') && !c.classList.contains('tag'))
        .map(c => c.textContent).join('')])"""
EVIL = "<img src=x onerror=alert(1)>"


def script(name: str, n: int, pause: str, last: str = "exit 0") -> str:
    return f'i=1; while [ $i -le {n} ]; do echo "{name} step $i"; {pause}; i=$((i+1)); done; {last}'


async def test_the_merged_page_tags_each_tasks_lines_and_shows_each_end(
    browser, master_factory, tmp_path
):
    async with master_factory() as (running, _):
        a = await run(running.grpc_address, script("build", 12, "sleep 0.15"))
        b = await run(
            running.grpc_address, script("tests", 10, "sleep 0.2", f"echo '{EVIL}'; exit 3")
        )
        page = await browser.new_page()
        problems: list[str] = []
        page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        await page.set_viewport_size({"width": 1100, "height": 560})
        await goto(page, running.login_link())
        # the task list: pick both, open them together
        await goto(page, f"http://{running.http_address}/")
        await until(page, f"document.querySelector('input[data-task=\"{b}\"]') !== null")
        assert await page.get_attribute("#view-selected", "aria-disabled") == "true"
        await page.check(f"input[data-task='{a}']")
        await page.check(f"input[data-task='{b}']")
        assert await page.text_content("#selected-count") == "2 selected"
        await page.click("#view-selected")
        await until(page, "location.pathname === '/tasks'")
        assert page.url.endswith(f"/tasks?ids={a},{b}")

        await until(page, "document.querySelectorAll('#log .line').length >= 4")
        banner = await wait_banner(page)
        assert f"{a}: Task Completed - Status: success (exit code 0)" in banner
        assert f"{b}: Task Completed - Status: failed (exit code 3)" in banner
        assert "bad" in (await page.get_attribute("#banner", "class") or "")
        rows = await page.evaluate(ROWS)
        assert [r[5] for r in rows if r[0] == a] == [f"build step {i}" for i in range(1, 13)]
        assert [r[5] for r in rows if r[0] == b] == [
            *(f"tests step {i}" for i in range(1, 11)),
            EVIL,  # shown as text
        ]
        for task, _, tag, classes, _, _ in rows:
            assert tag == task and f"tag-{colour_index(task)}" in classes.split()
        stamps = [r[4] for r in rows]
        assert stamps == sorted(stamps)  # by Docker timestamp across both tasks
        assert await page.locator("#log img").count() == 0
        # each end in the pane, after its task's last line, and on its chip
        notices = await page.locator("#log .notice").all_text_contents()
        assert f"{a}: Task Completed - Status: success (exit code 0)" in notices
        assert await page.text_content(f"#chips [data-task='{a}'] .chip-status") == "success"
        assert await page.text_content(f"#chips [data-task='{b}'] .chip-status") == "failed"
        chip_class = await page.get_attribute(f"#chips [data-task='{b}']", "class") or ""
        assert f"tag-{colour_index(b)}" in chip_class.split()
        assert await page.text_content("#conn") == "finished"
        shot = (DOCS if os.environ.get("LOGCAST_WRITE_DOCS") == "1" else tmp_path) / "merged.png"
        await page.screenshot(path=str(shot))
        assert problems == []


async def test_after_a_reconnect_the_page_resumes_every_task_without_a_duplicate(
    browser, master_factory
):
    async with master_factory() as (running, _):
        a = await run(running.grpc_address, script("a", 50, "sleep 0.04"))
        b = await run(running.grpc_address, script("b", 40, "sleep 0.05"))
        page = await browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        await goto(page, running.login_link())
        await goto(page, f"http://{running.http_address}/tasks?ids={a},{b}")
        await until(page, "document.querySelectorAll('#log .line').length >= 10")
        await running.web.going_away()  # the master says it restarts, closes every stream
        running.web.stopping = False  # ... and is back: the page reconnects with after=A:N,B:M
        await wait_banner(page)
        rows = await page.evaluate(ROWS)
        assert [r[1] for r in rows if r[0] == a] == list(range(1, 51))  # no duplicate, no hole
        assert [r[1] for r in rows if r[0] == b] == list(range(1, 41))
        assert problems == []


async def test_a_page_without_valid_ids_says_so(browser, master_factory):
    async with master_factory() as (running, _):
        page = await browser.new_page()
        await goto(page, running.login_link())
        await goto(page, f"http://{running.http_address}/tasks?ids=task-a,../x")
        await until(page, "document.getElementById('conn').dataset.state === 'error'")
        assert "valid task ids" in (await page.text_content("#conn") or "")
