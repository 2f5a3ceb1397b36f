"""Per-conversation order inside one process: one turn at a time per conversation, many
conversations at once.

Across workers the order comes from the conversation row itself (`bot.engine.state.claim`: `SELECT …
FOR UPDATE` on PostgreSQL), which the database releases when a crashed worker's connection goes;
no lock service is needed. This in-process lock only keeps a worker's own turns of one
conversation from queueing on database connections.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from bot.engine.state import LockTimeout

__all__ = ["InMemoryLocker", "LockTimeout", "Locker", "WriterGate"]


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


class WriterGate:
    """SQLite's single writer as an in-process queue (`Services.turn_gate`): turns enter in order;
    `first()` enters ahead of every waiting turn (a LINE acknowledgement: one short insert that
    must not wait for a queue of turns). Used as `async with gate:` or `async with gate.first():`."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: collections.deque[asyncio.Future[None]] = collections.deque()
        self._normal: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self, *, urgent: bool = False) -> None:
        if not self._held and not self._urgent and not self._normal:
            self._held = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._normal
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # it was handed over just as the waiter was cancelled: pass it on
            else:
                queue.remove(waiter)
            raise

    def release(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # handed over: the gate stays held
                    return
        self._held = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *_: object) -> None:
        self.release()

    @asynccontextmanager
    async def first(self) -> AsyncIterator[None]:
        await self.acquire(urgent=True)
        try:
            yield
        finally:
            self.release()
