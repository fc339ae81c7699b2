"""The store's chunk compression (also a quiet ring's packed runs': :mod:`shared.ring`):
zstd level 1 for what is written; zlib (the first format's) still read. Each chunk says which
it is by its first bytes (a zstd frame's magic number; a zlib stream starts with 0x78), so
files written before zstd read as they are.

zstd level 1 against zlib level 1, measured on this kind of machine on chunks of 500 encoded
lines (a micro-benchmark, CPU per line to compress): 0.12 against 0.20 us for lines of ~10
bytes (``seq=N``) and 0.12 against 0.34-0.39 for ~100 bytes, in about half the bytes; it also
decompresses faster. Benchmark 11 has the store's figures with it.
"""

from __future__ import annotations

import threading
import zlib

import zstandard

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_local = threading.local()  # zstd's (de)compressor objects are not shared between threads


class CorruptChunk(Exception):
    """A stored chunk that cannot be decompressed."""


def compress(data: bytes) -> bytes:
    """``data`` as the store writes it, in a block of its own size: zstd's result is a block
    sized for the worst case and shrunk in place, which leaves a hole ~4x its size behind it
    that the next compressions do not fit in. The store's chunks stay alive in the rings
    (:meth:`shared.ring.LineStore.adopt_compressed`), as do a quiet ring's own (row 7r: 123
    KiB per quiet ring without the copy, 55 with it); the copy costs ~1 us for a 25 KB
    chunk."""
    compressor = getattr(_local, "compressor", None)
    if compressor is None:
        compressor = _local.compressor = zstandard.ZstdCompressor(level=1)
    return bytes(memoryview(compressor.compress(data)))


def decompress(data: bytes) -> bytes:
    """A stored chunk's bytes, zstd or zlib (CorruptChunk when it is neither)."""
    try:
        if data[:4] == _ZSTD_MAGIC:
            decompressor = getattr(_local, "decompressor", None)
            if decompressor is None:
                decompressor = _local.decompressor = zstandard.ZstdDecompressor()
            return decompressor.decompress(data)
        return zlib.decompress(data)
    except (zstandard.ZstdError, zlib.error) as exc:
        raise CorruptChunk(str(exc)) from exc
