"""web/wording.js says what master/presentation.py says (the page, plain output and the TUI
word every notice and the end banner the same), checked in Chromium."""

from __future__ import annotations

import pytest

from master.presentation import (
    dropped_notice,
    end_summary,
    gap_notice,
    state_notice,
    truncated_note,
)
from master.wsframes import end_frame
from shared.model import ConnectionState, Dropped, Gap, TaskEnd, TaskStatus
from tests.browser import goto

pytestmark = [pytest.mark.browser, pytest.mark.asyncio]

ENDS = [
    TaskEnd(TaskStatus.SUCCESS, 0),
    TaskEnd(TaskStatus.FAILED, 3, "out of memory (OOMKilled)"),
    TaskEnd(TaskStatus.CANCELLED, 143, "stopped on request"),
    TaskEnd(TaskStatus.LOST, None, "worker w1 stopped answering"),
]


async def test_the_page_words_notices_and_the_end_like_the_terminal(browser, web_only):
    page = await browser.new_page()
    await goto(page, f"http://{web_only}/")
    got = await page.evaluate(
        """async ([ends]) => {
            const w = await import('/static/wording.js');
            return {
              ends: ends.map((f) => w.endSummary(JSON.parse(f))),
              gap: w.gapNotice({type: 'gap', fromSeq: 1, toSeq: 80, reason: 'evicted'}),
              dropped: w.droppedNotice({type: 'dropped', count: 120, fromSeq: 300, toSeq: 419}),
              state: w.stateNotice('docker unreachable'),
              truncated: w.truncatedNote(99),
            };
        }""",
        [[end_frame(end) for end in ENDS]],  # the frames the page really receives
    )
    assert got["ends"] == [end_summary(end) for end in ENDS]
    assert got["gap"] == gap_notice(Gap(1, 80, "evicted"))
    assert got["dropped"] == dropped_notice(Dropped(120, 300, 419))
    assert got["state"] == state_notice(ConnectionState.DOCKER_UNREACHABLE)
    assert got["truncated"] == truncated_note(99)
