"""The app's PostgreSQL pool (bot/store/db.py): the lock timeout is set once per connection, and a
connection that died while idle in the pool is replaced before a turn uses it (the idle ping)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.store import db as db_module
from bot.store.db import make_async_engine


async def test_lock_timeout_is_a_connection_setting(postgres_url: str) -> None:
    engine = make_async_engine(postgres_url, lock_timeout_seconds=2.5)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SHOW lock_timeout"))).scalar() == "2500ms"
            raw = await conn.get_raw_connection()
            assert raw.info[db_module.LOCK_TIMEOUT_INFO] == 2500
    finally:
        await engine.dispose()


async def test_a_connection_killed_while_idle_is_replaced(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_async_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
        other = make_async_engine(postgres_url)
        async with other.begin() as killer:  # e.g. a server restart, or an idle-connection reaper
            await killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await other.dispose()
        monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)  # every checkout counts as idle
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
            assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar() != pid
    finally:
        await engine.dispose()


async def test_a_busy_connection_is_not_pinged(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reused within the idle time, a connection goes straight to its statement (the ping is the
    statement a busy worker saves per turn): here the dead connection is found only by using it,
    and the pool is then invalidated, so the next checkout reconnects."""
    from sqlalchemy.exc import DBAPIError

    engine = make_async_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
        other = make_async_engine(postgres_url)
        async with other.begin() as killer:
            await killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await other.dispose()
        monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 3600.0)  # every checkout counts as busy
        with pytest.raises(DBAPIError) as failed:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        assert failed.value.connection_invalidated
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_an_idle_ping_hands_the_connection_out_of_any_transaction(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The idle ping runs in autocommit (SQLAlchemy's own): a connection it pinged is handed out
    idle, so a one-statement autocommit read (bot.store.raw.read, the widget's frames) can use it.
    A plain `;` left a transaction open and that read failed."""
    import psycopg

    from bot.store import raw

    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)  # every checkout counts as idle
    engine = make_async_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            fairy = await conn.get_raw_connection()
            assert fairy.driver_connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        statement = raw.compiled("test.select_one", engine.dialect, lambda: text("SELECT 1"))
        assert await raw.read(engine, statement, {}) == [(1,)]
        assert await raw.read(engine, statement, {}) == [(1,)]  # the pool took it back in autocommit: reset
        async with engine.begin() as conn:  # and a transaction after it is a transaction again
            await conn.execute(text("SELECT 1"))
            fairy = await conn.get_raw_connection()
            assert fairy.driver_connection.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    finally:
        await engine.dispose()
