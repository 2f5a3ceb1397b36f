"""A lean HTTP/1.1 client for the load: keep-alive connections over asyncio streams, one request
at a time on each, JSON bodies with a Content-Length (or chunked) answer.

httpx cost the bench process 2.6 ms of CPU per message (0.85 of a core: measured at stop 22),
more than the server it measured, on the same 2 cores: the load generator, not the server, set
the msg/s of madoguchi (the Rasa peer, ten times slower, hardly felt it). The issue measured with
wrk; wrk's Lua cannot follow a conversation (one connection's answer decides its next message),
so this client keeps bench_web's conversations and costs a fraction of httpx's CPU. The bench
prints the generator's own CPU per message beside the server's.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class LoadError(Exception):
    """The server closed the connection or answered something that is not HTTP/1.1."""


class Client:
    """Keep-alive connections to one server, `limit` at most (one request at a time on each)."""

    def __init__(self, base: str, limit: int, timeout: float = 60.0) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(limit)

    async def post_json(self, path: str, body: bytes) -> tuple[int, bytes]:
        async with self._slots:
            conn = self._idle.pop() if self._idle else await asyncio.open_connection(self.host, self.port)
            try:
                status, data, keep = await asyncio.wait_for(self._exchange(conn, path, body), self.timeout)
            except BaseException:
                conn[1].close()
                raise
            if keep:
                self._idle.append(conn)
            else:
                conn[1].close()
            return status, data

    async def _exchange(
        self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], path: str, body: bytes
    ) -> tuple[int, bytes, bool]:
        reader, writer = conn
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        writer.write(head.encode("ascii") + body)
        status_line = await reader.readline()
        if not status_line.startswith(b"HTTP/1."):
            raise LoadError("connection closed" if not status_line else "not an HTTP/1.1 answer")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, keep = 0, False, True
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value:
                chunked = True
            elif name == b"connection" and value == b"close":
                keep = False
        if not chunked:
            return status, await reader.readexactly(length), keep
        parts = []
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                await reader.readline()  # the empty trailer
                return status, b"".join(parts), keep
            parts.append(await reader.readexactly(size))
            await reader.readline()

    async def aclose(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()
