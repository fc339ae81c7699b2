"""The task page's search box, in real headless Chromium against a real master, worker and
Docker: a search of the whole stored log, and a result that opens the view in context.

With ``LOGCAST_WRITE_DOCS=1`` the test also writes its screenshot to docs/search.png (else
to a temporary directory: a normal run leaves the repository as it was)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.web.test_page import (
    LINE_SEQS,
    LINE_TEXTS,
    open_task,
    run_to_end,
    until,
    wait_banner,
)

pytestmark = [pytest.mark.docker, pytest.mark.browser, pytest.mark.asyncio]

DOCS = Path(__file__).resolve().parents[2] / "docs"
LINES = 3000
MARKER = 150  # far back: the page shows the last 1,000 lines at first
BOLD = 400
SCRIPT = (
    f"i=1; while [ $i -le {LINES} ]; do case $i in "
    f'{MARKER}) echo "seq=$i marker-xyz";; '
    f'{BOLD}) echo "<b>bold</b> seq=$i";; '
    '*) echo "seq=$i";; esac; i=$((i+1)); done'
)
RESULTS = """[...document.querySelectorAll('#search-list a.hit')].map(a =>
    [Number(a.dataset.seq), a.querySelector('.hit-seq').textContent,
     a.querySelector('.hit-text').textContent])"""
TARGET_IN_VIEW = """(() => {
    const t = document.querySelector('#log .line.target');
    if (!t) return false;
    const box = t.getBoundingClientRect();
    const pane = document.getElementById('log').getBoundingClientRect();
    return box.top >= pane.top && box.bottom <= pane.bottom;
})()"""


def expected(seq: int) -> str:
    return {MARKER: f"seq={MARKER} marker-xyz", BOLD: f"<b>bold</b> seq={BOLD}"}.get(
        seq, f"seq={seq}"
    )


async def search(page, pattern: str, *, regex: bool = False) -> None:
    if await page.is_visible("#search-results"):
        await page.click("#search-close")  # (then the results of this search are told apart)
    await page.fill("#search-q", pattern)
    await page.set_checked("#search-regex", regex)
    await page.click("#search-go")
    await until(
        page,
        "!document.getElementById('search-results').hidden && "
        "document.getElementById('search-summary').textContent !== 'searching…'",
    )


async def test_search_finds_an_old_line_and_opens_it_in_context(browser, master_factory, tmp_path):
    async with master_factory() as (running, _):
        task_id = await run_to_end(running.grpc_address, SCRIPT)
        page, problems = await open_task(browser, running, task_id)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        await page.set_viewport_size({"width": 1280, "height": 720})
        await wait_banner(page)
        # the page gets the last 1,000 lines (and shows the newest of them): not line 150
        await until(page, "document.getElementById('counts').textContent === '1000 lines'")
        seqs = await page.evaluate(LINE_SEQS)
        assert seqs and seqs[-1] == LINES and min(seqs) > LINES - 1000
        assert await page.is_hidden("#search-results")

        # the search runs on the whole stored log: the old line is found, with its seq
        await search(page, "marker-xyz")
        assert await page.evaluate(RESULTS) == [[MARKER, str(MARKER), expected(MARKER)]]
        summary = await page.text_content("#search-summary")
        assert summary is not None
        assert summary.startswith("1 match ·") and "complete" in summary, summary
        assert "lines searched" in summary, summary

        # a click opens the view in context: from 20 lines before, the line marked and shown
        await page.click(f"#search-list a.hit[data-seq='{MARKER}']")
        await until(page, "document.querySelector('#log .line.target') !== null")
        await until(page, TARGET_IN_VIEW)
        # (one snapshot of seqs and texts: the view goes on loading later lines meanwhile)
        shown = await page.evaluate(
            f"(() => {{ const s = {LINE_SEQS}; const t = {LINE_TEXTS};"
            " return s.map((q, i) => [q, t[i]]); })()"
        )
        seqs = [seq for seq, _ in shown]
        assert seqs[0] == MARKER - 19
        assert set(range(MARKER - 19, MARKER + 21)) <= set(seqs)
        assert seqs == sorted(set(seqs))  # in order, once each, no hole
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        assert [text for _, text in shown] == [expected(s) for s in seqs]
        target = page.locator("#log .line.target")
        assert await target.count() == 1
        assert await target.get_attribute("data-seq") == str(MARKER)
        assert await page.get_attribute("#follow", "aria-pressed") == "false"
        assert page.url.endswith(f"/tasks/{task_id}?from={MARKER}")
        assert await page.is_visible("#search-results")  # the results stay, for the next click
        await page.wait_for_timeout(300)  # later lines must not move the view away from it
        assert await page.evaluate(TARGET_IN_VIEW)
        shot = (DOCS if os.environ.get("LOGCAST_WRITE_DOCS") == "1" else tmp_path) / "search.png"
        await page.screenshot(path=str(shot))

        # the address opens the same view (a reload, a shared link)
        await page.reload()
        await until(page, TARGET_IN_VIEW)
        assert await page.get_attribute("#log .line.target", "data-seq") == str(MARKER)
        assert (await page.evaluate(LINE_SEQS))[0] == MARKER - 19

        # Follow brings the newest lines back, and the plain address
        await page.click("#follow")
        await until(page, f"(s => s[s.length - 1] === {LINES})({LINE_SEQS})")
        assert await page.locator("#log .line.target").count() == 0
        assert page.url.endswith(f"/tasks/{task_id}")

        # a bad regular expression: the server's 400, said plainly
        await search(page, "marker(", regex=True)
        summary = await page.text_content("#search-summary")
        assert summary is not None
        assert summary.startswith("bad search: invalid regular expression"), summary
        assert "bad" in (await page.get_attribute("#search-summary", "class") or "")
        assert await page.locator("#search-list li").count() == 0
        # (Chromium logs every 4xx answer to a fetch: that one is expected)
        problems[:] = [p for p in problems if "the server responded with a status of 400" not in p]

        # a regex, newest first
        await search(page, "^seq=(150|2999) ", regex=True)
        assert [r[0] for r in await page.evaluate(RESULTS)] == [MARKER]
        await search(page, "^seq=(150|2999)( |$)", regex=True)
        assert [r[0] for r in await page.evaluate(RESULTS)] == [2999, MARKER]

        # log lines are data: markup in a result is shown as text, never made an element
        await search(page, "<b>")
        assert await page.evaluate(RESULTS) == [[BOLD, str(BOLD), expected(BOLD)]]
        assert await page.locator("#search-results b").count() == 0
        await page.click("#search-close")
        assert await page.is_hidden("#search-results")
        assert problems == []
