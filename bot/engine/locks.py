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
import threading
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


Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]


class WriterGate:
    """SQLite's single writer as an in-process queue (`Services.turn_gate`): turns enter in order;
    `first()` enters ahead of every waiting turn (a LINE acknowledgement: one short insert that
    must not wait for a queue of turns). Used as `async with gate:` or `async with gate.first():`.
    Thread-safe: the LINE processing thread's loop (bot/channels/line_process.py) shares the gate
    with the app's loop; a waiter is handed the gate on its own loop."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._urgent: collections.deque[Waiter] = collections.deque()
        self._normal: collections.deque[Waiter] = collections.deque()

    async def acquire(self, *, urgent: bool = False) -> None:
        loop = asyncio.get_running_loop()
        queue = self._urgent if urgent else self._normal
        with self._mutex:
            if not self._held and not self._urgent and not self._normal:
                self._held = True
                return
            waiter: asyncio.Future[None] = loop.create_future()
            queue.append((loop, waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            with self._mutex:
                try:
                    queue.remove((loop, waiter))
                    handed = False
                except ValueError:
                    handed = True
            if handed and waiter.done() and not waiter.cancelled():
                self.release()  # it was handed over just as the waiter was cancelled: pass it on
            # handed but not yet granted: `_grant` (on this loop) sees the cancelled waiter and passes it on
            raise

    def release(self) -> None:
        with self._mutex:
            queue = self._urgent or self._normal
            if not queue:
                self._held = False
                return
            loop, waiter = queue.popleft()  # handed over: the gate stays held
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is running:
            self._grant(waiter)
        else:
            loop.call_soon_threadsafe(self._grant, waiter)

    def _grant(self, waiter: asyncio.Future[None]) -> None:
        if waiter.done():  # cancelled before it got the gate: the next one gets it
            self.release()
        else:
            waiter.set_result(None)

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
