"""Claims on stored LINE events: which processor processes a pending event.

Several processors can see the same `line_pending_events` row: with `WORKERS=N` each worker has
its own (a thread or a child process), and each one, at its start, resumes what is pending. A
processor takes an event only under its claim on the row (`claimed_by`, `lease_until`): the
acknowledgement stores a row already claimed for its own process's processor (one INSERT, no
statement of its own: bot/channels/line_ack.py), and the resume and the sweep claim the others
with one UPDATE, where unclaimed, already this owner's, or with an ended lease, picked with
`FOR UPDATE SKIP LOCKED` so that two processors resuming at once split them instead of waiting. A claim is renewed while the processor lives and released
when it stops; a processor that died loses its claims when their lease ends, and then anyone's
sweep takes the rows. The successor of a processing child keeps its parent's owner name, so it
takes over its predecessor's claims at once (the parent starts it only after the other ended). An
owner whose process died (a crash or `kill -9` of a worker) is seen at once, without waiting for
the lease: while it lives, the owning process holds a PostgreSQL advisory lock named after it on a
connection of its own (`Liveness`), which PostgreSQL releases when that process's connection goes;
a lock another session can take means its owner is gone, and its rows are anyone's.

Claims decide who processes; the dispatcher's external_id check (in the turn's transaction) still
makes a second processing of one event a no-op, whatever happens to a lease. On SQLite (the
embedded mode: one process) there are no claims: the resume queues every pending row, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.line_store import PendingEvent, aware
from bot.store.models import utcnow

P = PendingEvent
log = logging.getLogger("bot.channels.line")


def owner_name() -> str:
    """This processor's name in `claimed_by`: host, process, and a token of this start."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def liveness_key(owner: str) -> int:
    """The advisory lock (a signed 64-bit id) an owner holds while it lives."""
    return int.from_bytes(hashlib.sha256(f"madoguchi:line-owner:{owner}".encode()).digest()[:8], "big", signed=True)


class Liveness:
    """While this process lives, it holds its owner's advisory lock on a connection of its own
    (PostgreSQL; nothing on SQLite).

    The connection is checked every CHECK_SECONDS; when it is gone (PostgreSQL restarted, the
    backend terminated, the network cut) the lock went with it, and other processors would take
    this owner for dead and sweep its pending rows while it still works on them. So the watcher
    reconnects (backoff RECONNECT_FIRST_SECONDS doubling to RECONNECT_MAX_SECONDS) and takes the
    lock again. Meanwhile a second processing of one event is still a no-op: the dispatcher's
    external_id check, in the turn's transaction, decides, whatever the claims say."""

    CHECK_SECONDS = 2.0
    RECONNECT_FIRST_SECONDS = 0.1
    RECONNECT_MAX_SECONDS = 5.0
    TIMEOUT_SECONDS = 5.0  # a connect or a check that takes longer counts as lost

    def __init__(self, url: str, owner: str) -> None:
        self.owner = owner
        parsed = make_url(url)
        postgres = parsed.get_backend_name() == "postgresql"
        self.conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False) if postgres else ""
        self._conn: Any = None
        self._watcher: asyncio.Task[None] | None = None
        self.backend_pid: int | None = None  # the connection holding the lock (tests, diagnostics)

    async def hold(self) -> None:
        if not self.conninfo:
            return
        await self._take()
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _take(self) -> None:
        import psycopg

        conn = await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, connect_timeout=int(self.TIMEOUT_SECONDS)
        )
        try:
            await conn.execute("SELECT pg_advisory_lock(%s)", (liveness_key(self.owner),))
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        self._conn, self.backend_pid = conn, conn.info.backend_pid

    async def _alive(self) -> bool:
        try:
            await asyncio.wait_for(self._conn.execute("SELECT 1"), self.TIMEOUT_SECONDS)
            return True
        except Exception:  # psycopg's OperationalError, OSError, TimeoutError
            return False

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.CHECK_SECONDS)
            if await self._alive():
                continue
            log.warning("LINE liveness lock lost with its connection; taking it again")
            with contextlib.suppress(Exception):
                await self._conn.close()
            delay = self.RECONNECT_FIRST_SECONDS
            while True:
                try:
                    await asyncio.wait_for(self._take(), self.TIMEOUT_SECONDS * 2)
                    break
                except Exception:  # the server still away: try again later
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.RECONNECT_MAX_SECONDS)
            log.info("LINE liveness lock held again")

    async def close(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None


class Claims:
    def __init__(
        self,
        engine: AsyncEngine,
        owner: str,
        *,
        lease: float,
        orphan_after: float,
        gate: Callable[[], Any],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine, self.owner, self.gate, self.clock = engine, owner, gate, clock
        self.lease = timedelta(seconds=lease)
        self.orphan_after = timedelta(seconds=orphan_after)
        self.enabled = engine.dialect.name == "postgresql"

    def _takeable(self, now: datetime) -> Any:
        return or_(P.claimed_by.is_(None), P.claimed_by == self.owner, P.lease_until < now)

    async def claim(self, keys: Iterable[str]) -> set[str]:
        """Claim these rows where nobody else holds them; the keys claimed (a processed event's
        row is gone, and a row another processor holds is not claimed)."""
        wanted = sorted(set(keys))
        if not wanted or not self.enabled:
            return set(wanted)
        now = self.clock()
        statement = (
            update(P)
            .where(P.webhook_event_id.in_(wanted), self._takeable(now))
            .values(claimed_by=self.owner, lease_until=now + self.lease)
            .returning(P.webhook_event_id)
        )
        async with self.gate(), self.engine.begin() as conn:
            return set((await conn.execute(statement)).scalars())

    async def claim_orphans(self, *, at_start: bool, limit: int = 5000) -> list[tuple[str, Any]]:
        """Claim rows that nobody processes: at a start every unclaimed row and this owner's (a
        predecessor's); later, rows left unclaimed for `orphan_after` (a live processor claims
        its own within milliseconds) and any whose lease ended. (key, event), oldest first. An
        own row that failed is not taken again until the next start (as before claims)."""
        if not self.enabled:
            return await self._all_pending() if at_start else []
        now = self.clock()
        if at_start:
            free = or_(P.claimed_by.is_(None), P.claimed_by == self.owner)
        else:
            free = and_(P.claimed_by.is_(None), P.received_at < now - self.orphan_after)
        dead = await self._dead_owners()
        if dead:  # their process is gone: no need to wait for their leases
            free = or_(free, P.claimed_by.in_(dead))
        pick = select(P.webhook_event_id).where(or_(free, P.lease_until < now)).order_by(P.received_at).limit(limit)
        pick = pick.with_for_update(skip_locked=True)
        statement = (
            update(P)
            .where(P.webhook_event_id.in_(pick.scalar_subquery()))
            .values(claimed_by=self.owner, lease_until=now + self.lease)
            .returning(P.webhook_event_id, P.event, P.received_at)
        )
        async with self.gate(), self.engine.begin() as conn:
            rows = list((await conn.execute(statement)).all())
        rows.sort(key=lambda row: (aware(row.received_at), row.webhook_event_id))
        return [(row.webhook_event_id, row.event) for row in rows]

    async def _dead_owners(self) -> list[str]:
        """Other owners of pending rows whose liveness lock is free: their process is gone."""
        dead = []
        async with self.engine.connect() as conn:
            query = select(P.claimed_by).where(P.claimed_by.is_not(None), P.claimed_by != self.owner).distinct()
            owners = [owner for owner in (await conn.execute(query)).scalars() if owner]
            for owner in owners[:100]:
                key = {"k": liveness_key(owner)}
                if (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), key)).scalar():
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), key)
                    dead.append(owner)
            await conn.rollback()
        return dead

    async def _all_pending(self) -> list[tuple[str, Any]]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(P.webhook_event_id, P.event).order_by(P.received_at))).all()
        return [(row.webhook_event_id, row.event) for row in rows]

    async def renew(self) -> None:
        if not self.enabled:
            return
        now = self.clock()
        statement = update(P).where(P.claimed_by == self.owner).values(lease_until=now + self.lease)
        async with self.gate(), self.engine.begin() as conn:
            await conn.execute(statement)

    async def release(self) -> None:
        """At a stop: what is left is anyone's again (the next start resumes it at once)."""
        if not self.enabled:
            return
        statement = update(P).where(P.claimed_by == self.owner).values(claimed_by=None, lease_until=None)
        async with self.gate(), self.engine.begin() as conn:
            await conn.execute(statement)
