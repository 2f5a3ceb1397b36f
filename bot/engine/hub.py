"""Wake-ups for live delivery: "topic X has new rows".

The hub carries no messages. The transcript (the messages table) is the only copy; a WebSocket
loop keeps a cursor (the last message id it sent) and, when woken (or on its periodic safety
poll), reads the rows after it. So a lost wake-up delays a message by one poll, never loses it.

In-memory for one process; with Redis, wake-ups go through Redis pub/sub so that every worker's
loops hear them. The subscriber has its own connection without a socket timeout (an idle
subscription is normal: the shared client's timeout ended the old listener) and health checks,
and it polls with `get_message(timeout=…)` so that it checks in every READ_SECONDS and ends at
once when cancelled; when it reconnects after an outage it wakes every local loop, which
re-reads by cursor what was published meanwhile. `wake` never raises: a wake-up that cannot be
published is only a delay until the loops' next poll.

`wake` does not wait for Redis: it adds the topic to a set that one background publish at a time
sends, newline-separated, as one message. Turns that end while a publish is on its way share the
next one, so under load there are far fewer publishes (and relayed messages) than turns (issue 12:
one PUBLISH and one relayed message per message before); at rest it is one publish per wake-up,
as before, one loop tick later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

RECONNECT_FIRST_SECONDS = 0.1
RECONNECT_MAX_SECONDS = 2.0
HEALTH_CHECK_SECONDS = 10
READ_SECONDS = 1.0  # how long one get_message waits before the loop checks in again
CLOSE_SECONDS = 2.0  # close() waits at most this long for the relay task to end
MAX_TOPICS_PER_PUBLISH = 256  # one Redis message carries at most this many topics


class Wakeup:
    """One subscriber's flag: set by the hub, cleared by the loop before it reads."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()


class Hub:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[Wakeup]] = defaultdict(set)

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[Wakeup]:
        wakeup = Wakeup()
        self._subscribers[topic].add(wakeup)
        try:
            yield wakeup
        finally:
            self._subscribers[topic].discard(wakeup)
            if not self._subscribers[topic]:
                del self._subscribers[topic]

    def has_subscribers(self, topic: str) -> bool:
        return bool(self._subscribers.get(topic))

    async def wake(self, topic: str) -> None:
        """Tell every loop subscribed to `topic`, in any worker, that it has new rows."""
        self._wake(topic)

    async def publish(self, topic: str, message: dict[str, Any] | None = None) -> None:
        """Older name of `wake`; the message is not forwarded (the subscribers read the rows)."""
        await self.wake(topic)

    async def drained(self) -> None:
        """Every wake-up so far has reached the subscribers (in memory: at once)."""
        return None

    def _wake(self, topic: str) -> None:
        for wakeup in list(self._subscribers.get(topic, ())):
            wakeup.set()

    def _wake_all(self) -> None:
        for wakeups in list(self._subscribers.values()):
            for wakeup in list(wakeups):
                wakeup.set()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


def subscriber_client(redis: Redis) -> Redis:
    """A client like `redis` (same server and credentials) for a long-lived subscription: no
    socket timeout (the shared client's 5 s would end an idle subscription) but health checks."""
    pool = redis.connection_pool
    kwargs = {**pool.connection_kwargs, "socket_timeout": None, "health_check_interval": HEALTH_CHECK_SECONDS}
    # Our loop reconnects (and then wakes every subscriber); redis-py's own silent retry would not.
    kwargs.update(socket_keepalive=True, retry=Retry(NoBackoff(), 0), retry_on_error=[])
    return Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, max_connections=2, **kwargs))


class RedisHub(Hub):
    """Wake-ups through one Redis channel; a background task relays them to local subscribers."""

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        super().__init__()
        self._redis = redis
        self._subscriber = subscriber_client(redis)
        self._channel = f"{prefix}hub"
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()  # subscribed right now (tests wait for it)
        self.subscriptions = 0  # how many times it has subscribed: 1 unless Redis went away
        self._topics: dict[str, None] = {}  # woken, not yet published (a dict keeps their order)
        self._publisher: asyncio.Task[None] | None = None
        self.publishes = 0  # Redis publishes sent (the bench and tests read it)

    async def wake(self, topic: str) -> None:
        """Best effort: the rows are committed, and a lost wake-up only waits for the loops' poll.
        Returns at once; the background publisher sends it with the others woken meanwhile."""
        if "\n" in topic:  # topics are conversation ids and "staff": a newline would split it
            log.warning("live wake-up topic with a newline not published")
            return
        self._topics[topic] = None
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.get_running_loop().create_task(self._publish())

    async def _publish(self) -> None:
        while self._topics:
            topics = list(self._topics)[:MAX_TOPICS_PER_PUBLISH]
            for topic in topics:
                del self._topics[topic]
            try:
                await self._redis.publish(self._channel, "\n".join(topics))
                self.publishes += 1
            except (RedisError, OSError) as exc:
                log.warning(
                    "live wake-up not published; loops catch up at their next poll", extra={"kind": type(exc).__name__}
                )
            except asyncio.CancelledError:
                raise
            except Exception:  # the publisher must never die with topics left behind silently
                log.exception("live wake-up publisher failed")

    async def drained(self) -> None:
        """Wait until every wake-up so far has been published (or has failed)."""
        while self._publisher is not None and not self._publisher.done():
            await asyncio.wait({self._publisher})

    async def start(self) -> None:
        # Subscribing happens in the background so that the app starts (and reports itself
        # unready) while Redis is down, and reconnects when Redis comes back.
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        delay = RECONNECT_FIRST_SECONDS
        while True:
            try:
                await self._relay()
            except Exception as exc:  # RedisError, OSError, anything: the relay must keep running
                if self.connected.is_set():
                    delay = RECONNECT_FIRST_SECONDS
                    log.warning("hub lost its Redis subscription; reconnecting", extra={"kind": type(exc).__name__})
            self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _relay(self) -> None:
        pubsub = self._subscriber.pubsub()
        try:
            await pubsub.subscribe(self._channel)
            self.subscriptions += 1
            self.connected.set()
            # Whatever was published while we were not subscribed: every loop re-reads by cursor.
            self._wake_all()
            while True:
                item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=READ_SECONDS)
                if item is None or item.get("type") != "message":
                    continue
                data = item["data"]
                for topic in (data.decode() if isinstance(data, bytes) else str(data)).split("\n"):
                    self._wake(topic)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pubsub.aclose(), CLOSE_SECONDS)

    async def close(self) -> None:
        """Publishes what is left (bounded), then ends the relay task (bounded: a task that ignored
        its cancellation is left, logged)."""
        publisher, self._publisher = self._publisher, None
        if publisher is not None and not publisher.done():
            done, _ = await asyncio.wait({publisher}, timeout=CLOSE_SECONDS)
            if not done:
                publisher.cancel()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=CLOSE_SECONDS)
            if not done:
                log.warning("hub relay task did not end on cancel")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._subscriber.aclose(close_connection_pool=True), CLOSE_SECONDS)
