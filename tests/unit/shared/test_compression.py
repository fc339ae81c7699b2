"""The store's chunk compression: zstd written, zlib (the first format) still read."""

from __future__ import annotations

import zlib

import pytest

from shared.compression import CorruptChunk, compress, decompress


def test_chunks_compress_with_zstd_and_the_zlib_of_the_first_format_still_reads():
    data = b"".join(b"seq=%d\n" % i for i in range(5000))
    packed = compress(data)
    assert packed[:4] == b"\x28\xb5\x2f\xfd"  # a zstd frame
    assert decompress(packed) == data
    assert decompress(zlib.compress(data, 1)) == data
    for bad in (b"", b"not compressed", packed[:-3]):
        with pytest.raises(CorruptChunk):
            decompress(bad)
