"""Extra: is the browser page responsive while a task writes 10,000 lines/s?

A task writes 10,000 lines/s for 10 s (1,000-line blocks every 100 ms); the page follows it in
headless Chromium. In the page, a requestAnimationFrame loop records the gaps between frames
and a PerformanceObserver the main-thread tasks over 50 ms. Reported: frames per second, the
worst frame gap, the long tasks, and whether every line arrived.

Usage: .venv/bin/python -m bench.web_page   (prints JSON; not part of bench/run's ten)
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

from playwright.async_api import async_playwright

from bench.harness import BIN, Cluster, median, percentile, run_task, start_cluster

BLOCKS = 100
LINES = BLOCKS * 1000
SCRIPT = (
    f"sleep 3; i=0; while [ $i -lt {BLOCKS} ]; do "
    'seq $((i*1000+1)) $(((i+1)*1000)) | sed "s/^/seq=/"; usleep 95000; i=$((i+1)); done'
)
PROBE = """() => {
  window.__gaps = []; window.__long = [];
  let last = performance.now();
  const tick = (t) => { window.__gaps.push(t - last); last = t; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__long.push(e.duration);
  }).observe({ type: "longtask", buffered: true });
}"""


def login_link(cluster: Cluster) -> str:
    """`master login-link`: logs the browser in (the owner's credential, found by itself)."""
    out = subprocess.run(
        [str(BIN / "master"), "login-link", "--master", cluster.master.address],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


async def measure() -> dict[str, float]:
    cluster = start_cluster()
    try:
        task = run_task(cluster, SCRIPT)
        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(login_link(cluster))  # the single-use link: a session cookie
            await page.goto(f"http://{cluster.master.http}/tasks/{task}")
            await page.evaluate(PROBE)
            started = time.monotonic()
            while not await page.evaluate("!document.getElementById('banner').hidden"):
                await asyncio.sleep(0.2)
                if time.monotonic() - started > 120:
                    raise TimeoutError("the page never showed the end")
            gaps = await page.evaluate("window.__gaps")
            long_tasks = await page.evaluate("window.__long")
            received = await page.evaluate(
                "Number(document.getElementById('counts').textContent.split(' ')[0])"
            )
            await browser.close()
    finally:
        cluster.stop()
    busy = gaps[30:]  # from the first lines on
    return {
        "lines_received": received,
        "all_lines": float(received == LINES),
        "frames_per_s": 1000 / median(busy) if busy else 0.0,
        "frame_gap_p99_ms": percentile(busy, 99),
        "frame_gap_max_ms": max(busy) if busy else 0.0,
        "long_tasks": float(len(long_tasks)),
        "longest_task_ms": max(long_tasks) if long_tasks else 0.0,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure()), indent=2))
