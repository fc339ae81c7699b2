"""Row 5s's tooling: a named thread's CPU read from /proc, and the burst it times the store's
event-loop work on."""

from __future__ import annotations

import os
import threading
import time

from bench.b05_worker_cpu import LINES, burst_batches
from bench.harness import thread_cpu_seconds
from shared.threadname import name_this_thread


def test_a_named_threads_cpu_counts_that_thread_only() -> None:
    stop = threading.Event()

    def spin() -> None:
        name_this_thread("bench-spin")
        while not stop.is_set():
            sum(range(1000))

    thread = threading.Thread(target=spin)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while thread_cpu_seconds(os.getpid(), "bench-spin") < 0.1:
            assert time.monotonic() < deadline, "the spinning thread's CPU never showed"
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    assert thread_cpu_seconds(os.getpid(), "no-such-thread") == 0


def test_the_burst_is_the_benchmarks_lines_in_batches_of_the_given_size() -> None:
    batches = burst_batches(63)
    seqs = [line.seq for batch in batches for line in batch.lines]
    assert seqs == list(range(1, LINES + 1))
    assert {len(b.lines) for b in batches[:-1]} == {63}
    assert batches[0].lines[0].content == "seq=1"
