"""Open-loop load for `bench_line.py --rate`: signed webhooks POSTed at a fixed rate.

Run as its own process (`python bench/line_load.py PORT RATE < bodies.jsonl`, one JSON line per
webhook: {"body": str, "signature": str}) so that neither the LINE stand-in's threads nor the
server compete with it for a GIL. Webhook i is due at start + i / RATE whether or not earlier ones
were answered (open loop: a slow server cannot slow the arrivals and hide its own latency). Each
is sent on an idle keep-alive connection (a new one when none is idle), with a minimal HTTP/1.1
client on asyncio streams, so the generator's own cost stays small. Latency is measured from the
moment the webhook was due to the last byte of the answer (so a late start counts against the
server, as a late start would be seen by LINE). Prints one JSON object: latencies (ms), statuses,
and how late the sends were.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def post(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:].strip())
        if length:
            await self.reader.readexactly(length)
        return status


def request(port: int, body: bytes, signature: str) -> bytes:
    head = (
        f"POST /callback HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"X-Line-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def run(port: int, rate: float, requests: list[bytes], warm: int) -> dict[str, Any]:
    idle: list[Conn] = []

    async def connect() -> Conn:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return Conn(reader, writer)

    idle.extend(await asyncio.gather(*(connect() for _ in range(warm))))
    latencies: list[float] = [0.0] * len(requests)
    statuses: dict[str, int] = {}
    answers: list[int] = [0] * len(requests)
    lateness: list[float] = []
    stale: list[int] = []

    clock = time.perf_counter  # the loop's own clock (uvloop: milliseconds) is too coarse here

    async def one(i: int, due: float) -> None:
        conn = idle.pop() if idle else await connect()
        lateness.append(clock() - due)
        try:
            status = await conn.post(requests[i])
        except (OSError, asyncio.IncompleteReadError):
            # a kept-alive connection the server closed while it sat idle (uvicorn's keep-alive is
            # 5 s; the bottom of this idle stack can wait that long): sent again on a new one, as
            # an HTTP client does with a stale connection; counted, and its latency includes both
            stale.append(i)
            conn = await connect()
            try:
                status = await conn.post(requests[i])
            except (OSError, asyncio.IncompleteReadError):
                status = 599
                conn = await connect()
        latencies[i] = (clock() - due) * 1000
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        answers[i] = status
        idle.append(conn)

    tasks = []
    start = clock() + 0.05
    for i in range(len(requests)):
        due = start + i / rate
        while (delay := due - clock()) > 0.002:
            await asyncio.sleep(delay - 0.001)
        while clock() < due:  # the last millisecond spun: timers are millisecond-coarse
            pass
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    elapsed = clock() - start
    for conn in idle:
        conn.writer.close()
    return {
        "latencies_ms": latencies,
        "statuses": statuses,
        "answers": answers,
        "send_lateness_ms_max": round(max(lateness) * 1000, 2),
        "connections": len(idle),
        "stale_connections_resent": len(stale),
        "seconds": round(elapsed, 2),
        "start": start,  # time.perf_counter() (CLOCK_MONOTONIC) of webhook 0's due time
    }


def main() -> int:
    port, rate = int(sys.argv[1]), float(sys.argv[2])
    items = [json.loads(line) for line in sys.stdin if line.strip()]
    requests = [request(port, item["body"].encode(), item["signature"]) for item in items]
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    started = time.perf_counter()
    result = asyncio.run(run(port, rate, requests, warm=16))
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
