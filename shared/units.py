"""Durations and sizes as people write them (``7d``, ``90s``, ``2GiB``, ``10m``). Pure."""

from __future__ import annotations

import re

from shared.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)(b?)\s*$", re.IGNORECASE)
_POWER = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_duration(text: str) -> float:
    """Seconds in ``text``: a number with an optional unit ms, s (default), m, h, d, w."""
    match = _DURATION.match(text)
    if match is None:
        raise ConfigError(f"not a duration: {text!r} (examples: 90s, 30m, 12h, 7d)")
    return float(match.group(1)) * _SECONDS[match.group(2) or "s"]


def parse_size(text: str) -> int:
    """Bytes in ``text``: a number with an optional unit: k, M, G, T (powers of 1024, with or
    without ``i``/``B``: ``2GiB``, ``2G``, ``10m``), or none (bytes)."""
    match = _SIZE.match(text)
    if match is None:
        raise ConfigError(f"not a size: {text!r} (examples: 512MiB, 2GiB, 10m)")
    return int(float(match.group(1)) * 1024 ** _POWER[match.group(2).lower()])


def format_size(n: int) -> str:
    """``n`` bytes, short (``2GiB``, ``512MiB``, ``1000B``)."""
    for unit, power in (("TiB", 4), ("GiB", 3), ("MiB", 2), ("KiB", 1)):
        if n >= 1024**power and n % 1024**power == 0:
            return f"{n // 1024**power}{unit}"
    return f"{n}B"


def format_duration(seconds: float) -> str:
    """``seconds`` as :func:`parse_duration` reads it back, in the largest unit that divides
    it exactly (``10m``, ``2h``, ``90s``, ``1.5s``, ``500ms``)."""
    for unit in ("w", "d", "h", "m"):
        if seconds >= _SECONDS[unit] and seconds % _SECONDS[unit] == 0:
            return f"{int(seconds // _SECONDS[unit])}{unit}"
    if seconds == 0 or seconds >= 1:
        return f"{_number(seconds)}s"
    return f"{_number(seconds * 1000)}ms"


def _number(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")
