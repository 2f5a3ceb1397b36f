"""Live delivery by cursor: the WebSocket loops of the web widget and the staff console.

A loop holds a cursor (the id of the last transcript row it sent) and sends the rows after it:
at once (catch-up), then whenever the hub wakes it ("new rows"), and on a safety poll every
SAFETY_POLL_SECONDS in case a wake-up was lost (a Redis outage, another worker). The rows come
from the database, so every worker sends the same frames and a client that reconnects with its
last id misses nothing and gets nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from bot.hub import Wakeup

log = logging.getLogger(__name__)

SAFETY_POLL_SECONDS = 3.0
FIRST_FRAME_SECONDS = 5.0
BATCH = 100

Fetch = Callable[[int], Awaitable[list[dict[str, Any]]]]  # rows after a cursor, as frames with "id"


class FrameError(ValueError):
    """The client's first frame is missing or not what the protocol says; the text is the close reason."""


async def first_frame(websocket: WebSocket, seconds: float | None = None) -> dict[str, Any] | None:
    """The client's first frame as a JSON object; None if the client went away."""
    try:
        message = await asyncio.wait_for(websocket.receive(), seconds or FIRST_FRAME_SECONDS)
    except TimeoutError:
        raise FrameError("no first frame in time") from None
    except (WebSocketDisconnect, RuntimeError):
        return None
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


async def latest_id(sessionmaker: Any, *where: Any) -> int:
    """The highest message id matching `where` (0 when none): the cursor for `after: null`."""
    from bot.models import Message

    async with sessionmaker() as s:
        return int(await s.scalar(select(func.max(Message.id)).where(*where)) or 0)


async def pump(
    websocket: WebSocket,
    wakeup: Wakeup,
    fetch: Fetch,
    cursor: int,
    allowed: Callable[[], Awaitable[bool]] | None = None,
) -> None:
    """Send the rows after `cursor`, then new ones as they come, until the client goes away or,
    with `allowed`, it says no before frames are sent (then close 1008: policy violation)."""
    closed = asyncio.ensure_future(_until_closed(websocket))
    try:
        while not closed.done():
            wakeup.clear()  # a wake-up during the read below makes the next pass read again
            try:
                frames = await fetch(cursor)
            except SQLAlchemyError as exc:  # the database is away: try again at the next poll
                log.warning("live delivery could not read the transcript", extra={"kind": type(exc).__name__})
                frames = []
            if frames and allowed is not None and not await allowed():
                await websocket.close(code=1008, reason="the token is no longer valid")
                return
            for frame in frames:
                await websocket.send_json(frame)
                cursor = max(cursor, int(frame["id"]))
            if frames:  # there may be more than one read's worth: read again before waiting
                continue
            await _wait(wakeup, closed)
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        closed.cancel()


async def _wait(wakeup: Wakeup, closed: asyncio.Future[None]) -> None:
    woken = asyncio.ensure_future(wakeup.wait())
    try:
        await asyncio.wait({woken, closed}, timeout=SAFETY_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
    finally:
        woken.cancel()


async def _until_closed(websocket: WebSocket) -> None:
    """Reads (and ignores) what the client sends after its first frame, until it disconnects."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
    except (WebSocketDisconnect, RuntimeError):
        return
