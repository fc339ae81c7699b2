"""The writer's inbox: puts never block and wake the writer only when it must act."""

from __future__ import annotations

import threading
import time

from worker.inbox import Inbox


def take_in_thread(inbox: Inbox[str]) -> tuple[threading.Thread, list[list[str]]]:
    got: list[list[str]] = []
    thread = threading.Thread(target=lambda: got.append(inbox.take()), daemon=True)
    thread.start()
    return thread, got


def wait_idle(inbox: Inbox[str]) -> None:
    deadline = time.monotonic() + 5
    while not inbox._idle:  # the writer is waiting for a first operation
        assert time.monotonic() < deadline
        time.sleep(0.001)


def test_a_window_gathers_every_put_and_wakes_the_writer_once():
    inbox: Inbox[str] = Inbox(window=0.3, max_lines=1_000_000)
    thread, got = take_in_thread(inbox)
    wait_idle(inbox)
    for i in range(500):
        inbox.put(f"op{i}", lines=10)
    thread.join(5)
    assert got == [[f"op{i}" for i in range(500)]]  # all of them, in order, in one take
    assert inbox.wakeups == 1  # the first put opened the window; the others did not wake it


def test_an_urgent_put_ends_the_window_at_once():
    inbox: Inbox[str] = Inbox(window=60, max_lines=1_000_000)
    thread, got = take_in_thread(inbox)
    wait_idle(inbox)
    inbox.put("lines", lines=5)
    inbox.put("flush", urgent=True)
    thread.join(5)  # not 60 s
    assert not thread.is_alive() and got == [["lines", "flush"]]


def test_a_full_transaction_ends_the_window_at_once():
    inbox: Inbox[str] = Inbox(window=60, max_lines=100)
    thread, got = take_in_thread(inbox)
    wait_idle(inbox)
    for i in range(10):
        inbox.put(f"b{i}", lines=10)
    thread.join(5)
    assert not thread.is_alive() and got == [[f"b{i}" for i in range(10)]]
    # the lines taken count: the next 99 lines do not fill a transaction
    inbox.put("small", lines=99)
    assert not inbox._full()


def test_puts_while_the_writer_works_wait_for_its_next_take():
    inbox: Inbox[str] = Inbox(window=0.01, max_lines=1_000_000)
    inbox.put("first")
    assert inbox.take() == ["first"]
    inbox.put("second")  # the writer is not idle: no wake-up, but the next take has it
    assert inbox.take() == ["second"]


def test_a_take_with_a_timeout_returns_nothing_when_nothing_came_and_the_next_take_is_woken():
    inbox: Inbox[str] = Inbox(window=0.01, max_lines=1_000_000)
    assert inbox.take(timeout=0.05) == []  # (the writer then closes its idle connections)
    assert not inbox._idle
    thread, got = take_in_thread(inbox)
    wait_idle(inbox)
    inbox.put("lines", lines=1)
    thread.join(5)
    assert got == [["lines"]]
