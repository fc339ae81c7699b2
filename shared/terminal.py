"""Data printed on a terminal: control characters are shown, never obeyed. Pure.

Task output, worker names, labels and error messages are data a terminal must not act on: ESC
starts sequences that retitle the window, move the cursor, clear the screen, rewrite what was
printed, set the clipboard (OSC 52) or hide a link behind text (OSC 8); C1 ``0x9b`` is a CSI
on its own; ``\\r`` and backspace overwrite what is on the line. This is the class of kubectl's
CVE-2021-25743. Where logcast prints data to a terminal (``master monitor --plain``,
``master logs``, the ``list-tasks`` and ``workers`` tables), every such character is replaced
by a visible escape, in caret notation as ``cat -v`` shows them:

======================  ==========================  =====================
characters              shown as                    e.g.
======================  ==========================  =====================
C0 ``0x00-0x1f``        ``^@`` .. ``^_``            ESC ``^[``, CR ``^M``
DEL ``0x7f``            ``^?``
C1 ``0x80-0x9f``        ``M-^@`` .. ``M-^_``        CSI ``M-^[``
======================  ==========================  =====================

TAB is kept (it only moves to the next column). Everything else, including the rest of
Unicode, is left as it is. A colour (``ESC[31m``) is shown too (``^[[31m``): ``--raw`` keeps the
bytes for those who want them.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_CARET: dict[int, str] = {c: "^" + chr(c + 64) for c in range(0x20) if c != 0x09}
_CARET[0x7F] = "^?"
_CARET.update({c: "M-^" + chr(c - 0x80 + 64) for c in range(0x80, 0xA0)})


def escape_controls(text: str) -> str:
    """``text`` with every control character but TAB (C0, DEL, C1) replaced by its caret
    notation (``ESC`` → ``^[``, ``0x9b`` → ``M-^[``); the same string when it has none."""
    if _CONTROL.search(text) is None:
        return text
    return text.translate(_CARET)
