"""Per-conversation order inside one process: one turn at a time per conversation, many
conversations at once.

Across workers the order comes from the conversation row itself (`bot.engine.state.claim`: `SELECT …
FOR UPDATE` on PostgreSQL), which the database releases when a crashed worker's connection goes;
no lock service is needed. This in-process lock only keeps a worker's own turns of one
conversation from queueing on database connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from bot.engine.state import LockTimeout

__all__ = ["InMemoryLocker", "LockTimeout", "Locker"]


class Locker(Protocol):
    def hold(self, key: str) -> AbstractAsyncContextManager[None]: ...


class InMemoryLocker:
    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = timeout_seconds
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiters: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiters[key] = self._waiters.get(key, 0) + 1
        try:
            try:
                await asyncio.wait_for(lock.acquire(), self._timeout)
            except TimeoutError as exc:
                raise LockTimeout(key) from exc
            try:
                yield
            finally:
                lock.release()
        finally:
            self._waiters[key] -= 1
            if self._waiters[key] == 0:  # forget idle conversations so memory stays flat
                del self._waiters[key]
                del self._locks[key]
