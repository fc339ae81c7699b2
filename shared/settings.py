"""A server's settings from three layers: a TOML file, ``LOGCAST_*`` environment variables and
command-line flags (later wins), each value with the source it came from.

The settings are the ``serve`` command's own options (one definition: the argparse parser),
so every flag has a file key and an environment variable of the same name:

    --retention-age 12h   ==   retention_age = "12h"   ==   LOGCAST_RETENTION_AGE=12h

Pure: the caller reads the file and the environment (:func:`resolve` gets their contents).
A value that is wrong anywhere is refused with a :class:`~shared.errors.ConfigError` naming
the key and where it came from (the file's path, the variable, the flag).
"""

from __future__ import annotations

import argparse
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.errors import ConfigError

ENV_PREFIX = "LOGCAST_"
SECRET_KEYS = frozenset({"token", "join_token"})  # printed redacted
REDACTED = "<redacted>"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True, slots=True)
class Resolved:
    """The effective settings: ``values`` as argparse would give them, and each one's source
    (``default``, ``file PATH``, ``env LOGCAST_X``, ``flag --x``)."""

    values: dict[str, Any]
    sources: dict[str, str]
    file: str  # the configuration file read ("" if none)

    def namespace(self, **extra: Any) -> argparse.Namespace:
        """The values as a parsed command line (plus ``extra``)."""
        return argparse.Namespace(**self.values, **extra)

    def redacted(self) -> dict[str, Any]:
        """The values, secrets redacted, in key order."""
        return {
            k: REDACTED if k in SECRET_KEYS and v else v for k, v in sorted(self.values.items())
        }

    def rows(self) -> list[tuple[str, str, str]]:
        """``(key, value, source)`` for printing, secrets redacted, in key order."""
        return [(key, _show(value), self.sources[key]) for key, value in self.redacted().items()]


def settings_of(parser: argparse.ArgumentParser, skip: Sequence[str] = ()) -> list[argparse.Action]:
    """The options of ``parser`` that are settings (not help, not ``skip``)."""
    return [
        a
        for a in parser._actions
        if a.option_strings and a.dest not in ("help", *skip) and a.dest != argparse.SUPPRESS
    ]


def explicit_flags(
    parser: argparse.ArgumentParser, argv: Sequence[str], skip: Sequence[str] = ()
) -> dict[str, str]:
    """dest -> the flag given on the command line, for every option ``argv`` sets."""
    actions = settings_of(parser, skip)
    saved = [a.default for a in actions]
    try:
        for a in actions:
            a.default = argparse.SUPPRESS
        given = vars(parser.parse_args(argv))
    finally:
        for a, default in zip(actions, saved, strict=True):
            a.default = default
    return {a.dest: _long(a) for a in actions if a.dest in given}


def parse_file(text: str, path: str) -> dict[str, Any]:
    """The TOML file's table (refused when it is not TOML)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def resolve(
    parser: argparse.ArgumentParser,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    file: Mapping[str, Any] | None = None,
    file_path: str = "",
    skip: Sequence[str] = (),
) -> Resolved:
    """Defaults, then ``file``, then ``env``, then the flags in ``argv``.

    ``parser`` is the ``serve`` command's (``skip``: options that are not settings, such as
    ``--config``). Unknown keys in the file are refused; unknown ``LOGCAST_*`` variables are
    left alone (clients read some of them).
    """
    actions = {a.dest: a for a in settings_of(parser, skip)}
    parsed = vars(parser.parse_args(argv))
    flags = explicit_flags(parser, argv, skip)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    file = file or {}
    unknown = sorted(set(file) - set(actions))
    if unknown:
        known = ", ".join(sorted(actions))
        raise ConfigError(f"{file_path}: unknown key {unknown[0]!r} (known keys: {known})")
    for dest, action in actions.items():
        variable = ENV_PREFIX + dest.upper()
        if dest in flags:
            values[dest], sources[dest] = parsed[dest], f"flag {flags[dest]}"
        elif variable in env:
            values[dest] = _convert(action, env[variable], f"environment variable {variable}")
            sources[dest] = f"env {variable}"
        elif dest in file:
            where = f"{file_path}: key {dest!r}"
            values[dest], sources[dest] = _convert(action, file[dest], where), f"file {file_path}"
        else:
            values[dest], sources[dest] = parsed[dest], "default"
    return Resolved(values, sources, file_path)


def _convert(action: argparse.Action, raw: object, where: str) -> Any:
    """A file's or variable's value for ``action``, checked as the flag would be."""
    if isinstance(action, argparse._StoreTrueAction):
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise ConfigError(f"{where}: expected true or false, got {raw!r}")
    if isinstance(action, argparse._AppendAction):
        items = raw if isinstance(raw, list) else str(raw).split(",")
        return [_one(action, item, where) for item in items]
    return _one(action, raw, where)


def _one(action: argparse.Action, raw: object, where: str) -> Any:
    if isinstance(raw, bool) or isinstance(raw, (dict, list)):
        raise ConfigError(f"{where}: expected {_expected(action)}, got {raw!r}")
    convert = action.type if callable(action.type) else str
    text = raw if isinstance(raw, str) else str(raw)
    try:
        value = convert(text)
    except (ValueError, TypeError, argparse.ArgumentTypeError) as exc:
        if isinstance(exc, argparse.ArgumentTypeError):
            raise ConfigError(f"{where}: {raw!r} refused: {exc}") from None
        raise ConfigError(f"{where}: expected {_expected(action)}, got {raw!r}") from None
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise ConfigError(f"{where}: {raw!r} is not one of {choices}")
    return value


def _expected(action: argparse.Action) -> str:
    convert = action.type
    name = getattr(convert, "__name__", "")
    if convert is float:
        return "a number"
    if convert is int or name == "non_negative_int":
        return "an integer"
    if name == "positive_int":
        return "an integer >= 1"
    return "a string"


def _long(action: argparse.Action) -> str:
    return max(action.option_strings, key=len)


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    return str(value)
