"""The tests' one owner credential, shared by every master a test starts.

At start-up (tests/conftest.py) the test session gets its own state directory
(``LOGCAST_STATE_DIR``): the masters that use the default state directory make their owner
credential there once, and every client finds it there by itself, as on a user's machine.
A master with a state directory of its own gets the same credential first (:func:`seed`),
so a test's CLI calls and clients reach any of its masters without being told a token.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from master.access import CREDENTIAL_FILES
from shared.credentials import find_token


def start_session() -> Path:
    """Give the test session its own state directory with the owner's credential."""
    from master.access import MasterAccess

    state = Path(tempfile.mkdtemp(prefix="logcast-test-state-"))
    os.environ["LOGCAST_STATE_DIR"] = str(state)
    os.environ.pop("LOGCAST_TOKEN", None)
    MasterAccess(state).open()
    return state


def seed(state_dir: Path) -> Path:
    """Put the session's owner credential into ``state_dir`` (kept if it has one)."""
    source = Path(os.environ["LOGCAST_STATE_DIR"])
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in CREDENTIAL_FILES:
        if not (state_dir / name).exists():
            shutil.copy2(source / name, state_dir / name)
    return state_dir


def owner_token() -> str:
    return find_token()


def auth_headers() -> dict[str, str]:
    """``Authorization: Bearer`` with the owner's token (WebSocket handshakes, HTTP GETs)."""
    return {"Authorization": f"Bearer {owner_token()}"}
