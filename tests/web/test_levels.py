"""Levels and pretty JSON on the task page, in real headless Chromium: web/levels.js reads the
shared cases as shared/levels.py does, and a real task's lines are coloured by level and its
JSON lines shown indented on demand (the line's data, and the download, unchanged).

With ``LOGCAST_WRITE_DOCS=1`` the task test also writes its screenshot to docs/levels.png
(else to a temporary directory: a normal run leaves the repository as it was)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shared.levels import detect_level, pretty_json
from tests.browser import goto
from tests.unit.shared.test_levels import CASES
from tests.web.test_page import LINE_TEXTS, open_task, run_to_end, until, wait_banner

DOCS = Path(__file__).resolve().parents[2] / "docs"
LEVEL_CLASSES = """[...document.querySelectorAll('#log .line')].map(l =>
    ([...l.classList].find(c => c.startsWith('lvl-')) || '').slice(4) || null)"""
JSON_LINE = json.dumps(
    {
        "level": "error",
        "time": "2026-11-23T10:00:04Z",
        "msg": "payment failed <img src=x onerror=alert(1)>",
        "order": {"id": 4711, "items": ["book", "lamp"]},
    }
)
LINES = [
    "2026-11-23 10:00:01 INFO starting payments v2.3",
    "TRACE entering charge()",
    "DEBUG | config loaded from /etc/payments.toml",
    "W1123 10:00:02.123456       1 retry.go:42] upstream slow, retrying",
    "[warn] disk 91% full",
    "no errors found in the ledger",
    JSON_LINE,
    '{"level":30,"msg":"pino says hello"}',
    "ERROR: card declined",
    "fatal: cannot reach the database",
]
SCRIPT = "cat <<'EOF'\n" + "\n".join(LINES) + "\nEOF\n"


@pytest.mark.browser
@pytest.mark.asyncio
async def test_the_page_reads_every_shared_case_as_python_does(browser, web_only):
    page = await browser.new_page()
    await goto(page, f"http://{web_only}/")
    got = await page.evaluate(
        "async (cases) => { const m = await import('/static/levels.js');"
        " return cases.map(c => m.detectLevel(c)); }",
        [content for content, _ in CASES],
    )
    assert list(zip([c for c, _ in CASES], got, strict=True)) == CASES
    samples = [JSON_LINE, '[1, {"a": "é", "b": null}]', "{}", "[x]", "plain", ' {"a":1} ', "42"]
    pretty = await page.evaluate(
        "async (lines) => { const m = await import('/static/levels.js');"
        " return lines.map(l => m.prettyJson(l)); }",
        samples,
    )
    assert pretty == [pretty_json(s) for s in samples]


@pytest.mark.docker
@pytest.mark.browser
@pytest.mark.asyncio
async def test_lines_are_coloured_by_level_and_json_is_indented_on_demand(
    browser, master_factory, tmp_path
):
    async with master_factory() as (running, _):
        task_id = await run_to_end(running.grpc_address, SCRIPT)
        page, problems = await open_task(browser, running, task_id)
        await page.set_viewport_size({"width": 1100, "height": 620})
        await wait_banner(page)
        await until(page, f"document.querySelectorAll('#log .line').length === {len(LINES)}")
        assert await page.evaluate(LINE_TEXTS) == LINES

        # each line's class is its level, as shared/levels.py reads it
        levels = await page.evaluate(LEVEL_CLASSES)
        expected = [None if (lv := detect_level(ln)) is None else lv.name.lower() for ln in LINES]
        assert levels == expected
        assert levels == [
            "info", "trace", "debug", "warn", "warn", None, "error", "info", "error", "fatal"
        ]  # fmt: skip
        colour = "el => getComputedStyle(el).color"
        plain = await page.locator("#log .line").nth(5).evaluate(colour)
        error = await page.locator("#log .line.lvl-error").first.evaluate(colour)
        warn = await page.locator("#log .line.lvl-warn").first.evaluate(colour)
        assert len({plain, error, warn}) == 3, (plain, error, warn)

        # pretty JSON: the JSON lines shown indented, as text; the others as they came
        await page.check("#pretty-json")
        await until(page, "document.querySelectorAll('#log .line.pretty').length === 2")
        texts = await page.evaluate(LINE_TEXTS)
        assert texts == [pretty_json(ln) or ln for ln in LINES]
        assert "\n" in texts[6] and texts[6].startswith('{\n  "level": "error",')
        assert await page.locator("#log img, #log script").count() == 0
        box = await page.locator("#log .line.pretty").first.bounding_box()
        one_row = await page.locator("#log .line").first.bounding_box()
        assert box and one_row and box["height"] > 5 * one_row["height"]  # several rows
        shot = (DOCS if os.environ.get("LOGCAST_WRITE_DOCS") == "1" else tmp_path) / "levels.png"
        await page.screenshot(path=str(shot))

        # the filter still matches the line as it came; the download is the raw log
        await page.fill("#filter", '"order"')
        await until(page, "document.querySelectorAll('#log .line').length === 1")
        assert await page.locator("#log .line.pretty mark").count() == 1
        await page.fill("#filter", "")
        await until(page, f"document.querySelectorAll('#log .line').length === {len(LINES)}")
        async with page.expect_download() as event:
            await page.click("#download")
        download = await event.value
        assert (await download.path()).read_text(encoding="utf-8").splitlines() == LINES

        await page.uncheck("#pretty-json")
        await until(page, "document.querySelectorAll('#log .line.pretty').length === 0")
        assert await page.evaluate(LINE_TEXTS) == LINES
        assert problems == []
