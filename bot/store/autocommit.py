"""Reads outside any transaction on PostgreSQL: a small pool of autocommit psycopg connections of
their own (psycopg_pool, maintained with psycopg), for `bot.store.raw.read`.

A live socket reads "rows after my cursor" at every message (the widget's, the staff console's).
Through SQLAlchemy's pool that read cost ~165 µs of CPU, of which ~40 µs was the statement: the
rest was the checkout and check-in, and switching the pooled connection to autocommit and back.
These connections are autocommit for life and the pool hands them out for ~15 µs (issue 12,
bench/PROFILE.md "Stop 23"). The pool is made at the first read and opens its connections then:
a process that never reads live (the LINE processing child) holds none.

As the app's engine does (bot/store/db.py), a connection idle for IDLE_PING_SECONDS is pinged before
use, so a restarted server costs no failed read; one that breaks in use is discarded by the pool,
and its error reaches the caller as SQLAlchemy's `DBAPIError` (connection_invalidated), as before.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import IDLE_PING_SECONDS

MAX_CONNECTIONS = 4  # per process: reads are one statement each and never wait on a lock
GET_TIMEOUT_SECONDS = 5.0  # no connection within this (the server is away): the read fails

APPLICATION_NAME = "madoguchi-reads"  # in pg_stat_activity, for operators

_POOLS: weakref.WeakKeyDictionary[AsyncEngine, AsyncConnectionPool] = weakref.WeakKeyDictionary()
_returned: weakref.WeakKeyDictionary[AsyncConnection, float] = weakref.WeakKeyDictionary()


def conninfo(engine: AsyncEngine) -> str:
    """libpq's URI for the engine's database (its password included: it never leaves the process)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _check(conn: AsyncConnection) -> None:
    """Before use: a ping when the connection sat idle (raises when it is broken: the pool drops it)."""
    if time.monotonic() - _returned.get(conn, 0.0) > IDLE_PING_SECONDS:
        await conn.execute("SELECT 1")


async def _reset(conn: AsyncConnection) -> None:
    _returned[conn] = time.monotonic()


async def pool(engine: AsyncEngine) -> AsyncConnectionPool:
    """The engine's read pool, made and opened at the first call."""
    found = _POOLS.get(engine)
    if found is None:
        adapters = getattr(engine.dialect, "_psycopg_adapters_map", None)  # the engine's JSON loaders
        kwargs: dict[str, Any] = {"autocommit": True, "application_name": APPLICATION_NAME}
        if adapters is not None:
            kwargs["context"] = adapters
        found = _POOLS[engine] = AsyncConnectionPool(
            conninfo(engine),
            min_size=1,
            max_size=MAX_CONNECTIONS,
            kwargs=kwargs,
            check=_check,
            reset=_reset,
            timeout=GET_TIMEOUT_SECONDS,
            name=APPLICATION_NAME,
            open=False,
        )
    if found.closed:
        await found.open(wait=False)  # safe to call again (psycopg_pool): two first readers are fine
    return found


async def close(engine: AsyncEngine) -> None:
    """Closes the engine's read pool, if a read made one (at shutdown, with the engine)."""
    found = _POOLS.pop(engine, None)
    if found is not None:
        await found.close()
