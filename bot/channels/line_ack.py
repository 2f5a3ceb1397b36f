"""The LINE webhook's acknowledgement path: verify the signature, store the events, answer 200.

Nothing else runs before the answer, and nothing on this path waits behind a turn:

- the signature is checked on the raw bytes (HMAC-SHA256, constant-time compare) before any JSON
  is parsed, so an unsigned body costs one HMAC and changes nothing;
- the body is parsed with orjson and held to the limits of bot/engine/jsonbody.py (depth, NUL,
  lone surrogates; orjson itself refuses NaN/Infinity, and reads an integer beyond 64 bits as a
  float instead of refusing it: harmless in a stored event);
- the events are stored with ONE statement (`INSERT … ON CONFLICT DO NOTHING`, a redelivery that
  arrives together with its first copy is a duplicate, not a conflict) on connections of the ack
  path's own: on PostgreSQL a few psycopg connections in autocommit (one round trip, no ORM, no
  pool pre-ping), so acknowledgements never queue behind turns for a pooled connection; on SQLite
  a connection of its own that enters SQLite's single writer ahead of waiting turns
  (`Services.turn_gate().first()`), so it never waits for the file lock.

The SDK's event models are built later, by the worker that processes the event.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.line_events import well_formed
from bot.channels.line_outbox import PendingEvent
from bot.engine.jsonbody import check_value
from bot.store.db import make_async_engine

log = logging.getLogger("bot.channels.line")

Row = tuple[str, dict[str, Any]]  # (webhookEventId, the event as received)


def signature_ok(secret: bytes, body: bytes, signature: str) -> bool:
    """LINE's X-Line-Signature: base64 of HMAC-SHA256(channel secret, raw body)."""
    try:
        given = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(hmac.new(secret, body, hashlib.sha256).digest(), given)


def read_events(body: bytes) -> list[dict[str, Any]]:
    """The events of a signed body; ValueError / TypeError / KeyError when it is not a webhook."""
    payload = orjson.loads(body)  # JSONDecodeError is a ValueError (also invalid UTF-8)
    check_value(payload)
    return well_formed(payload)


class PgAckStore:
    """A few autocommit psycopg connections of the ack path's own (opened when first needed)."""

    def __init__(self, url: str, size: int = 4) -> None:
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.size = size
        self._idle: list[Any] = []
        self._open = 0
        self._freed = asyncio.Condition()

    async def _take(self) -> Any:
        import psycopg

        async with self._freed:
            while not self._idle and self._open >= self.size:
                await self._freed.wait()
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            return await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True, prepare_threshold=2)
        except BaseException:
            await self._give(None)
            raise

    async def _give(self, conn: Any) -> None:
        async with self._freed:
            if conn is None:
                self._open -= 1
            else:
                self._idle.append(conn)
            self._freed.notify()

    async def store(self, rows: list[Row]) -> None:
        values = ", ".join(["(%s, %s::json, now())"] * len(rows))
        sql = (
            f"INSERT INTO line_pending_events (webhook_event_id, event, received_at) VALUES {values} "  # noqa: S608
            "ON CONFLICT DO NOTHING"
        )
        params: list[Any] = []
        for key, raw in rows:
            params += (key, orjson.dumps(raw).decode())
        for attempt in (1, 2):  # a connection the server closed (restart, idle timeout): once more
            conn = await self._take()
            try:
                await conn.execute(sql, params)
            except Exception as exc:
                import psycopg

                await conn.close()
                await self._give(None)
                if attempt == 2 or not isinstance(exc, psycopg.OperationalError):
                    raise
                continue
            await self._give(conn)
            return

    async def close(self) -> None:
        async with self._freed:
            idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.close()


class SqliteAckStore:
    """One connection of its own; it writes ahead of waiting turns (SQLite has a single writer)."""

    def __init__(self, url: str, gate: Callable[[], contextlib.AbstractAsyncContextManager[Any]]) -> None:
        self.engine: AsyncEngine = make_async_engine(url)
        self.gate = gate

    async def store(self, rows: list[Row]) -> None:
        now = datetime.now(UTC)
        statement = sqlite_insert(PendingEvent).on_conflict_do_nothing()
        values = [{"webhook_event_id": key, "event": raw, "received_at": now} for key, raw in rows]
        async with self.gate(), self.engine.begin() as conn:
            await conn.execute(statement, values)

    async def close(self) -> None:
        await self.engine.dispose()


def ack_store(url: str, gate: Callable[[], contextlib.AbstractAsyncContextManager[Any]]) -> PgAckStore | SqliteAckStore:
    if make_url(url).get_backend_name() == "postgresql":
        return PgAckStore(url)
    return SqliteAckStore(url, gate)
