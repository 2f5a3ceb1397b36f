"""Core statements run on the driver connection: the turn's hot path without SQLAlchemy's per-call
machinery (issue 12).

A statement is still written once, as a SQLAlchemy Core statement over the models (one source for
table and column names), and compiled once per engine dialect. What SQLAlchemy would do on every
execution — cache-key generation, execution context, greenlet hand-off, result objects — is
replaced by the driver's own call: psycopg's `AsyncCursor.execute` (which prepares a statement
run often) or aiosqlite's. Values go through the same type processors SQLAlchemy applies (JSON via
the engine's serializer, SQLite's datetime strings), so a row written here reads back through the
ORM exactly as one the ORM wrote.

The statement runs on the connection of the caller's session, inside its transaction: the session
commits or rolls it back with everything else. Pending ORM objects are flushed first, as
SQLAlchemy's autoflush would have done.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from bot.store import autocommit

Processor = Callable[[Any], Any]


class Compiled:
    """One statement compiled for one dialect: its SQL, how to pass values, how to read rows."""

    __slots__ = ("sql", "positional", "_binds", "_defaults", "_results")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        self.sql: str = compiled.string
        self.positional: tuple[str, ...] | None = tuple(compiled.positiontup) if compiled.positiontup else None
        # the statement's own values (a literal `direction == "out"`, a LIMIT), under the caller's
        self._defaults: dict[str, Any] = {k: v for k, v in compiled.params.items() if v is not None}
        self._binds: dict[str, Processor] = {}
        for name, bind in compiled.binds.items():
            key = getattr(bind, "key", name)
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._binds[key] = processor
        self._results: list[Processor | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in getattr(statement, "selected_columns", ()) or _returning(statement)
        ]

    def params(self, values: Mapping[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        merged = {**self._defaults, **values} if self._defaults else values
        processed = {k: (self._binds[k](v) if k in self._binds else v) for k, v in merged.items()}
        if self.positional is None:
            return processed
        return tuple(processed[name] for name in self.positional)

    def row(self, row: Sequence[Any]) -> tuple[Any, ...]:
        if not any(self._results):
            return tuple(row)
        return tuple(p(v) if p is not None else v for p, v in zip(self._results, row, strict=False))


def _returning(statement: ClauseElement) -> Iterable[Any]:
    return getattr(statement, "_returning", ()) or ()


_CACHE: weakref.WeakKeyDictionary[Dialect, dict[str, Compiled]] = weakref.WeakKeyDictionary()


def compiled(name: str, dialect: Dialect, build: Callable[[], ClauseElement]) -> Compiled:
    """The statement `name` (built by `build`) compiled for `dialect`, once."""
    per_dialect = _CACHE.setdefault(dialect, {})
    found = per_dialect.get(name)
    if found is None:
        found = per_dialect[name] = Compiled(build(), dialect)
    return found


Batch = Sequence[tuple[Compiled, Mapping[str, Any]]]

_DRIVER = "raw.driver"  # session.info key: (the transaction, its connection, the pooled DBAPI connection)


async def driver(db: AsyncSession) -> tuple[AsyncConnection, Any]:
    """The connection of `db`'s transaction and its pooled driver connection (SQLAlchemy's
    `_ConnectionFairy`: `.driver_connection`, `.info`). Looked up once per transaction: a
    session's transaction keeps one connection (one bind), and the next transaction looks again."""
    transaction = db.sync_session.get_transaction()
    found = db.info.get(_DRIVER)
    if transaction is not None and found is not None and found[0] is transaction:
        return found[1], found[2]
    connection = await db.connection()
    fairy = await connection.get_raw_connection()
    db.info[_DRIVER] = (db.sync_session.get_transaction(), connection, fairy)
    return connection, fairy


async def fetch(db: AsyncSession, statement: Compiled, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Run `statement` with `values` in `db`'s transaction; its rows (none for a statement without)."""
    return (await fetch_all(db, [(statement, values)]))[0]


async def fetch_all(db: AsyncSession, batch: Batch, *, commit: bool = False) -> list[list[tuple[Any, ...]]]:
    """Run the statements of `batch` in order in `db`'s transaction; the rows of each.

    PostgreSQL: several statements in one round trip (psycopg's pipeline mode), and with
    `commit=True` the transaction's `COMMIT` too: the transaction then ends here, with these
    statements, and the session's own commit after it finds nothing left to do (the caller writes
    nothing more). A driver error is raised as SQLAlchemy raises it (`IntegrityError`,
    `OperationalError`, … with the driver's error as `orig`), and a lost connection invalidates the
    pool as SQLAlchemy does, so callers and the app's 503 handling see no difference."""
    if db.new or db.dirty or db.deleted:  # what autoflush would have written before the statement
        await db.flush()
    connection, fairy = await driver(db)
    return await _run(connection, fairy, batch, commit)


async def read(engine: AsyncEngine, statement: Compiled, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """One read-only statement outside any transaction (autocommit): one round trip, where a
    session's read costs three (`BEGIN`, the statement, `ROLLBACK`) and its ORM objects. For reads
    that need no snapshot shared with another statement, like a live socket's "rows after my
    cursor" at every message (issue 12). PostgreSQL: on a connection of its own pool of autocommit
    connections (bot/store/autocommit.py); SQLite: a pooled connection switched to autocommit."""
    if engine.dialect.name == "postgresql":
        return await _autocommit_read(engine, statement, values)
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        fairy = await connection.get_raw_connection()
        return (await _run(connection, fairy, [(statement, values)], commit=False))[0]


async def _autocommit_read(engine: AsyncEngine, statement: Compiled, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    dialect = engine.dialect
    params = statement.params(values)
    conn: Any = None
    try:
        async with (await autocommit.pool(engine)).connection() as conn, conn.cursor() as cursor:
            await cursor.execute(statement.sql, params)
            rows = await cursor.fetchall()
    except dialect.loaded_dbapi.Error as exc:  # psycopg's, psycopg_pool's PoolTimeout included
        # a lost connection, or none to be had, is a disconnect (the pool drops a broken one)
        disconnect = conn is None or bool(conn.closed or conn.broken)
        raise DBAPIError.instance(
            statement.sql, params, exc, dialect.loaded_dbapi.Error, connection_invalidated=disconnect, dialect=dialect
        ) from exc
    return [statement.row(r) for r in rows]


async def _run(connection: AsyncConnection, fairy: Any, batch: Batch, commit: bool) -> list[list[tuple[Any, ...]]]:
    conn: Any = fairy.driver_connection
    dialect = connection.dialect
    sql, params = "", None
    try:
        if dialect.name == "postgresql":
            sql = batch[0][0].sql if batch else ""
            return await _psycopg(conn, batch, commit)
        results = []
        for statement, values in batch:  # aiosqlite: one hop to its thread a statement
            sql, params = statement.sql, statement.params(values)
            results.append([statement.row(r) for r in await conn.execute_fetchall(sql, params)])
        if commit:
            sql, params = "COMMIT", None
            await conn.commit()
        return results
    except dialect.loaded_dbapi.Error as exc:
        disconnect = dialect.is_disconnect(exc, fairy.dbapi_connection, None)
        if disconnect:  # as SQLAlchemy does: this connection and every pooled one reconnect
            connection.sync_engine.pool._invalidate(fairy, exc)
            await connection.invalidate(exc)
        raise DBAPIError.instance(
            sql, params, exc, dialect.loaded_dbapi.Error, connection_invalidated=disconnect, dialect=dialect
        ) from exc


async def _psycopg(conn: Any, batch: Batch, commit: bool) -> list[list[tuple[Any, ...]]]:
    """psycopg: one statement alone; several, or a statement and the commit, in a pipeline that
    sends them with one Sync (a psycopg pipeline would not save the transaction's `BEGIN`: it
    waits for it before sending what follows)."""
    if len(batch) == 1 and not commit:
        statement, values = batch[0]
        async with conn.cursor() as cursor:
            await cursor.execute(statement.sql, statement.params(values))
            rows = await cursor.fetchall() if cursor.description is not None else []
        return [[statement.row(r) for r in rows]]
    cursors = []
    try:
        async with conn.pipeline():
            for statement, values in batch:
                cursor = conn.cursor()
                cursors.append(cursor)
                await cursor.execute(statement.sql, statement.params(values))
            if commit:
                await conn.commit()  # queued behind the statements: one Sync, one round trip
        results = []
        for cursor, (statement, _) in zip(cursors, batch, strict=True):
            rows = await cursor.fetchall() if cursor.description is not None else []
            results.append([statement.row(r) for r in rows])
        return results
    finally:
        for cursor in cursors:
            await cursor.close()
