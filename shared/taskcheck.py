"""What a task may be made of, checked in one place: the spec a client asks to run (the master's
``RunTask``, the worker's ``StartTask``, ``master run`` before it sends), and the task infos a
worker reports in its heartbeats. Pure: every function takes the value and returns it, or
raises :class:`~shared.errors.InvalidRequest` with a message to show as is.

Resource limits (memory, CPUs, ...) are checked on their own, next to their fields; this module
checks names and sizes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Final

from shared.errors import InvalidRequest, quoted
from shared.model import TaskInfo, TaskSpec

MAX_SPEC_BYTES: Final = 64 * 1024
"""A task's command, environment and labels together, in UTF-8 bytes (keys, values and
arguments)."""

MAX_IMAGE_CHARS: Final = 512
"""An image reference (``registry/name:tag`` or ``name@sha256:...``) is far shorter."""

MAX_LABEL_KEY_BYTES: Final = 253

MAX_REPORTED_INFO_BYTES: Final = MAX_SPEC_BYTES + 16 * 1024
"""One task's info in a heartbeat: its labels (within MAX_SPEC_BYTES), its image, and its
command and error cut to summaries (see :func:`shared.model.summary`), with room to spare."""

ENV_NAME_PATTERN: Final = r"[A-Za-z_][A-Za-z0-9_]*"
_ENV_NAME_RE = re.compile(ENV_NAME_PATTERN)


def validate_spec(spec: TaskSpec) -> TaskSpec:
    """Return ``spec`` if its image, command, environment and labels are acceptable:

    - an image of 1-512 characters without white space;
    - environment names of letters, digits and ``_``, not starting with a digit;
    - label keys of 1-253 bytes without ``=`` or control characters;
    - command, environment and labels together at most :data:`MAX_SPEC_BYTES`.

    The task id is checked by :func:`shared.ids.validate_task_id` (a master makes one up).
    """
    image = spec.image
    if not image or len(image) > MAX_IMAGE_CHARS or any(c.isspace() for c in image):
        raise InvalidRequest(f"invalid image name {quoted(image)}")
    for key, _ in spec.env:
        if not _ENV_NAME_RE.fullmatch(key):
            raise InvalidRequest(
                f"invalid environment variable name {quoted(key)}: expected a letter or '_' "
                "followed by letters, digits or '_'"
            )
    for key, _ in spec.labels:
        check_label_key(key)
    size = spec_bytes(spec)
    if size > MAX_SPEC_BYTES:
        raise InvalidRequest(
            f"the task's command, environment and labels are {size} bytes in all: the limit "
            f"is {MAX_SPEC_BYTES} bytes (64 KiB)"
        )
    return spec


def check_label_key(key: str) -> str:
    """Return ``key`` if it can name a label: 1-253 bytes, no ``=``, no control character."""
    if (
        not key
        or _size(key) > MAX_LABEL_KEY_BYTES
        or "=" in key
        or any(_is_control(c) for c in key)
    ):
        raise InvalidRequest(
            f"invalid label key {quoted(key)}: expected 1-{MAX_LABEL_KEY_BYTES} bytes, "
            "without '=' or control characters"
        )
    return key


def spec_bytes(spec: TaskSpec) -> int:
    """The UTF-8 size of a spec's command, environment and labels (keys and values)."""
    return _utf8(spec.command) + _utf8(s for pair in spec.env for s in pair) + _pairs(spec.labels)


def validate_reported_info(info: TaskInfo) -> TaskInfo:
    """Return ``info`` (a task a worker reports) if it is no bigger than a worker sends: at
    most :data:`MAX_REPORTED_INFO_BYTES` of text. Its task id is checked apart."""
    size = _utf8((info.image, info.error, info.store_error, info.container_id, *info.command))
    size += _pairs(info.labels.items())
    if size > MAX_REPORTED_INFO_BYTES:
        raise InvalidRequest(
            f"the info of {info.task_id} is {size} bytes: the limit is "
            f"{MAX_REPORTED_INFO_BYTES} bytes"
        )
    return info


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))  # (argv may carry lone surrogates)


def _utf8(texts: Iterable[str]) -> int:
    return sum(_size(t) for t in texts)


def _pairs(pairs: Iterable[tuple[str, str]]) -> int:
    return sum(_size(k) + _size(v) for k, v in pairs)


def _is_control(c: str) -> bool:
    return unicodedata.category(c) == "Cc"  # C0, DEL and C1
