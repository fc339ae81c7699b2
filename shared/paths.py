"""Where logcast keeps its state on this host. Pure: reads only the environment."""

from __future__ import annotations

import os
from pathlib import Path


def default_state_dir() -> Path:
    """``$LOGCAST_STATE_DIR``, else ``$XDG_STATE_HOME/logcast``, else ``~/.local/state/logcast``."""
    explicit = os.environ.get("LOGCAST_STATE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "logcast"


def worker_data_dir(state_dir: Path, worker_name: str) -> Path:
    """A worker's data directory under a state directory."""
    return state_dir / "workers" / worker_name
