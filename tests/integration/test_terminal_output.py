"""What the `master` CLI prints on a terminal (a real pseudo-terminal) and into a pipe, for a
task whose output and labels carry terminal escape sequences (the CVE-2021-25743 class): the
terminal gets them shown (``^[``), never obeyed; a pipe and ``--raw`` get the exact bytes."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
import tty
import uuid
from collections.abc import Iterator

import pytest

from tests.fixtures import TEST_IMAGE, remove_containers
from tests.procs import MASTER, Proc, free_port, master_cli, start_master, start_worker

pytestmark = pytest.mark.docker

# what the task prints: retitle the window, a colour, clear the screen, overwrite the line
HOSTILE = b"\x1b]0;pwned\x07\x1b[31mred\x1b[0m\x1b[2J fake\rreal"
SHOWN = b"^[]0;pwned^G^[[31mred^[[0m^[[2J fake^Mreal"
LABEL = "note=\x1b]0;label\x07x"


@pytest.fixture
def master_with_task(tmp_path, docker_engine) -> Iterator[tuple[Proc, str]]:
    """A master, a worker, and a finished task that printed :data:`HOSTILE` on stdout and
    stderr, labelled with :data:`LABEL`."""
    master = start_master(tmp_path, free_port())
    name = f"w{uuid.uuid4().hex[:6]}"
    worker = start_worker(tmp_path, master.address, name)
    try:
        script = "printf '\\033]0;pwned\\007\\033[31mred\\033[0m\\033[2J fake\\rreal\\n'"
        out = master_cli(
            master.address,
            "run",
            "--image",
            TEST_IMAGE,
            "--label",
            LABEL,
            "--",
            "sh",
            "-c",
            f"{script}; {script} >&2",
        )
        assert out.returncode == 0, out.stderr
        task_id = out.stdout.strip()
        done = master_cli(master.address, "logs", task_id, "-f")
        assert done.returncode == 0, done.stderr
        yield master, task_id
    finally:
        worker.stop()
        master.stop()
        remove_containers(docker_engine.api, name)


def on_terminal(master: str, *args: str, timeout: float = 60) -> tuple[int, bytes]:
    """Run ``master ARGS --master ADDRESS`` with stdout and stderr on a new pseudo-terminal
    (raw mode: the bytes it writes, no ``\\r`` added); return its exit code and everything it
    wrote."""
    ours, theirs = pty.openpty()
    tty.setraw(theirs)
    proc = subprocess.Popen(
        [MASTER, *args[:1], "--master", master, *args[1:]],
        stdin=subprocess.DEVNULL,
        stdout=theirs,
        stderr=theirs,
        start_new_session=True,
    )
    os.close(theirs)
    got = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([ours], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(ours, 65536)
                except OSError:  # EIO: the terminal's other side is closed
                    break
                if not chunk:
                    break
                got += chunk
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(ours)
    return code, got


def test_logs_and_plain_monitor_show_control_characters_on_a_terminal(master_with_task):
    master, task_id = master_with_task
    for command in (("logs", task_id), ("monitor", task_id, "--plain")):
        code, shown = on_terminal(master.address, *command)
        assert code == 0
        assert shown.count(SHOWN + b"\n") == 2, (command, shown)  # stdout's line, stderr's
        assert b"\x1b" not in shown and b"\x07" not in shown and b"\r" not in shown, shown


def test_a_pipe_and_raw_get_the_exact_bytes(master_with_task):
    master, task_id = master_with_task
    piped = subprocess.run(
        [MASTER, "logs", "--master", master.address, task_id],
        capture_output=True,
        timeout=60,
    )
    assert (piped.stdout, piped.stderr) == (HOSTILE + b"\n", HOSTILE + b"\n")
    for command in (("logs", task_id, "--raw"), ("monitor", task_id, "--plain", "--raw")):
        code, raw = on_terminal(master.address, *command)
        assert code == 0 and raw.count(HOSTILE + b"\n") == 2, (command, raw)
    code, said = on_terminal(master.address, "monitor", task_id, "--raw")  # the TUI: never
    assert code == 2 and b"--raw is for --plain output" in said


def test_task_tables_show_the_control_characters_of_labels(master_with_task):
    master, task_id = master_with_task
    _, table = on_terminal(master.address, "list-tasks")
    assert task_id.encode() in table
    assert b"note=^[]0;label^Gx" in table and b"\x1b" not in table, table
    piped = master_cli(master.address, "list-tasks")
    assert LABEL in piped.stdout  # a pipe: as it is
    _, workers = on_terminal(master.address, "workers")
    assert b"alive" in workers and b"\x1b" not in workers
