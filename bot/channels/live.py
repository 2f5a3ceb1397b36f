"""Live delivery by cursor: the WebSocket loops of the web widget and the staff console.

A loop holds a cursor (the id of the last transcript row it sent) and sends the rows after it:
at once (catch-up), then whenever the hub wakes it ("new rows"), and on a safety poll every
`live_poll_seconds` in case a wake-up was lost (a Redis outage, another worker). The rows come
from the database, so every worker sends the same frames and a client that reconnects with its
last id misses nothing and gets nothing twice.

Cancellation: a loop ends when the client goes away or its task is cancelled (server shutdown).
A database read is never interrupted half-way: it runs shielded, bounded by READ_LIMIT_SECONDS.
An interrupted read makes SQLAlchemy terminate the connection, and with aiosqlite (>= 0.22)
that leaves a shielded close task behind that never ends, so the event loop can never shut down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeVar

import anyio
from fastapi import WebSocket, WebSocketDisconnect
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.engine.hub import Wakeup
from bot.store import raw

log = logging.getLogger(__name__)

FIRST_FRAME_SECONDS = 5.0
READ_LIMIT_SECONDS = 10.0  # a read that takes longer is given up (and retried at the next poll)
BATCH = 100

T = TypeVar("T")
Fetch = Callable[[int], Awaitable[list[dict[str, Any]]]]  # rows after a cursor, as frames with "id"
GONE = (WebSocketDisconnect, RuntimeError, OSError)  # the client went away mid-send


class FrameError(ValueError):
    """The client's first frame is missing or not what the protocol says; the text is the close reason."""


async def first_frame(websocket: WebSocket, seconds: float | None = None) -> dict[str, Any] | None:
    """The client's first frame as a JSON object; None if the client went away."""
    message: MutableMapping[str, Any] | None = None
    try:
        with anyio.move_on_after(seconds or FIRST_FRAME_SECONDS):
            message = await websocket.receive()
    except GONE:
        return None
    if message is None:
        raise FrameError("no first frame in time")
    if message["type"] == "websocket.disconnect":
        return None
    try:
        data = json.loads(message.get("text") or "")
    except ValueError:
        raise FrameError("the first frame must be a JSON object") from None
    if not isinstance(data, dict):
        raise FrameError("the first frame must be a JSON object")
    return data


def parse_after(value: Any) -> int | None:
    """`after` of a first frame: null, or a message id (an integer, or its decimal string)."""
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FrameError("'after' must be null or the id of a message")
    return value


async def shielded(read: Callable[[], Awaitable[T]]) -> T:
    """Runs a database read to its end even if the caller is cancelled meanwhile (natively or by
    an anyio scope); the caller's cancellation takes effect right after. A read that takes longer
    than READ_LIMIT_SECONDS is given up (TimeoutError)."""
    task = asyncio.ensure_future(asyncio.wait_for(read(), READ_LIMIT_SECONDS))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with anyio.CancelScope(shield=True):  # anyio re-delivers cancellation; not into this wait
            await asyncio.wait({task}, timeout=READ_LIMIT_SECONDS + 1)
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: the caller is gone, nobody else will look
        raise


async def latest_id(engine: AsyncEngine, conversation_id: str | None = None) -> int:
    """The highest message id (of `conversation_id`, or of all) — 0 when none: the cursor for
    `after: null`. One autocommit statement (bot.store.raw.read), no session."""
    from bot.store.models import Message

    def build() -> Any:
        query = select(func.max(Message.id))
        return query if conversation_id is None else query.where(Message.conversation_id == bindparam("cid"))

    name = "messages.latest_id" if conversation_id is None else "messages.latest_id_of"
    statement = raw.compiled(name, engine.dialect, build)

    async def read() -> int:
        rows = await raw.read(engine, statement, {} if conversation_id is None else {"cid": conversation_id})
        return int(rows[0][0] or 0) if rows else 0

    return await shielded(read)


async def pump(
    websocket: WebSocket,
    wakeup: Wakeup,
    fetch: Fetch,
    cursor: int,
    *,
    poll_seconds: float,
    allowed: Callable[[], Awaitable[bool]] | None = None,
    one_frame_per_row: bool = False,
) -> None:
    """Send the rows after `cursor`, then new ones as they come, until the client goes away or,
    with `allowed`, it says no before frames are sent (then close 1008: policy violation).

    `one_frame_per_row`: `fetch` returns one frame for each row it read (at most BATCH), so fewer
    than BATCH frames means nothing more was there, and the loop waits instead of reading again
    (half the reads of a widget's socket: one per message, not two). Otherwise (the staff feed
    folds rows into frames) a read that sent frames is always followed by another."""
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_cancel_when_closed, websocket, tasks.cancel_scope)
        with contextlib.suppress(*GONE):
            await _send_loop(websocket, wakeup, fetch, cursor, poll_seconds, allowed, one_frame_per_row)
        tasks.cancel_scope.cancel()  # the loop ended (policy close, client gone): stop reading too


async def _send_loop(
    websocket: WebSocket,
    wakeup: Wakeup,
    fetch: Fetch,
    cursor: int,
    poll_seconds: float,
    allowed: Callable[[], Awaitable[bool]] | None,
    one_frame_per_row: bool,
) -> None:
    while True:
        wakeup.clear()  # a wake-up during the read below makes the next pass read again
        frames = await _read(fetch, cursor)
        if frames and allowed is not None:
            verdict = await _check(allowed)
            if verdict is False:
                await websocket.close(code=1008, reason="the token is no longer valid")
                return
            if verdict is None:  # could not check: nothing is sent until the next poll can
                frames = []
        for frame in frames:
            await websocket.send_json(frame)
            cursor = max(cursor, int(frame["id"]))
        if frames and (len(frames) >= BATCH or not one_frame_per_row):
            continue  # there may be more than one read's worth: read again before waiting
        with anyio.move_on_after(poll_seconds):
            await wakeup.wait()


async def _read(fetch: Fetch, cursor: int) -> list[dict[str, Any]]:
    try:
        return await shielded(lambda: fetch(cursor))
    except (SQLAlchemyError, OSError, TimeoutError) as exc:  # the database is away: again at the next poll
        log.warning("live delivery could not read the transcript", extra={"kind": type(exc).__name__})
        return []


async def _check(allowed: Callable[[], Awaitable[bool]]) -> bool | None:
    try:
        return await shielded(allowed)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("live delivery could not check the token", extra={"kind": type(exc).__name__})
        return None


async def _cancel_when_closed(websocket: WebSocket, scope: anyio.CancelScope) -> None:
    """Reads (and ignores) what the client sends after its first frame; when it disconnects,
    cancels the loop (which may be waiting for a wake-up or sending)."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    except GONE:
        pass
    scope.cancel()
