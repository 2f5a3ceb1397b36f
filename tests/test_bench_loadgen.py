"""bench/loadgen.py, the bench's HTTP client: what it reads is what the server sent (a Content-Length
body, a chunked one, a connection the server closes), so the bench's msg/s and statuses are real."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from tests.conftest import REPO

# bench/ is a folder of scripts, not a package: the module is loaded from its file
_spec = importlib.util.spec_from_file_location("bench_loadgen", REPO / "bench" / "loadgen.py")
assert _spec is not None and _spec.loader is not None
loadgen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(loadgen)


async def _serve(answers: list[bytes]) -> tuple[asyncio.Server, list[bytes]]:
    """A server that reads one request at a time and writes the next canned answer."""
    requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            requests.append(head + await reader.readexactly(length))
            answer = answers.pop(0)
            writer.write(answer)
            await writer.drain()
            if b"connection: close" in answer.lower():
                writer.close()
                return
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0), requests


def test_bodies_by_length_and_chunked_and_a_closed_connection_are_read_as_sent() -> None:
    japanese = '[{"text":"は"}]'.encode()
    answers = [
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
        % (len(japanese), japanese),
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\n[1,2\r\n2\r\n,3\r\n1\r\n]\r\n0\r\n\r\n",
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n[]",
    ]

    async def scenario() -> tuple[list[tuple[int, bytes]], list[bytes]]:
        server, requests = await _serve(answers)
        port = server.sockets[0].getsockname()[1]
        client = loadgen.Client(f"http://127.0.0.1:{port}", limit=1)
        try:
            got = [await client.post_json("/webhooks/rest/webhook", b'{"n":%d}' % i) for i in range(4)]
        finally:
            await client.aclose()
            server.close()
        return got, requests

    got, requests = asyncio.run(scenario())
    assert got == [
        (200, japanese),
        (200, b"[1,2,3]"),
        (503, b"{}"),
        (200, b"[]"),  # on a new connection: the server closed the one before
    ]
    assert [r.split(b"\r\n\r\n")[1] for r in requests] == [b'{"n":0}', b'{"n":1}', b'{"n":2}', b'{"n":3}']
    assert requests[0].startswith(b"POST /webhooks/rest/webhook HTTP/1.1\r\n")


def test_a_connection_closed_without_an_answer_is_an_error() -> None:
    async def scenario() -> None:
        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.close()

        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        client = loadgen.Client(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", limit=1)
        try:
            await client.post_json("/", b"{}")
        finally:
            await client.aclose()
            server.close()

    with pytest.raises(loadgen.LoadError):
        asyncio.run(scenario())
