"""Make task output safe for a terminal. Pure.

Task output may carry any bytes. Before a line reaches the screen, every control sequence that
could move the cursor, clear the screen, retitle the window, talk to the terminal (OSC, DCS,
APC, ...) or smuggle a C1 control is removed. Only SGR (colours and text attributes,
``ESC [ ... m``) is kept, and rendered by Rich. A carriage return keeps what a terminal would
show last: the text after the last ``\\r`` (progress bars), or before it if nothing follows.
"""

from __future__ import annotations

import re

_SGR = re.compile(r"\x1b\[[0-9;:]*m")
# every escape sequence, and then every remaining control character
_SEQUENCE = re.compile(
    r"""
      \x1b\[[0-?]*[\ -/]*[@-~]          # CSI ... final byte (cursor moves, ESC[2J, ...)
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\|$)  # OSC ... BEL or ST (titles, hyperlinks, clipboard)
    | \x1b[PX^_].*?(?:\x1b\\|$)          # DCS, SOS, PM, APC ... ST
    | \x1b[\ -/]*[0-~]?                 # other ESC sequences, and a lone ESC
    """,
    re.VERBOSE | re.DOTALL,
)
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f-\x9f]")  # C0 but TAB, ESC; DEL; C1


def _keep_sgr(match: re.Match[str]) -> str:
    text = match.group(0)
    return text if _SGR.fullmatch(text) else ""


def sanitize(content: str) -> str:
    """``content`` with only SGR escape sequences and printable characters (and tabs) left."""
    if "\r" in content:
        parts = content.split("\r")
        content = next((p for p in reversed(parts) if p), "")
    if "\x1b" in content:
        content = _SEQUENCE.sub(_keep_sgr, content)
    return _CONTROLS.sub("", content)


def plain_text(content: str) -> str:
    """The text a reader sees: :func:`sanitize` without the colour codes."""
    return _SGR.sub("", sanitize(content))
