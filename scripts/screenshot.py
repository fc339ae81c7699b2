"""Make docs/screenshot.png: the web view of a finished demo task.

Usage: .venv/bin/python scripts/screenshot.py   (after scripts/setup --browser; ~30 s)
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from master.config import MasterConfig  # noqa: E402
from master.master_client import MasterClient  # noqa: E402
from master.running import run_master  # noqa: E402
from shared.model import TaskSpec  # noqa: E402
from worker.config import WorkerConfig  # noqa: E402


async def main() -> None:
    config = MasterConfig(grpc_listen="127.0.0.1:0", http_listen="127.0.0.1:0", local_worker=True)
    script = (ROOT / "scripts" / "demo-task.sh").read_text()
    worker = WorkerConfig(name="local", listen="127.0.0.1:0")
    async with run_master(config, worker_config=worker) as running:
        async with MasterClient(running.grpc_address) as client:
            info = await client.run(
                TaskSpec("task-123456", "logcast/busybox:test", ("sh", "-c", script))
            )
            async for batch in client.stream(info.task_id):
                if batch.end is not None:
                    break
        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = await browser.new_page(viewport={"width": 1280, "height": 720})
            await page.goto(f"http://{running.http_address}/tasks/{info.task_id}")
            await page.wait_for_selector("#banner:not([hidden])")
            await page.check("#timestamps")
            await page.wait_for_timeout(300)
            out = ROOT / "docs" / "screenshot.png"
            await page.screenshot(path=str(out))
            await browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    asyncio.run(main())
