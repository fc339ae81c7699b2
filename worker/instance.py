"""The worker's instance id: which containers on a Docker engine are this worker's.

A worker's name does not tell its containers apart from another worker's: two workers may be
given the same name on one engine (two embedded workers called ``local``, two hosts sharing
an engine), and each would adopt, supervise and then remove the other's containers. So every
worker keeps a random id in its data directory, made once and read again at every start, and
labels its task containers with it (``logcast.instance``, see
:mod:`worker.docker_containers`); it adopts only containers with its own id. A restarted
worker with the same data directory finds its containers again; another data directory is
another worker, whatever its name.

The file is ``DATA_DIR/instance-id``: 32 hex digits and a newline, mode 0600.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

from shared.errors import ConfigError

FILE_NAME = "instance-id"
_ID = re.compile(r"[0-9a-f]{32}")


def instance_id(data_dir: Path) -> str:
    """This data directory's instance id: read from ``DATA_DIR/instance-id``, or made (random,
    128 bits) and written there, readable by its owner only, on the first start. The data
    directory must exist. Raises :class:`ConfigError` when the file cannot be read or written,
    or holds something else than an id (it is never replaced: the containers it names would
    be left to no one)."""
    path = data_dir / FILE_NAME
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    new = secrets.token_hex(16)
    # written whole under another name, then linked in place (link never replaces a file): no
    # reader ever sees a half-written id, and of two first starts at once one id wins
    tmp = data_dir / f".{FILE_NAME}.{new}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(new + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.link(tmp, path)
    except FileExistsError:
        return _read(path)
    except OSError as exc:
        raise ConfigError(f"cannot create the worker's instance id {path}: {exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return new


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"cannot read the worker's instance id {path}: {exc}") from exc
    if not _ID.fullmatch(text):
        raise ConfigError(
            f"{path} does not hold a worker instance id (32 hex digits): restore it, or remove "
            "it to make a new one (this worker then no longer adopts the containers it left)"
        )
    return text
