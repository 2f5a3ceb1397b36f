"""The app's PostgreSQL pool (bot/store/db.py): the lock timeout is set once per connection, and a
connection that died while idle in the pool is replaced before a turn uses it (the idle ping); and
the live reads' own autocommit pool (bot/store/autocommit.py) does the same."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.store import autocommit, raw
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
    idle, so it can be switched to autocommit. A plain `;` left a transaction open and that failed."""
    import psycopg

    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)  # every checkout counts as idle
    engine = make_async_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            fairy = await conn.get_raw_connection()
            assert fairy.driver_connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
        async with engine.begin() as conn:  # and a transaction after it is a transaction again
            await conn.execute(text("SELECT 1"))
            fairy = await conn.get_raw_connection()
            assert fairy.driver_connection.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    finally:
        await engine.dispose()


# -- the live reads' own pool (bot/store/autocommit.py) ------------------------------------------------


async def _terminate_reads(engine: Any) -> int:
    """Ends the read pool's server connections (as a server restart would); how many."""
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"),
            {"name": autocommit.APPLICATION_NAME},
        )
        return int(result.scalar() or 0)


async def test_reads_use_their_own_autocommit_connections_and_survive_a_server_restart(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_async_engine(postgres_url)
    statement = raw.compiled("test.txid", engine.dialect, lambda: text("SELECT pg_current_xact_id_if_assigned()"))
    try:
        assert await raw.read(engine, statement, {}) == [(None,)]  # autocommit: no transaction around it
        assert await _terminate_reads(engine) >= 1
        monkeypatch.setattr(autocommit, "IDLE_PING_SECONDS", 0.0)  # every use counts as after an idle spell
        assert await raw.read(engine, statement, {}) == [(None,)]  # the ping found it dead: another one
    finally:
        await autocommit.close(engine)
        await engine.dispose()


async def test_a_read_on_a_connection_lost_in_use_is_a_disconnect_and_the_next_read_works(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_async_engine(postgres_url)
    statement = raw.compiled("test.select_one", engine.dialect, lambda: text("SELECT 1"))
    monkeypatch.setattr(autocommit, "IDLE_PING_SECONDS", 3600.0)  # no ping: the read itself meets the loss
    try:
        assert await raw.read(engine, statement, {}) == [(1,)]
        assert await _terminate_reads(engine) >= 1
        with pytest.raises(DBAPIError) as lost:
            await raw.read(engine, statement, {})
        assert lost.value.connection_invalidated  # the live loop's handling, as with SQLAlchemy's pool
        assert await raw.read(engine, statement, {}) == [(1,)]  # the pool dropped it and connects anew
    finally:
        await autocommit.close(engine)
        await engine.dispose()
