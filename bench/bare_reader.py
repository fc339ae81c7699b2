"""A bare Python reader of one container's Docker log: the baseline of benchmark 5.

It asks the Docker API for the log (follow, timestamps, HTTP/1.0 raw stream, like the worker)
and walks the frames, counting lines: no decoding to text, no fan-out, no gRPC.
Usage: python bench/bare_reader.py CONTAINER_ID  (prints the line count)
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp


async def main(container: str) -> int:
    connector = aiohttp.UnixConnector(path="/var/run/docker.sock")
    lines = 0
    buf = b""
    async with aiohttp.ClientSession(
        "http://docker", connector=connector, version=aiohttp.HttpVersion10
    ) as session:
        params = {"stdout": "1", "stderr": "1", "timestamps": "1", "follow": "1"}
        async with session.get(f"/containers/{container}/logs", params=params) as resp:
            async for chunk in resp.content.iter_any():
                data = buf + chunk
                pos = 0
                n = len(data)
                while n - pos >= 8:
                    end = pos + 8 + int.from_bytes(data[pos + 4 : pos + 8], "big")
                    if end > n:
                        break
                    lines += data.count(b"\n", pos + 8, end)
                    pos = end
                buf = data[pos:]
    return lines


if __name__ == "__main__":
    print(asyncio.run(main(sys.argv[1])))
