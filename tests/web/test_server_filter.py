"""The task page's filter box on the server, in real headless Chromium against a real master,
worker and Docker: when the page does not hold the whole log, the filter opens a filtered
stream (the worker filters the whole stored log, then the live lines), says so, resumes it
exactly after a break, and Download saves the lines that pass; when the page holds the whole
log, the filter stays on the lines it holds."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Page, WebSocketRoute

from master.master_client import MasterClient
from tests.browser import goto
from tests.web.test_page import LINE_SEQS, LINE_TEXTS, open_task, run, until, wait_banner

pytestmark = [pytest.mark.docker, pytest.mark.browser, pytest.mark.asyncio]

LINES = 3000  # the page holds the last 1,000 of them
MARKERS = (10, 1500, 2500)  # 10 and 1500: far older than anything the page holds
ODD = 20  # a line holding a regex that RE2 refuses and JavaScript takes, as text
LATE = (  # printed while the page is open
    'sleep 5; echo "seq=3001"; echo "seq=3002 marker-q live"; sleep 0.3; '
    'echo "seq=3003"; echo "seq=3004 marker-q live"'
)
LATE_MARKERS = (3002, 3004)


def script(late: str = "") -> str:
    body = (
        f"i=1; while [ $i -le {LINES} ]; do case $i in "
        f'{"|".join(map(str, MARKERS))}) echo "seq=$i marker-q";; '
        f"{ODD}) echo 'seq={ODD} odd x(?=y) text';; "
        '*) echo "seq=$i";; esac; i=$((i+1)); done'
    )
    return f"{body}; {late}" if late else body


def text_of(seq: int) -> str:
    if seq in LATE_MARKERS:
        return f"seq={seq} marker-q live"
    if seq in MARKERS:
        return f"seq={seq} marker-q"
    return f"seq={ODD} odd x(?=y) text" if seq == ODD else f"seq={seq}"


async def wait_for_line(address: str, task_id: str, seq: int) -> None:
    """Until the task has printed line ``seq``, or ended."""
    async with MasterClient(address) as client:
        async for batch in client.stream(task_id):
            if batch.end is not None or any(ln.seq >= seq for ln in batch.lines):
                return


async def open_routed(browser, running, task_id: str) -> tuple[Page, list[str], list, list]:
    """The task page, its log WebSockets passed through Playwright (which can break them).
    Returns the page, its problems (console errors too), each WebSocket's query (in order)
    and their routes."""
    page, problems = await open_task(browser, running, task_id)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    queries: list[dict[str, list[str]]] = []
    routes: list[WebSocketRoute] = []

    def handler(ws: WebSocketRoute) -> None:
        queries.append(parse_qs(urlsplit(ws.url).query))
        routes.append(ws)
        ws.connect_to_server()

    await page.route_web_socket("**/logs/**", handler)
    await page.reload()  # (the page's stream, now through the route)
    return page, problems, queries, routes


async def seqs_are(page: Page, seqs: list[int] | tuple[int, ...]) -> None:
    await until(page, f"{LINE_SEQS}.join() === '{','.join(map(str, seqs))}'")


async def counts_are(page: Page, text: str) -> None:
    await until(page, f"document.getElementById('counts').textContent === '{text}'")


async def note(page: Page) -> str | None:
    """The note that the filter runs on the server (None: hidden)."""
    if await page.is_hidden("#filter-scope"):
        return None
    return await page.text_content("#filter-scope")


async def test_filter_reaches_the_whole_log_on_the_server_then_live_lines(browser, master_factory):
    async with master_factory() as (running, _):
        task_id = await run(running.grpc_address, script(LATE))
        await wait_for_line(running.grpc_address, task_id, LINES)
        page, problems, queries, routes = await open_routed(browser, running, task_id)
        await counts_are(page, "1000 lines")
        held = await page.evaluate(LINE_SEQS)
        assert held[-1] == LINES and held[0] > LINES - 1000  # lines 10 and 1500: far older
        assert await note(page) is None
        assert queries == [{"batch": ["1"]}]

        # typed: the page reopens its stream filtered on the server; the old matches come,
        # each with its own seq, and the note says where the filter runs
        await page.fill("#filter", "marker-q")
        await seqs_are(page, MARKERS)
        assert await page.evaluate(LINE_TEXTS) == [text_of(s) for s in MARKERS]
        assert await note(page) == "filter: whole log (server)"
        assert await page.text_content("#counts") == "3 matches"
        assert await page.locator("#log mark").count() == 3
        assert queries[-1] == {"batch": ["1"], "grep": ["marker-q"], "i": ["1"]}
        assert await page.is_hidden("#banner")  # the late lines are yet to come

        # Download: the same filter, over the whole log
        href = await page.get_attribute("#download", "href")
        assert href is not None
        assert parse_qs(urlsplit(href).query) == {
            "format": ["text"], "grep": ["marker-q"], "i": ["1"]
        }  # fmt: skip
        assert await page.text_content("#download") == "Download (filtered)"
        response = await page.request.get(f"http://{running.http_address}{href}")
        assert response.ok
        assert (await response.text()).splitlines() == [text_of(s) for s in MARKERS]

        # a break: the page resumes the filtered stream after its last line, filter kept
        opened = len(queries)
        await routes[-1].close(code=1001, reason="going away")
        for _ in range(100):  # (the page waits 0.5 s, then reconnects)
            if len(queries) > opened:
                break
            await page.wait_for_timeout(50)
        assert queries[opened:] == [
            {"batch": ["1"], "after": [str(MARKERS[-1])], "grep": ["marker-q"], "i": ["1"]}
        ]

        # and the live matches follow, once each
        await wait_banner(page)
        everything = [*MARKERS, *LATE_MARKERS]
        await seqs_are(page, everything)
        assert await page.evaluate(LINE_TEXTS) == [text_of(s) for s in everything]
        assert await page.text_content("#counts") == "5 matches"
        response = await page.request.get(f"http://{running.http_address}{href}")
        assert (await response.text()).splitlines() == [text_of(s) for s in everything]

        # cleared: the live view again (the last 1,000 lines), the whole log to download
        await page.fill("#filter", "")
        await counts_are(page, "1000 lines")
        assert await note(page) is None
        seqs = await page.evaluate(LINE_SEQS)  # (the newest of them)
        assert seqs == list(range(seqs[0], LINES + 5)) and seqs[0] > LINES + 4 - 1000
        assert queries[-1] == {"batch": ["1"]}
        export = f"/api/tasks/{task_id}/log?format=text"
        assert await page.get_attribute("#download", "href") == export
        assert await page.text_content("#download") == "Download"
        assert problems == []


async def test_regex_on_the_server_and_the_whole_log_held_filters_in_the_page(
    browser, master_factory
):
    async with master_factory() as (running, _):
        big = await run(running.grpc_address, script())
        small = await run(running.grpc_address, 'for i in 1 2 3 4 5; do echo "line $i"; done')
        await wait_for_line(running.grpc_address, big, LINES + 1)  # (until its end)
        await wait_for_line(running.grpc_address, small, 99)
        page, problems, queries, _ = await open_routed(browser, running, big)
        await wait_banner(page)
        await counts_are(page, "1000 lines")

        # a regex (as the page takes one: /.../) runs on the server, on RE2
        await page.fill("#filter", "/^seq=(10|20) /")
        await seqs_are(page, [10, ODD])
        assert queries[-1] == {
            "batch": ["1"], "grep": ["^seq=(10|20) "], "regex": ["1"], "i": ["1"]
        }  # fmt: skip
        assert await note(page) == "filter: whole log (server)"

        # a lookahead, which RE2 refuses (JavaScript takes it): the text as typed, then
        opened = len(queries)
        await page.fill("#filter", "/x(?=y)/")
        await seqs_are(page, [ODD])
        assert queries[opened:] == [
            {"batch": ["1"], "grep": ["x(?=y)"], "regex": ["1"], "i": ["1"]},
            {"batch": ["1"], "grep": ["x(?=y)"], "i": ["1"]},
        ]
        assert await note(page) == "filter: whole log (server, as text)"
        assert await page.locator("#log mark").all_text_contents() == ["x(?=y)"]
        await wait_banner(page)
        assert "error" not in (await page.text_content("#conn") or "")
        href = await page.get_attribute("#download", "href")
        assert href is not None and "regex" not in href
        response = await page.request.get(f"http://{running.http_address}{href}")
        assert (await response.text()).splitlines() == [text_of(ODD)]

        # in context (a search result's place): a filter typed there is on the whole log too
        await goto(page, f"http://{running.http_address}/tasks/{big}?from=1500")
        await until(page, "document.querySelector('#log .line.target') !== null")
        await page.fill("#filter", "marker-q")
        await seqs_are(page, MARKERS)
        assert await note(page) == "filter: whole log (server)"
        assert page.url.endswith(f"/tasks/{big}")  # no longer a place in the log

        # a task whose whole log the page holds: the filter runs on the lines held
        await goto(page, f"http://{running.http_address}/tasks/{small}")
        await wait_banner(page)
        await counts_are(page, "5 lines")
        opened = len(queries)
        await page.fill("#filter", "LINE 4")
        await until(page, "document.querySelectorAll('#log .line').length === 1")
        assert await page.evaluate(LINE_TEXTS) == ["line 4"]
        assert await page.text_content("#counts") == "5 lines, 1 shown"
        assert await note(page) is None
        href = await page.get_attribute("#download", "href")
        assert href == f"/api/tasks/{small}/log?format=text&grep=LINE+4&i=1"
        assert await page.text_content("#download") == "Download (filtered)"
        response = await page.request.get(f"http://{running.http_address}{href}")
        assert (await response.text()).splitlines() == ["line 4"]
        await page.fill("#filter", "")
        await until(page, "document.querySelectorAll('#log .line').length === 5")
        assert len(queries) == opened  # no new stream: all of it in the page
        assert problems == []
