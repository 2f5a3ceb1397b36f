"""Run-once for scheduled jobs (retention, outreach): however many workers or hosts start a job at
the same time, one run does the work and the others step aside.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a dedicated connection, held
for the run and released when it ends or when the process dies (the connection goes). SQLite (one
host by definition): an exclusive `flock` on a file under DATA_DIR, released by the kernel likewise.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.settings import Settings

_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (PostgreSQL's advisory lock id)."""
    return int.from_bytes(hashlib.sha256(f"madoguchi:job:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def run_once(settings: Settings, name: str) -> Iterator[bool]:
    """`with run_once(settings, "retention") as mine:` — `mine` is True for the one run that holds
    the job's lock, False while another run holds it (that caller should do nothing)."""
    if not _NAME.match(name):
        raise ValueError(f"job name {name!r}: lowercase letters, digits, '_', '.', '-'")
    url = settings.resolved_database_url
    if url.startswith("postgresql"):
        with _advisory(url, advisory_key(name)) as mine:
            yield mine
    else:
        with _file_lock(settings.data_dir / "jobs" / f"{name}.lock") as mine:
            yield mine


@contextmanager
def _advisory(url: str, key: int) -> Iterator[bool]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            mine = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()  # the lock is the session's, not the transaction's: nothing stays open
            try:
                yield mine
            finally:
                if mine:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
    finally:
        engine.dispose()


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
