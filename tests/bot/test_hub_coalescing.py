"""The Redis hub's wake-ups: `wake` returns without waiting for Redis, wake-ups made while a publish
is on its way share the next one (issue 12: one PUBLISH per message before), and every woken
topic still reaches its subscribers, in any worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.engine.hub import MAX_TOPICS_PER_PUBLISH, RedisHub, Wakeup


async def _started(url: str, prefix: str) -> RedisHub:
    hub = RedisHub(Redis.from_url(url), prefix=prefix)
    await hub.start()
    await asyncio.wait_for(hub.connected.wait(), 10)
    return hub


def test_wake_ups_of_one_burst_share_publishes_and_all_arrive_in_another_worker(redis_url: str) -> None:
    topics = [f"web:w-burst-{i}" for i in range(600)]

    async def scenario() -> tuple[int, set[str]]:
        sender, receiver = await _started(redis_url, "coalesce:"), await _started(redis_url, "coalesce:")
        try:
            woken: set[str] = set()
            async with _subscribed(receiver, topics) as wakeups:
                for topic in topics:  # one burst: turns ending in the same tick
                    await sender.wake(topic)
                await sender.drained()
                for _ in range(200):
                    woken = {t for t, w in wakeups.items() if w.is_set()}
                    if len(woken) == len(topics):
                        break
                    await asyncio.sleep(0.02)
            return sender.publishes, woken
        finally:
            await sender.close()
            await receiver.close()

    publishes, woken = asyncio.run(scenario())
    assert woken == set(topics)  # nothing lost
    # 600 wake-ups, at most MAX_TOPICS_PER_PUBLISH per message: a few publishes, not 600
    assert publishes <= 600 // MAX_TOPICS_PER_PUBLISH + 1


def test_one_wake_up_at_rest_is_one_publish_and_wakes_only_its_topic(redis_url: str) -> None:
    async def scenario() -> tuple[int, bool, bool]:
        hub = await _started(redis_url, "coalesce1:")
        try:
            async with _subscribed(hub, ["web:w-a", "web:w-b"]) as wakeups:
                await hub.wake("web:w-a")
                await hub.drained()
                for _ in range(200):
                    if wakeups["web:w-a"].is_set():
                        break
                    await asyncio.sleep(0.02)
                await asyncio.sleep(0.1)  # a wrong wake-up of w-b would have arrived with it
                return hub.publishes, wakeups["web:w-a"].is_set(), wakeups["web:w-b"].is_set()
        finally:
            await hub.close()

    assert asyncio.run(scenario()) == (1, True, False)


def test_a_wake_up_redis_refuses_is_logged_and_wake_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> int:
        dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
        hub = RedisHub(dead, prefix="dead:")
        await hub.wake("web:w-x")  # returns at once: the publish is the background's
        await hub.drained()
        await hub.close()
        return hub.publishes

    with caplog.at_level(logging.WARNING, logger="bot.engine.hub"):
        assert asyncio.run(scenario()) == 0
    assert "live wake-up not published" in caplog.text


def test_a_topic_with_a_newline_is_not_published() -> None:
    async def scenario() -> int:
        hub = RedisHub(Redis.from_url("redis://127.0.0.1:1/0"), prefix="nl:")
        await hub.wake("web:a\nstaff")  # would wake two topics at the receiving end
        await hub.drained()
        await hub.close()
        return hub.publishes

    assert asyncio.run(scenario()) == 0


@contextlib.asynccontextmanager
async def _subscribed(hub: RedisHub, topics: list[str]) -> AsyncIterator[dict[str, Wakeup]]:
    """Subscribed to several topics of a hub at once: {topic: its Wakeup}."""
    async with contextlib.AsyncExitStack() as stack:
        yield {topic: await stack.enter_async_context(hub.subscribe(topic)) for topic in topics}
