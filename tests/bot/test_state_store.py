"""One contract for the state store: the conversation row's state column, over SQLite always and
PostgreSQL where DATABASE_URL is set (the state no longer lives in Redis at all)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.engine.state import ActiveForm, ConversationState, SqlStateStore, StateStore, StateStoreError
from bot.store.db import make_async_engine, make_sessionmaker, migrate


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StateStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
        migrate(url)
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM conversations"))
    yield SqlStateStore(make_sessionmaker(engine), ttl_seconds=2)
    await engine.dispose()


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


async def test_unreadable_state_raises_not_drops(store: StateStore) -> None:
    await store.save(new_state("web:bad"))
    sessionmaker = store._sessionmaker  # type: ignore[attr-defined]
    async with sessionmaker() as db, db.begin():
        await db.execute(text("UPDATE conversations SET state = :s WHERE id = 'web:bad'"), {"s": '{"turn": "x"}'})
    with pytest.raises(StateStoreError):
        await store.get("web:bad")
