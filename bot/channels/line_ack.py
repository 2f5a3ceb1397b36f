"""The LINE webhook's acknowledgement path: verify the signature, store the events, answer 200.

Nothing else runs before the answer, and nothing on this path waits behind a turn:

- the signature is checked on the raw bytes (HMAC-SHA256, constant-time compare) before any JSON
  is parsed, so an unsigned body costs one HMAC and changes nothing;
- the body is parsed with orjson and held to the limits of bot/engine/jsonbody.py (depth, NUL,
  lone surrogates; orjson itself refuses NaN/Infinity, and reads an integer beyond 64 bits as a
  float instead of refusing it: harmless in a stored event);
- the events are stored with ONE statement (`INSERT … ON CONFLICT DO NOTHING`, a redelivery that
  arrives together with its first copy is a duplicate, not a conflict) on connections of the ack
  path's own, with group commit (`AckStore`: the webhooks that arrive during one insert go
  together in the next): on PostgreSQL two psycopg connections in autocommit (one round trip, no
  ORM, no pool pre-ping), so acknowledgements never queue behind turns for a pooled connection;
  on SQLite one writer that enters SQLite's single writer ahead of waiting turns
  (`Services.ack_gate()`), so it never waits for the file lock behind a queue of turns.

The SDK's event models are built later, by the worker that processes the event; this module
and the acknowledging process do not import the SDK.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
from collections.abc import Callable, Coroutine, Generator
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.line_store import PendingEvent
from bot.engine.jsonbody import check_value
from bot.store.db import make_async_engine

log = logging.getLogger("bot.channels.line")

T = TypeVar("T")
Row = tuple[str, dict[str, Any]]  # (webhookEventId, the event as received)


def signature_ok(secret: bytes, body: bytes, signature: str) -> bool:
    """LINE's X-Line-Signature: base64 of HMAC-SHA256(channel secret, raw body)."""
    try:
        given = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(hmac.new(secret, body, hashlib.sha256).digest(), given)


def well_formed(payload: Any) -> list[dict[str, Any]]:
    """The events of a webhook body of the documented form (bot/http/schemas.py LineWebhookRequest):
    `events` a list of objects each with a string `type`, `destination` a string if present."""
    raws = payload["events"]
    if not isinstance(raws, list) or not isinstance(payload.get("destination", ""), str | None):
        raise TypeError("not a LINE webhook body")
    if not all(isinstance(raw, dict) and isinstance(raw.get("type"), str) for raw in raws):
        raise TypeError("an event without a type")
    return raws


def read_events(body: bytes) -> list[dict[str, Any]]:
    """The events of a signed body; ValueError / TypeError / KeyError when it is not a webhook."""
    payload = orjson.loads(body)  # JSONDecodeError is a ValueError (also invalid UTF-8)
    check_value(payload)
    return well_formed(payload)


class AckStore:
    """Group commit: an acknowledgement queues its rows and waits; a flusher (at most `size` at
    once, each on a connection of its own) writes everything queued in ONE statement. However long
    the event loop's turns are, one round trip stores every webhook that arrived meanwhile, so the
    acknowledgements' throughput never depends on how many connections there are."""

    size = 1

    def __init__(self) -> None:
        self._waiting: list[tuple[list[Row], asyncio.Future[set[str]]]] = []
        self._idle: list[Any] = []
        self._busy = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def store(self, rows: list[Row]) -> set[str]:
        """Store the rows; the keys of those stored now (not the ones already pending: a
        redelivery of an event not yet processed is already someone's to process)."""
        waiter: asyncio.Future[set[str]] = asyncio.get_running_loop().create_future()
        self._waiting.append((rows, waiter))
        self._kick()
        return await waiter

    def _kick(self) -> None:
        while self._waiting and self._busy < self.size:
            self._busy += 1
            task = asyncio.create_task(self._flush(self._idle.pop() if self._idle else None))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush(self, conn: Any) -> None:
        batch, self._waiting = self._waiting, []
        try:
            unique = {key: raw for rows, _ in batch for key, raw in rows}  # a redelivery in the same batch
            conn, stored = await self._insert(conn, list(unique.items()))
        except Exception as exc:
            conn = None
            for _, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(exc)
        else:
            for rows, waiter in batch:
                if not waiter.done():
                    waiter.set_result({key for key, _ in rows if key in stored})
        finally:
            self._busy -= 1
            if conn is not None:
                self._idle.append(conn)
            self._kick()

    async def _insert(self, conn: Any, rows: list[Row]) -> tuple[Any, set[str]]:
        """Store the rows; the connection to keep (None: none kept) and the keys stored now."""
        raise NotImplementedError

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)


class PgAckStore(AckStore):
    """A few autocommit psycopg connections of the ack path's own (opened when first needed). The
    rows are stored claimed by this process's processor (`owner`, bot/channels/line_claims.py): the
    claim costs no statement of its own, and an event already pending is not handed over again."""

    size = 2

    def __init__(self, url: str, *, synchronous_commit: bool = True, owner: str = "", lease: float = 30.0) -> None:
        super().__init__()
        self.synchronous_commit = synchronous_commit
        self.owner, self.lease = owner or None, lease
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def _insert(self, conn: Any, rows: list[Row]) -> tuple[Any, set[str]]:
        import psycopg

        values = ", ".join(["(%s, %s::json, now(), %s, now() + %s * interval '1 second')"] * len(rows))
        sql = (
            "INSERT INTO line_pending_events (webhook_event_id, event, received_at, claimed_by, lease_until) "  # noqa: S608
            f"VALUES {values} ON CONFLICT DO NOTHING RETURNING webhook_event_id"
        )
        params: list[Any] = []
        lease = self.lease if self.owner else None
        for key, raw in rows:
            params += (key, orjson.dumps(raw).decode(), self.owner, lease)
        for attempt in (1, 2):  # a connection the server closed (restart, idle timeout): once more
            if conn is None:
                conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True, prepare_threshold=2)
                if not self.synchronous_commit:  # LineTuning.ack_synchronous_commit: see there
                    await conn.execute("SET synchronous_commit = off")
            try:
                stored = await conn.execute(sql, params)
                return conn, {row[0] for row in await stored.fetchall()}
            except psycopg.OperationalError:
                with contextlib.suppress(Exception):
                    await conn.close()
                conn = None
                if attempt == 2:
                    raise
        return None, set()

    async def close(self) -> None:
        await super().close()
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.close()


class SqliteAckStore(AckStore):
    """One writer; it enters SQLite's single writer ahead of waiting turns."""

    def __init__(self, url: str, gate: Callable[[], contextlib.AbstractAsyncContextManager[Any]]) -> None:
        super().__init__()
        self.engine: AsyncEngine = make_async_engine(url)
        self.gate = gate

    async def _insert(self, conn: Any, rows: list[Row]) -> tuple[Any, set[str]]:
        """All keys count as stored now: one process, whose queue drops a second copy itself."""
        now = datetime.now(UTC)
        statement = sqlite_insert(PendingEvent).on_conflict_do_nothing()
        values = [{"webhook_event_id": key, "event": raw, "received_at": now} for key, raw in rows]
        async with self.gate(), self.engine.begin() as connection:
            await connection.execute(statement, values)
        return None, {key for key, _ in rows}

    async def close(self) -> None:
        await super().close()
        await self.engine.dispose()


def ack_store(
    url: str,
    gate: Callable[[], contextlib.AbstractAsyncContextManager[Any]],
    *,
    synchronous_commit: bool = True,
    owner: str = "",
    lease: float = 30.0,
) -> AckStore:
    if make_url(url).get_backend_name() == "postgresql":
        return PgAckStore(url, synchronous_commit=synchronous_commit, owner=owner, lease=lease)
    return SqliteAckStore(url, gate)


class AckPriority:
    """Acknowledgements first on the event loop. asyncio runs ready callbacks in arrival order, so
    an acknowledgement (a few hops: read, insert, answer) would wait at every hop behind a step of
    each turn in progress. `yielding(coro)` drives the processing of an event (its turn, its
    sends) and, before each resumption, parks it while an acknowledgement is in flight, for at
    most `max_park` seconds a time so that processing is never starved by a steady stream."""

    def __init__(self, max_park: float = 0.02) -> None:
        self.in_flight = 0
        self.max_park = max_park
        self._parked: set[asyncio.Future[None]] = set()

    def begin(self) -> None:
        self.in_flight += 1

    def end(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            parked, self._parked = self._parked, set()
            for waiter in parked:
                _settle(waiter)

    def park(self) -> asyncio.Future[None]:
        """A future done when no acknowledgement is in flight, or after `max_park` at the latest."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._parked.add(waiter)
        timer = loop.call_later(self.max_park, _settle, waiter)

        def done(w: asyncio.Future[None]) -> None:
            timer.cancel()
            self._parked.discard(w)

        waiter.add_done_callback(done)
        return waiter


class _Yielding:
    def __init__(self, coro: Coroutine[Any, Any, T], priority: AckPriority) -> None:
        self.coro, self.priority = coro, priority

    def __await__(self) -> Generator[Any, Any, T]:
        coro, priority = self.coro, self.priority
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = coro.send(value) if error is None else coro.throw(error)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                value = yield step  # the task waits for what the coroutine awaits, then resumes us
                if priority.in_flight:  # an acknowledgement is on its way: let it pass first
                    yield from priority.park().__await__()
            except BaseException as exc:  # cancellation and the like: into the coroutine
                error = exc


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def yielding(coro: Coroutine[Any, Any, T], priority: AckPriority) -> T:
    """Run `coro` (processing work) giving way to acknowledgements in flight at each resumption."""
    return await _Yielding(coro, priority)
