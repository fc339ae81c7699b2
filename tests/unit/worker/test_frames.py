"""Docker log stream decoding: pure, no Docker (the same cases run against a real engine in
tests/integration/test_docker_logs.py)."""

from __future__ import annotations

import os
import random

import pytest

from shared.model import STDERR, STDOUT
from tests.dockerfmt import multiplexed, raw
from worker.frames import DEFAULT_MAX_LINE_BYTES, DockerLogDecoder

TS1 = "2026-11-22T19:41:43.606115068Z"
TS2 = "2026-11-22T19:41:43.7Z"
TS3 = "2026-11-22T19:41:44.000000001Z"


def decode(data: bytes, *, tty: bool, chunk: int | None = None, **kw):
    dec = DockerLogDecoder(tty=tty, **kw)
    out = []
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        out += dec.feed(data[i : i + step])
    out += dec.feed_eof()
    return out


def test_plain_lines_keep_timestamp_stream_and_content():
    data = multiplexed([(1, TS1, b"hello\n"), (2, TS2, b"oops\n"), (1, TS3, b"bye\n")])
    lines = decode(data, tty=False)
    assert [(ln.timestamp, ln.stream, ln.content) for ln in lines] == [
        (TS1, STDOUT, "hello"),
        (TS2, STDERR, "oops"),
        (TS3, STDOUT, "bye"),
    ]
    assert not any(ln.unterminated or ln.truncated for ln in lines)


@pytest.mark.parametrize("chunk", [None, 1, 7, 8, 9, 4096, 16391])
def test_40000_byte_line_arrives_as_one_line(chunk):
    long = b"a" * 40_000
    data = multiplexed([(1, TS1, long + b"\n"), (1, TS2, b"second\n")])
    lines = decode(data, tty=False, chunk=chunk)
    assert [len(ln.content) for ln in lines] == [40_000, 6]
    assert lines[0].content == long.decode() and lines[0].timestamp == TS1


def test_split_lines_on_stdout_and_stderr_do_not_mix():
    out_line = b"o" * 20_000 + b"\n"
    err_line = b"e" * 20_000 + b"\n"
    out_frames = multiplexed([(1, TS1, out_line)])
    err_frames = multiplexed([(2, TS2, err_line)])
    # interleave the frames of the two streams: first parts, then last parts
    first_out = 8 + len(TS1) + 1 + 16_384
    first_err = 8 + len(TS2) + 1 + 16_384
    data = (
        out_frames[:first_out]
        + err_frames[:first_err]
        + out_frames[first_out:]
        + err_frames[first_err:]
    )
    lines = decode(data, tty=False)
    assert [(ln.stream, ln.content) for ln in lines] == [
        (STDOUT, "o" * 20_000),
        (STDERR, "e" * 20_000),
    ]


def test_last_line_without_newline_is_delivered_and_marked():
    data = multiplexed([(1, TS1, b"first\n"), (1, TS2, b"no newline")])
    dec = DockerLogDecoder(tty=False)
    lines = dec.feed(data)
    # delivered as soon as its frame arrives (a short message without newline is a last line)
    assert [(ln.content, ln.unterminated) for ln in lines] == [
        ("first", False),
        ("no newline", True),
    ]
    assert dec.feed_eof() == []


def test_last_split_line_without_newline_is_delivered_whole():
    data = multiplexed([(1, TS1, b"z" * 40_000)])
    lines = decode(data, tty=False)
    assert [(len(ln.content), ln.unterminated) for ln in lines] == [(40_000, True)]


def test_line_of_exactly_16k_then_eof_is_delivered_at_eof():
    dec = DockerLogDecoder(tty=False)
    assert dec.feed(multiplexed([(1, TS1, b"x" * 16_384)])) == []  # may continue
    lines = dec.feed_eof()
    assert [(len(ln.content), ln.unterminated) for ln in lines] == [(16_384, True)]


def test_partial_line_followed_by_new_timestamp_ends_it():
    dec = DockerLogDecoder(tty=False)
    lines = dec.feed(multiplexed([(1, TS1, b"x" * 16_384), (1, TS2, b"next\n")]))
    assert [(len(ln.content), ln.unterminated) for ln in lines] == [(16_384, True), (4, False)]


@pytest.mark.parametrize("chunk", [None, 1, 5, 31, 4096])
def test_tty_stream_strips_carriage_returns(chunk):
    data = raw([(TS1, b"hello\r\n"), (TS2, b"world\r\n"), (TS3, b"last")])
    lines = decode(data, tty=True, chunk=chunk)
    assert [(ln.timestamp, ln.stream, ln.content, ln.unterminated) for ln in lines] == [
        (TS1, STDOUT, "hello", False),
        (TS2, STDOUT, "world", False),
        (TS3, STDOUT, "last", True),
    ]


@pytest.mark.parametrize("chunk", [None, 3, 1000, 16_384, 16_415])
def test_tty_40000_byte_line_is_rejoined(chunk):
    data = raw([(TS1, b"b" * 40_000 + b"\r\n"), (TS2, b"second\r\n")])
    lines = decode(data, tty=True, chunk=chunk)
    assert [ln.content for ln in lines] == ["b" * 40_000, "second"]


def test_invalid_utf8_is_replaced_never_raised():
    data = multiplexed([(1, TS1, b"caf\xc3\xa9 \xff\xfe ok\n")])
    (line,) = decode(data, tty=False)
    assert line.content == "café \ufffd\ufffd ok"


def test_64k_random_bytes_decode_and_stream_stays_alive():
    blob = random.Random(7).randbytes(64 * 1024)
    data = multiplexed([(1, TS1, blob), (1, TS2, b"\nalive\n")])
    lines = decode(data, tty=False, chunk=1000)
    assert lines[-1].content == "alive"
    # every byte of the blob is accounted for: joined content equals the blob decoded per line
    expected = [seg.decode("utf-8", "replace") for seg in (blob + b"\n").split(b"\n")[:-1]]
    got = [ln.content for ln in lines[: len(expected)]]
    assert got == expected


def test_10_mib_line_is_truncated_marked_and_the_stream_continues():
    huge = b"y" * (10 * 1024 * 1024)
    dec = DockerLogDecoder(tty=False)
    data = multiplexed([(1, TS1, huge + b"\n"), (1, TS2, b"after\n")])
    lines = []
    for i in range(0, len(data), 65536):
        lines += dec.feed(data[i : i + 65536])
        pending = dec._pending.get(STDOUT)
        assert pending is None or pending.size <= DEFAULT_MAX_LINE_BYTES  # memory stays bounded
    lines += dec.feed_eof()
    assert [ln.content for ln in lines][1:] == ["after"]
    assert len(lines[0].content) == DEFAULT_MAX_LINE_BYTES
    assert lines[0].truncated == len(huge) - DEFAULT_MAX_LINE_BYTES


def test_truncation_never_splits_a_character():
    line = "é" * 10  # 2 bytes each
    data = multiplexed([(1, TS1, line.encode() + b"\n")])
    (got,) = decode(data, tty=False, max_line_bytes=5)
    assert got.content == "éé" and got.truncated == 16


def test_frame_larger_than_the_buffer_limit_is_read_piecewise():
    payload = TS1.encode() + b" " + b"q" * (3 * 1024 * 1024) + b"\n"
    data = bytes([1, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload
    data += multiplexed([(1, TS2, b"next\n")])
    lines = decode(data, tty=False, chunk=100_000)
    assert [ln.content[:3] for ln in lines] == ["qqq", "nex"]
    assert lines[0].truncated == 3 * 1024 * 1024 - DEFAULT_MAX_LINE_BYTES


def test_stream_cut_mid_frame_keeps_what_arrived():
    data = multiplexed([(1, TS1, b"complete\n"), (1, TS2, b"cut short here\n")])
    lines = decode(data[:-6], tty=False)
    assert [(ln.content, ln.unterminated) for ln in lines] == [
        ("complete", False),
        ("cut short", True),
    ]


def test_any_split_of_the_stream_decodes_the_same():
    rnd = random.Random(1)
    records = []
    for i in range(300):
        size = rnd.choice([0, 5, 100, 16_383, 16_384, 16_385, 40_000])
        records.append(
            (rnd.choice([1, 2]), f"2026-11-22T19:41:{i:02d}.{i}Z", os.urandom(size) + b"\n")
        )
    data = multiplexed(records)
    whole = [(ln.timestamp, ln.stream, ln.content) for ln in decode(data, tty=False)]
    for _ in range(5):
        dec = DockerLogDecoder(tty=False)
        got = []
        pos = 0
        while pos < len(data):
            step = rnd.randint(1, 70_000)
            got += dec.feed(data[pos : pos + step])
            pos += step
        got += dec.feed_eof()
        assert [(ln.timestamp, ln.stream, ln.content) for ln in got] == whole
