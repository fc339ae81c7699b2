"""Which token a client sends: ``--token``, else ``$LOGCAST_TOKEN``, else the owner's admin
credential the master made in its state directory (``$LOGCAST_STATE_DIR/admin.token``, else
``~/.local/state/logcast/admin.token``), readable only by the user who runs the master: the
CLI run by that user on that host needs no configuration."""

from __future__ import annotations

import os
from pathlib import Path

from shared.paths import default_state_dir

ADMIN_FILE = "admin.token"


def find_token(explicit: str | None = None, state_dir: Path | None = None) -> str:
    """The token to send ("" when there is none: the master will say so)."""
    if explicit:
        return explicit.strip()
    from_env = os.environ.get("LOGCAST_TOKEN", "").strip()
    if from_env:
        return from_env
    path = (state_dir or default_state_dir()) / ADMIN_FILE
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return ""
