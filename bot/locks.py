"""Per-conversation locks: one turn at a time per conversation, many conversations at once.

The in-memory locker serves one process; the Redis locker (SET NX PX with an owner token and a
compare-and-delete release) serves several workers or servers sharing one Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.state import StateStoreError


class LockTimeout(RuntimeError):
    """The conversation stayed locked longer than the lock timeout."""


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


_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""


class RedisLocker:
    def __init__(self, redis: Redis, *, prefix: str, timeout_seconds: float, lease_seconds: float = 60.0):
        self._redis = redis
        self._prefix = f"{prefix}lock:"
        self._timeout = timeout_seconds
        self._lease_ms = int(lease_seconds * 1000)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        name = self._prefix + key
        token = secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        delay = 0.005
        while not await self._try_acquire(name, token):
            if loop.time() >= deadline:
                raise LockTimeout(key)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)
        try:
            yield
        finally:
            # the lease expires by itself; never mask the turn's own outcome
            with contextlib.suppress(RedisError):
                await self._redis.eval(_RELEASE, 1, name, token)  # type: ignore[misc]

    async def _try_acquire(self, name: str, token: str) -> bool:
        try:
            return bool(await self._redis.set(name, token, nx=True, px=self._lease_ms))
        except RedisError as exc:
            raise StateStoreError(f"redis unavailable: {exc.__class__.__name__}") from exc
