"""An OS thread's name, as /proc shows it (what `top -H` lists)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from shared.threadname import MAX_NAME, name_this_thread

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")


def _named_in_thread(name: str) -> str:
    seen: list[str] = []

    def run() -> None:
        name_this_thread(name)
        seen.append(Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return seen[0].rstrip("\n")


def test_the_calling_thread_gets_the_name_and_no_other() -> None:
    before = Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text()
    assert _named_in_thread("logstore") == "logstore"
    assert Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text() == before


def test_a_long_name_is_cut_to_what_the_kernel_keeps() -> None:
    assert _named_in_thread("a-rather-long-thread-name") == "a-rather-long-thread-name"[:MAX_NAME]
