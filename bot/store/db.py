"""Database engines, sessions and migrations (SQLAlchemy 2, Alembic).

SQLite by default (a file under DATA_DIR), PostgreSQL when DATABASE_URL says so. The app uses the
async engine; Alembic and command-line importers use the sync one. Both come from one URL.
"""

from __future__ import annotations

import ast
import functools
import time
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def sync_url(url: str) -> str:
    return url.replace("sqlite+aiosqlite://", "sqlite://")


def async_url(url: str) -> str:
    if url.startswith("sqlite://"):
        return url.replace("sqlite://", "sqlite+aiosqlite://", 1)
    if url.startswith("postgresql://"):
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def make_sync_engine(url: str) -> Engine:
    url = sync_url(url)
    _ensure_sqlite_dir(url)
    engine = create_engine(url, pool_pre_ping=True)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


# the connection record's info key saying which lock_timeout (ms) its session has (PostgreSQL)
LOCK_TIMEOUT_INFO = "madoguchi.lock_timeout_ms"


def make_async_engine(
    url: str, *, lock_timeout_seconds: float | None = None, pool_size: int = 5, max_overflow: int = 10
) -> AsyncEngine:
    """The app's engine. PostgreSQL: `lock_timeout_seconds` is set once per connection (a turn's
    row lock then costs no `SET` statement), and the pool is sized for the turns in flight."""
    url = async_url(url)
    _ensure_sqlite_dir(url)
    if url.startswith("sqlite"):  # a local file: no connection to lose, so no ping before each use
        engine = create_async_engine(url, **_json())
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, object] = {}
    millis = None if lock_timeout_seconds is None else int(lock_timeout_seconds * 1000)
    if millis is not None and url.startswith("postgresql"):
        connect_args["options"] = f"-c lock_timeout={millis}"
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=max_overflow, connect_args=connect_args, **_json()
    )
    _ping_when_idle(engine.sync_engine)
    if "options" in connect_args:

        def _note_timeout(_dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
            record.info[LOCK_TIMEOUT_INFO] = millis

        event.listen(engine.sync_engine, "connect", _note_timeout)
    return engine


# a pooled connection unused for this long is pinged before use (a server restarted meanwhile);
# a busy pool's connections, reused within milliseconds, are not (one statement less per turn)
IDLE_PING_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """`pool_pre_ping` for idle connections only. A connection that breaks while in use is a
    disconnect error: SQLAlchemy then invalidates the whole pool, so the others reconnect too."""

    def _checkin(_dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
        record.info["checked_in"] = time.monotonic()

    def _checkout(dbapi_conn, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        if time.monotonic() - record.info.get("checked_in", 0.0) < IDLE_PING_SECONDS:
            return
        try:
            # SQLAlchemy's own ping: in autocommit, so that the connection is handed out outside a
            # transaction (a plain `;` began one, and a caller that sets autocommit then fails)
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # a dead connection: the pool replaces it and tries again
            raise DisconnectionError("connection failed its ping") from exc

    event.listen(engine, "checkin", _checkin)
    event.listen(engine, "checkout", _checkout)


def _json() -> dict[str, object]:
    """JSON columns (conversation state, message payloads) through orjson: the same JSON, faster."""
    return {"json_serializer": _dumps, "json_deserializer": orjson.loads}


def _dumps(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)


def _ensure_sqlite_dir(url: str) -> None:
    prefix = url.split("///", 1)
    if url.startswith("sqlite") and len(prefix) == 2 and prefix[1] and prefix[1] != ":memory:":
        Path(prefix[1]).parent.mkdir(parents=True, exist_ok=True)


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # imported where migrations run, not in a serving process

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "heads") -> None:
    """Apply all migrations (every branch head) to the database at `url`."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def expected_heads() -> frozenset[str]:
    """The migrations' heads, read from the migration files once per process (they do not change
    while it runs; `/readyz` asks at every probe, which parsed every file each time)."""
    return _heads()


@functools.cache
def _heads() -> frozenset[str]:
    """Every revision that no other names as its `down_revision`, read from the version files'
    own assignments (as Alembic reads them; tests/engine/test_migration_heads.py compares): a
    serving process need not import Alembic (~10 MB) for its readiness check."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        values = dict(_revision_lines(ast.parse(path.read_text(encoding="utf-8"))))
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str):
            continue
        revisions.add(revision)
        downs = down if isinstance(down, tuple | list) else [down]  # None, one parent, or a merge's
        parents.update(d for d in downs if isinstance(d, str))
    return frozenset(revisions - parents)


def _revision_lines(module: ast.Module) -> list[tuple[str, object]]:
    """`revision = "…"` and `down_revision = …` (plain or annotated) of a version file."""
    found: list[tuple[str, object]] = []
    for node in module.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        target = node.target if isinstance(node, ast.AnnAssign) else target
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            value = getattr(node, "value", None)
            if value is not None:
                found.append((target.id, ast.literal_eval(value)))
    return found


def downgrade_all(url: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), "base")
