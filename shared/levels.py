"""A log line's level (error, warning, ...), where the line says one. Pure: no I/O.

Used for the TUI's and the page's colours (``web/levels.js`` mirrors these rules; the cases
of ``tests/unit/shared/level_cases.json`` hold both to them) and by server-side level
filters, so it is cheap: only the first characters of a line are looked at, and most lines
are settled by a few string tests. A level is read from, in this order:

1. **A JSON object** (the line starts with ``{``): the first key ``level``, ``lvl``,
   ``severity``, ``loglevel``, ``log_level``, ``levelname`` or ``log.level`` (any case) in
   its first 2,000 characters, with a level name as its value (``"warn"``, ``"WARNING"``,
   ``"err"``, ``"critical"``, ``"panic"``, :data:`NAMES`) or a pino/bunyan number (10 trace,
   20 debug, 30 info, 40 warn, 50 error, 60 fatal). The key is found by a scan, not a parse:
   a truncated object still has its level, and a nested ``"level"`` counts as well. A JSON
   object without such a key has no level: its text is not guessed at.
2. **klog** (``E1123 10:00:00.123456 ...``; ``I``, ``W``, ``E``, ``F``) and **Ruby's Logger**
   (``E, [2026-11-23T10:00:01.123 #1] ERROR -- : ...``; ``D``, ``I``, ``W``, ``E``, ``F``).
   Logrus on a terminal (``ERRO[0000] ...``) is read with the words, below.
3. **The first words** (at most 8, in the first 300 characters). Words that are not prose
   are passed over: timestamps, numbers and anything with a digit in it, punctuation
   (``-``, ``|``), ``[bracketed]`` fields, upper-case words (``UTC``, ``GET``), month and day
   names. A level marker among them gives the level:

   - an upper-case level name, alone or before ``:``, ``|`` or ``!`` (``ERROR``, ``WARN:``,
     ``WARNING:root:...``, ``npm ERR!``), or logrus's before ``[`` (``WARN[0000]``,
     ``ERRO[0000]``);
   - a level name of any case in brackets (``[error]``, ``[Warning]``, ``<ERROR>``,
     ``[WARN ]``, Apache's ``[core:error]``);
   - a level name of any case before a colon, when no prose came before it (``error: ...``,
     ``Warning: ...``, ``2026-11-23 10:00:01 fatal: ...``).

   A word of prose (letters, some lower-case) may come before the first two kinds, once: a
   program or host name (``npm ERR!``, ``myhost app[7]: ERROR``, ``- myapp - ERROR -``). The
   second word of prose ends the search: ``no errors found`` and ``Error handling enabled``
   have no level, nor has ``INFORMATION`` (not a level name) or ``GET /error`` (not a word).
4. **logfmt** in the first 300 characters: ``level=warn``, ``lvl=``, ``severity=``,
   ``loglevel=`` (the value quoted or not), at the start of the line or after a space.

Colour codes (``ESC[31m``) around any of these are ignored.
"""

from __future__ import annotations

import json
import re
from enum import IntEnum

from shared.errors import InvalidRequest, quoted


class Level(IntEnum):
    """A line's level, least severe first (the values are pino's and bunyan's)."""

    TRACE = 10
    DEBUG = 20
    INFO = 30
    WARN = 40
    ERROR = 50
    FATAL = 60


NAMES: dict[str, Level] = {
    "trace": Level.TRACE,
    "trc": Level.TRACE,
    "verbose": Level.TRACE,
    "finest": Level.TRACE,
    "finer": Level.TRACE,
    "debug": Level.DEBUG,
    "dbg": Level.DEBUG,
    "fine": Level.DEBUG,
    "info": Level.INFO,
    "inf": Level.INFO,
    "information": Level.INFO,
    "informational": Level.INFO,
    "notice": Level.INFO,
    "warn": Level.WARN,
    "warning": Level.WARN,
    "wrn": Level.WARN,
    "error": Level.ERROR,
    "err": Level.ERROR,
    "severe": Level.ERROR,
    "fatal": Level.FATAL,
    "ftl": Level.FATAL,
    "critical": Level.FATAL,
    "crit": Level.FATAL,
    "alert": Level.FATAL,
    "emerg": Level.FATAL,
    "emergency": Level.FATAL,
    "panic": Level.FATAL,
    "dpanic": Level.FATAL,
}
"""Every name a line may give its level by (lower case), and the level it means."""

JSON_SCAN = 2000  # characters of a JSON object searched for its level key
LINE_SCAN = 300  # characters of another line searched for its level
MAX_WORDS = 8  # of those, the first words looked at

_NUMBERS = {int(level): level for level in Level}  # pino's and bunyan's numbers
_UPPER = {name.upper(): level for name, level in NAMES.items()}
_DIGITS = frozenset("0123456789")
_KLOG = {"I": Level.INFO, "W": Level.WARN, "E": Level.ERROR, "F": Level.FATAL}
_RUBY = {"D": Level.DEBUG, **_KLOG}
# logrus on a terminal: INFO[0000], ERRO[0000], ...
_LOGRUS = {
    "TRAC": Level.TRACE,
    "DEBU": Level.DEBUG,
    "INFO": Level.INFO,
    "WARN": Level.WARN,
    "ERRO": Level.ERROR,
    "FATA": Level.FATAL,
    "PANI": Level.FATAL,
}
_CALENDAR = frozenset(
    "jan feb mar apr may jun jul aug sep oct nov dec mon tue wed thu fri sat sun".split()
)
_ANSI = re.compile(r"\x1b\[[0-9;:?]*[A-Za-z]")
_JSON_KEY = re.compile(
    r'"(?:level|lvl|severity|loglevel|log_level|levelname|log\.level)"\s*:\s*'
    r'(?:"\s*([A-Za-z]{1,16})\s*"|(\d{2})(?![\d.]))',
    re.IGNORECASE,
)
_BRACKETED = re.compile(r"[\[<(]\s*(?:[A-Za-z0-9_.-]+:)?([A-Za-z]{3,13})\s*[\]>)]")
_LOGFMT = re.compile(r'(?:^|\s)(?:level|lvl|severity|loglevel)="?([A-Za-z]{1,16})(?![A-Za-z0-9_])')


def detect_level(content: str) -> Level | None:
    """The level ``content`` says it has (the rules in this module's docstring), or None when
    it says none."""
    head = content[:LINE_SCAN].lstrip()
    if not head:
        return None
    if "\x1b" in head:
        head = _ANSI.sub("", content[:JSON_SCAN]).lstrip()[:LINE_SCAN]
        if not head:
            return None
    first = head[0]
    if first == "{":
        return _from_json(content[:JSON_SCAN])
    if first in _RUBY and len(head) > 6:
        if head[1] in _DIGITS and first in _KLOG and _klog_head(head):
            return _KLOG[first]
        if head.startswith(", [", 1):
            return _RUBY[first]
    level = _from_words(head)
    # (substring tests first: "ty=" stands for severity=; _LOGFMT has the exact rule)
    if level is None and "=" in head and ("level=" in head or "lvl=" in head or "ty=" in head):
        match = _LOGFMT.search(head)
        if match is not None:
            level = NAMES.get(match.group(1).lower())
    return level


def _from_json(head: str) -> Level | None:
    if "\x1b" in head:
        head = _ANSI.sub("", head)
    match = _JSON_KEY.search(head)
    if match is None:
        return None
    name, number = match.groups()
    if name is not None:
        return NAMES.get(name.lower())
    return _NUMBERS.get(int(number))


def _klog_head(head: str) -> bool:
    # I1123 10:00:00.123456 (the letter, MMDD, a space, then the time)
    return all(c in _DIGITS for c in head[1:5]) and head[5] == " " and head[6] in _DIGITS


def _from_words(head: str) -> Level | None:
    words = head.split(None, MAX_WORDS)
    prose = 0
    for i in range(min(len(words), MAX_WORDS)):
        word = words[i]
        if word.isalpha():  # the common case, first: a word of letters only
            if word.isupper():
                level = _UPPER.get(word)
                if level is not None:
                    return level
            elif len(word) != 3 or word.lower() not in _CALENDAR:
                prose += 1
                if prose == 2:
                    return None
            continue
        if word[0] in _DIGITS or word.isalnum():
            continue  # a timestamp, a number, an id
        if "[" in word or "<" in word or "(" in word:
            level = _bracketed(word, words[i + 1] if i + 1 < len(words) else "")
            if level is not None:
                return level
            continue
        before, colon, _ = word.partition(":")
        core = before.rstrip("|!.,;")
        if not core.isalpha():
            continue  # punctuation, a path, an address
        if core.isupper():
            level = _UPPER.get(core)
            if level is not None and (colon or before[len(core) :] in ("|", "!")):
                return level
            continue  # GET:, or ERRORS.
        if colon and prose == 0:
            level = NAMES.get(core.lower())
            if level is not None:
                return level
        if core.lower() not in _CALENDAR:
            prose += 1
            if prose == 2:
                return None
    return None


def _bracketed(word: str, after: str) -> Level | None:
    lead = word.partition("[")[0]
    if lead in _LOGRUS:
        return _LOGRUS[lead]
    # "[WARN ]" is two words; so are "[2026-11-23T10:00:01,123][INFO ]" and the rest
    if word.count("[") > word.count("]") or word.count("<") > word.count(">"):
        word = f"{word} {after.split(None, 1)[0] if after else ''}"  # (after: maybe the rest)
    for match in _BRACKETED.finditer(word):
        level = NAMES.get(match.group(1).lower())
        if level is not None:
            return level
    return None


def parse_level_spec(text: str) -> Level:
    """The least level a filter such as ``warn+`` lets through: a level name (any of
    :data:`NAMES`, any case), optionally followed by ``+`` ("this level and above"). A bare
    name means the same (``warn`` = ``warn+``): a filter by level shows the level and
    everything more severe. Raises :class:`~shared.errors.InvalidRequest` otherwise."""
    name = text.strip().lower().removesuffix("+").rstrip()
    level = NAMES.get(name)
    if level is None:
        valid = ", ".join(known.name.lower() for known in Level)
        raise InvalidRequest(
            f"unknown level {quoted(text)}: expected one of {valid} (or warning, err, "
            "critical, ...), optionally followed by + (warn+: warn and above)"
        )
    return level


def pretty_json(content: str) -> str | None:
    """``content`` indented (two spaces a level, keys in their order) when it is a JSON object
    or array, else None."""
    text = content.strip()
    if not text or text[0] not in "{[" or text[-1] not in "}]":
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict | list):
        return None
    return json.dumps(value, indent=2, ensure_ascii=False)
