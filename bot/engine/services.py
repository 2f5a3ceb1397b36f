"""The shared dependencies of one running bot, built by the app factory (or a test, or the shell).

Nothing here is a module-level singleton: `build_services` opens everything from `Settings`, and
`Services.close` closes it, so each test or process gets its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.engine.events import Reply
from bot.engine.hub import Hub, RedisHub
from bot.engine.locks import InMemoryLocker, Locker, WriterGate
from bot.engine.state import SqlStateStore, StateStore
from bot.secret_key import resolve_secret_key
from bot.settings import Settings
from bot.store import autocommit
from bot.store.db import expected_heads, make_async_engine, make_sessionmaker
from knowledge.base import KnowledgeBase

if TYPE_CHECKING:
    from nlu.interpreter import Interpreter

log = logging.getLogger(__name__)


class ResidentResolver(Protocol):
    """(channel, sender id) -> the linked resident's id; in the turn's session when given, or from
    `link`, the (resident id, linked by) of the sender's channel identity already read (a turn
    reads it with its conversation row: bot.engine.state.claim)."""

    async def __call__(
        self,
        channel: str,
        sender_id: str,
        *,
        session: AsyncSession | None = None,
        link: tuple[str | None, str | None] | None = None,
    ) -> str | None: ...


Sender = Callable[[str, list[Reply]], Awaitable[None]]  # (sender_id, replies): wake delivery after a commit
# (session, sender_id, replies): a channel's outgoing rows, added to the caller's transaction
OutboxWriter = Callable[[AsyncSession, str, list[Reply]], Awaitable[None]]


async def _anonymous(
    _channel: str,
    _sender_id: str,
    *,
    session: AsyncSession | None = None,
    link: tuple[str | None, str | None] | None = None,
) -> str | None:
    return None


class SchemaNotReady(RuntimeError):
    """The database is reachable but its tables are missing or out of date."""


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker  # type: ignore[type-arg]
    state: StateStore
    locker: Locker
    interpreter: Interpreter
    hub: Hub
    redis: Redis | None = None
    secret_key: bytes = field(default=b"", repr=False)  # keys link-code and address HMACs (bot/secret_key.py)
    knowledge: KnowledgeBase = field(default_factory=KnowledgeBase)  # catalog, faq, waste …: knowledge/base.py
    resolve_resident: ResidentResolver = _anonymous  # type: ignore[assignment]  # a function fits the protocol
    senders: dict[str, Sender] = field(default_factory=dict)  # channel -> wake its delivery after a commit
    outbox_writers: dict[str, OutboxWriter] = field(default_factory=dict)  # channel -> rows in a transaction
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(ZoneInfo("Asia/Tokyo")))
    # SQLite has one writer at a time: turns queue here, in order, instead of polling its file lock
    _sqlite_turns: WriterGate | None = field(default=None, repr=False)
    # PostgreSQL: as many turns in a transaction at once as the pool keeps connections (more would
    # open and close overflow connections at every burst); the others wait here, in order
    _pool_turns: asyncio.Semaphore | None = field(default=None, repr=False)

    def turn_gate(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """Held around a turn's transaction: SQLite's single writer as an asyncio queue (one
        process in the embedded mode); on PostgreSQL, where row locks order the turns, a
        semaphore the size of the connection pool."""
        if self._sqlite_turns is not None:
            return self._sqlite_turns
        return self._pool_turns if self._pool_turns is not None else contextlib.nullcontext()

    def ack_gate(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """The same gate, entered ahead of waiting turns (a LINE webhook's one insert)."""
        return self._sqlite_turns.first() if self._sqlite_turns is not None else contextlib.nullcontext()

    def now(self) -> datetime:
        return self.clock().astimezone(ZoneInfo(self.settings.timezone))

    def today(self) -> date:
        return self.now().date()

    async def deliver(self, channel: str, sender_id: str, replies: list[Reply]) -> None:
        """After a commit that queued messages outside a resident's request (staff replies): wake
        the conversation's channel so that it delivers them now (the rows are already stored)."""
        sender = self.senders.get(channel)
        if sender is None:
            log.warning("no live delivery for this channel", extra={"channel": channel})
            return
        await sender(sender_id, replies)

    async def check_database(self) -> None:
        """The database answers and its schema is at the migrations' heads."""
        async with self.engine.connect() as conn:
            try:
                applied = set((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
            except DBAPIError:
                raise SchemaNotReady("no migrations applied (run: python -m bot.migrate)") from None
        if applied != expected_heads():
            raise SchemaNotReady("the schema is not at the latest migration (run: python -m bot.migrate)")

    async def close(self) -> None:
        await self.hub.close()
        if self.redis is not None:
            await self.redis.aclose()
        await autocommit.close(self.engine)  # the live reads' pool (PostgreSQL), when one was made
        await self.engine.dispose()


def build_services(settings: Settings, interpreter: Interpreter) -> Services:
    secret_key = resolve_secret_key(settings)  # first: a production start without SECRET_KEY stops here
    engine = make_async_engine(
        settings.resolved_database_url,
        lock_timeout_seconds=settings.lock_timeout_seconds,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    sessionmaker = make_sessionmaker(engine)
    redis: Redis | None = None
    hub: Hub
    if settings.redis_url:  # Redis only wakes other workers' live connections; it holds no state
        redis = Redis.from_url(
            settings.redis_url, socket_timeout=settings.redis_socket_timeout, socket_connect_timeout=5
        )
        hub = RedisHub(redis, prefix=settings.state_key_prefix)
    else:
        hub = Hub()
    return Services(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        state=SqlStateStore(sessionmaker, ttl_seconds=settings.state_ttl_seconds),
        locker=InMemoryLocker(settings.lock_timeout_seconds),
        interpreter=interpreter,
        hub=hub,
        redis=redis,
        secret_key=secret_key,
        _sqlite_turns=WriterGate() if engine.dialect.name == "sqlite" else None,
        _pool_turns=asyncio.Semaphore(settings.db_pool_size) if engine.dialect.name != "sqlite" else None,
    )
