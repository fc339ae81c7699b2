"""A line's level where it says one, level filters' words, and JSON lines indented. Pure.

The (line, level) cases live in level_cases.json, which tests/web/test_levels.py runs through
the page's web/levels.js as well: both read the same lines the same way."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from shared.errors import InvalidRequest
from shared.levels import (
    JSON_SCAN,
    LINE_SCAN,
    NAMES,
    Level,
    detect_level,
    parse_level_spec,
    pretty_json,
)

CASES_FILE = Path(__file__).with_name("level_cases.json")
CASES: list[tuple[str, str | None]] = [tuple(c) for c in json.loads(CASES_FILE.read_text())]


def level_name(content: str) -> str | None:
    level = detect_level(content)
    return None if level is None else level.name.lower()


@pytest.mark.parametrize(("content", "expected"), CASES, ids=[repr(c[:40]) for c, _ in CASES])
def test_each_shared_case_reads_as_its_level(content, expected):
    assert level_name(content) == expected


def test_the_shared_cases_cover_every_level_and_lines_without_one():
    levels = {expected for _, expected in CASES}
    assert levels == {level.name.lower() for level in Level} | {None}
    assert sum(1 for _, expected in CASES if expected is None) >= 25


def test_levels_are_ordered_least_severe_first_with_pinos_numbers():
    assert list(Level) == sorted(Level)
    assert [int(level) for level in Level] == [10, 20, 30, 40, 50, 60]
    assert Level.WARN < Level.ERROR < Level.FATAL


def test_every_level_name_is_read_in_json_in_brackets_and_upper_case():
    for name, level in NAMES.items():
        assert detect_level(json.dumps({"msg": "x", "level": name})) is level, name
        assert detect_level(f"[{name}] x") is level, name
        assert detect_level(f"2026-11-23 10:00:01 {name.upper()} x") is level, name
        assert detect_level(f"{name}: x") is level, name
        assert detect_level(f"ts=1 level={name} msg=x") is level, name


def test_colour_codes_around_the_level_word_do_not_hide_it():
    assert detect_level("\x1b[31mERROR\x1b[0m x") is Level.ERROR
    assert detect_level("\x1b[2m2026-11-23T10:00:01Z\x1b[0m \x1b[33mWARN\x1b[0m x") is Level.WARN
    assert detect_level('\x1b[36m{"level":"debug"}\x1b[0m') is Level.DEBUG
    assert detect_level("\x1b[31m\x1b[0m") is None


def test_a_word_of_prose_ends_the_search():
    """Words of prose are not looked past: a level word later in a sentence is text."""
    assert detect_level("no errors found") is None
    assert detect_level("request failed with ERROR 42") is None
    assert detect_level("we saw [error] twice") is None
    assert detect_level("Error handling enabled") is None
    # one word may come first (a program or host name), but not before "word:"
    assert detect_level("myapp ERROR x") is Level.ERROR
    assert detect_level("myapp [warn] x") is Level.WARN
    assert detect_level("Connection error: refused") is None
    # month and day names are part of timestamps, not prose
    assert detect_level("Mon Nov 23 10:00:01 2026 WARN x") is Level.WARN


def test_only_the_first_words_and_characters_are_looked_at():
    assert detect_level("a1 b2 c3 d4 e5 f6 g7 ERROR") is Level.ERROR  # the 8th word
    assert detect_level("a1 b2 c3 d4 e5 f6 g7 h8 ERROR") is None  # the 9th
    assert detect_level(" " * (LINE_SCAN - 6) + "ERROR x") is Level.ERROR  # (spaces skipped)
    assert detect_level("x" * LINE_SCAN + " level=error") is None
    padding = '"p":"' + "x" * JSON_SCAN + '"'
    assert detect_level('{"level":"warn",' + padding + "}") is Level.WARN
    assert detect_level("{" + padding + ',"level":"warn"}') is None


def test_a_json_line_is_judged_by_its_level_key_only():
    """Its text is not guessed at: "ERROR" in a message is a message about an error."""
    assert detect_level('{"msg":"ERROR: x"}') is None
    assert detect_level('{"level":5,"severity":"error"}') is Level.ERROR  # not a pino number
    assert detect_level('{"level":"","msg":"x"}') is None
    assert detect_level('{"level":true}') is None


def test_a_level_spec_is_a_name_and_an_optional_plus():
    assert parse_level_spec("warn+") is Level.WARN
    assert parse_level_spec("warn") is Level.WARN  # a bare name means the same
    assert parse_level_spec("WARNING") is Level.WARN
    assert parse_level_spec(" Error+ ") is Level.ERROR
    assert parse_level_spec("err") is Level.ERROR
    assert parse_level_spec("critical") is Level.FATAL
    assert parse_level_spec("trace+") is Level.TRACE


@pytest.mark.parametrize("bad", ["", "+", "warn++", "loud", "3", "warn-", "w", "x" * 100])
def test_a_bad_level_spec_names_the_valid_ones(bad):
    with pytest.raises(InvalidRequest) as caught:
        parse_level_spec(bad)
    message = str(caught.value)
    assert "unknown level" in message
    assert "trace, debug, info, warn, error, fatal" in message and "warn+" in message
    assert len(message) < 200  # a long value is quoted in part


def test_json_objects_and_arrays_are_indented_other_lines_are_not():
    assert pretty_json('{"level":"info","n":1,"tags":["a","b"],"sub":{}}') == (
        '{\n  "level": "info",\n  "n": 1,\n  "tags": [\n    "a",\n    "b"\n  ],\n  "sub": {}\n}'
    )
    assert pretty_json(' [1, {"a": "é"}]\r') == '[\n  1,\n  {\n    "a": "é"\n  }\n]'
    assert pretty_json('{"z":1,"a":2}') == '{\n  "z": 1,\n  "a": 2\n}'  # keys in their order
    assert pretty_json('{"msg":"a\\nb \\u001b[2J"}') == '{\n  "msg": "a\\nb \\u001b[2J"\n}'
    for not_json in ["", "plain", "[INFO] x", '{"level":"info"', "{} trailing", '"a string"', "42"]:
        assert pretty_json(not_json) is None, not_json


def test_detection_costs_microseconds_a_line():
    """A server-side filter reads every line's level: a generous bound, to catch a slow
    path (a parse of every line, a scan of the whole line), not to benchmark."""
    lines = [c for c, _ in CASES] + ["plain output " * 200, "{" + '"k":"v",' * 2000]
    started = time.perf_counter()
    for _ in range(200):
        for line in lines:
            detect_level(line)
    per_line = (time.perf_counter() - started) / (200 * len(lines))
    assert per_line < 50e-6, per_line
