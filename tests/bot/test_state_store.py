"""One contract, every state store: in-memory always, Redis where REDIS_URL is set."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.state import (
    ActiveForm,
    ConversationState,
    InMemoryStateStore,
    RedisStateStore,
    StateStore,
    StateStoreError,
)
from tests.conftest import REDIS_URL, skip_unless_available


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[StateStore]:
    if request.param == "memory":
        yield InMemoryStateStore(ttl_seconds=2)
        return
    if not REDIS_URL:
        skip_unless_available("REDIS_URL is not set")
    redis = Redis.from_url(REDIS_URL)
    prefix = f"madoguchi-test-{uuid.uuid4().hex[:8]}:"
    yield RedisStateStore(redis, prefix=prefix, ttl_seconds=2)
    keys = [k async for k in redis.scan_iter(f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


def new_state(cid: str = "web:alice") -> ConversationState:
    return ConversationState(conversation_id=cid, channel="web", sender_id=cid.split(":", 1)[1])


async def test_missing_conversation_is_none(store: StateStore) -> None:
    assert await store.get("web:nobody") is None


async def test_round_trip_keeps_forms_and_japanese(store: StateStore) -> None:
    state = new_state()
    state.active_form = ActiveForm(name="bulky_waste", slots={"items": ["ソファ", "自転車"], "date": "2026-12-01"})
    state.offered_suggestions.append("care_consultation")
    await store.save(state)
    loaded = await store.get("web:alice")
    assert loaded is not None
    assert loaded.active_form is not None
    assert loaded.active_form.slots == {"items": ["ソファ", "自転車"], "date": "2026-12-01"}
    assert loaded.offered_suggestions == ["care_consultation"]


async def test_save_overwrites_and_delete_removes(store: StateStore) -> None:
    state = new_state("web:bob")
    await store.save(state)
    state.status = "human"
    await store.save(state)
    loaded = await store.get("web:bob")
    assert loaded is not None and loaded.status == "human"
    await store.delete("web:bob")
    assert await store.get("web:bob") is None


async def test_conversations_are_separate(store: StateStore) -> None:
    a, b = new_state("web:a"), new_state("web:b")
    a.last_intent = "juminhyo"
    await store.save(a)
    await store.save(b)
    loaded_b = await store.get("web:b")
    assert loaded_b is not None and loaded_b.last_intent is None


async def test_state_expires_after_ttl(store: StateStore) -> None:
    await store.save(new_state("web:ttl"))
    await asyncio.sleep(2.2)
    assert await store.get("web:ttl") is None


async def test_unreachable_redis_raises_not_drops() -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    store = RedisStateStore(redis, prefix="x:", ttl_seconds=10)
    with pytest.raises(StateStoreError):
        await store.save(new_state())
    with pytest.raises(StateStoreError):
        await store.get("web:alice")
    with pytest.raises(StateStoreError):
        await store.ping()
    await redis.aclose()
