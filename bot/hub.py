"""Live delivery of messages that arrive outside a request: staff replies to an open web widget,
new resident messages to the staff console.

In-memory for one process; with Redis, publications go through Redis pub/sub so that every
worker's WebSocket clients receive them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class Hub:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100)
        self._subscribers[topic].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[topic].discard(queue)
            if not self._subscribers[topic]:
                del self._subscribers[topic]

    def has_subscribers(self, topic: str) -> bool:
        return bool(self._subscribers.get(topic))

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        self._deliver(topic, message)

    def _deliver(self, topic: str, message: dict[str, Any]) -> None:
        for queue in list(self._subscribers.get(topic, ())):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                log.warning("dropping live message for a slow subscriber", extra={"topic": topic})

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisHub(Hub):
    """Publishes through Redis; a background task relays everything to local subscribers."""

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        super().__init__()
        self._redis = redis
        self._channel = f"{prefix}hub"
        self._task: asyncio.Task[None] | None = None

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        await self._redis.publish(self._channel, json.dumps({"topic": topic, "message": message}))

    async def start(self) -> None:
        # Subscribing happens in the background so that the app starts (and reports itself
        # unready) while Redis is down, and reconnects when Redis comes back.
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._relay()
                delay = 0.5
            except RedisError:
                log.warning("hub lost its Redis subscription; reconnecting")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _relay(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self._channel)
            async for item in pubsub.listen():
                if item.get("type") != "message":
                    continue
                try:
                    data = json.loads(item["data"])
                    self._deliver(data["topic"], data["message"])
                except (ValueError, KeyError):
                    log.warning("ignoring a malformed hub message")
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
