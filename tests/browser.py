"""Browser tests' navigation. Chromium watches the host's network interfaces, and Docker adds
and removes one (a veth) for every task container it starts or removes: a navigation under way
at that moment fails with ``net::ERR_NETWORK_CHANGED``, the browser's reaction to the host, not
the page's. Such a navigation is retried (a few times); any other failure is not."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import Error, Page


async def goto(page: Page, url: str, attempts: int = 4) -> Any:
    """``page.goto(url)``, again after ``ERR_NETWORK_CHANGED``."""
    for attempt in range(attempts):
        try:
            return await page.goto(url)
        except Error as exc:
            if "ERR_NETWORK_CHANGED" not in str(exc) or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)
    return None
