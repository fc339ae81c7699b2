"""Naming an OS thread, so ``top -H``, ``ps -L`` and ``/proc/<pid>/task/<tid>/comm`` say which
of a process's threads is which (Python's own thread names stay inside Python before 3.14).
Linux only; elsewhere, or when libc cannot be loaded, naming does nothing."""

from __future__ import annotations

import ctypes
import sys

_PR_SET_NAME = 15
MAX_NAME = 15  # bytes: the kernel keeps 16 with the terminating NUL


def name_this_thread(name: str) -> None:
    """Give the calling thread ``name`` (cut to :data:`MAX_NAME` bytes) as its OS name."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:MAX_NAME]), 0, 0, 0)
    except (OSError, AttributeError):
        pass
