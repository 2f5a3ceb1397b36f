"""Transcript repository over SQLite always and PostgreSQL where DATABASE_URL is set."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.transcript import (
    TranscriptEntry,
    append_messages,
    ensure_conversation,
    external_id_seen,
    list_messages,
)
from bot.store.db import make_async_engine, make_sessionmaker, migrate


@pytest.fixture(params=["sqlite", "postgres"])
async def session(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncSession]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'repo.db'}"
        migrate(url)
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_async_engine(url)
    async with make_sessionmaker(engine)() as s:
        yield s
    await engine.dispose()


def cid() -> str:
    return f"web:{uuid.uuid4().hex[:12]}"


async def test_both_directions_in_order(session: AsyncSession) -> None:
    conv_id = cid()
    async with session.begin():
        conv = await ensure_conversation(session, conversation_id=conv_id, channel="web", sender_id=conv_id[4:])
        await append_messages(
            session,
            conversation=conv,
            entries=[
                TranscriptEntry(
                    direction="in", author="resident", text="住民票がほしい", intent="juminhyo", confidence=0.9
                ),
                TranscriptEntry(
                    direction="out", author="bot", text="住民票の写しのご案内です。", payload={"buttons": []}
                ),
            ],
        )
    rows = await list_messages(session, conversation_id=conv_id)
    assert [(r.direction, r.author, r.text) for r in rows] == [
        ("in", "resident", "住民票がほしい"),
        ("out", "bot", "住民票の写しのご案内です。"),
    ]
    assert rows[0].intent == "juminhyo" and rows[0].channel == "web"
    assert rows[1].payload == {"buttons": []}


async def test_ensure_conversation_is_idempotent(session: AsyncSession) -> None:
    conv_id = cid()
    async with session.begin():
        first = await ensure_conversation(session, conversation_id=conv_id, channel="web", sender_id="x")
        again = await ensure_conversation(session, conversation_id=conv_id, channel="web", sender_id="x")
    assert first is again


async def test_external_ids_are_unique_per_channel(session: AsyncSession) -> None:
    conv_id, ext = cid(), uuid.uuid4().hex
    async with session.begin():
        conv = await ensure_conversation(session, conversation_id=conv_id, channel="web", sender_id="x")
        await append_messages(
            session,
            conversation=conv,
            entries=[TranscriptEntry(direction="in", author="resident", text="a", external_id=ext)],
        )
    assert await external_id_seen(session, channel="web", external_id=ext)
    assert not await external_id_seen(session, channel="line", external_id=ext)
    await session.rollback()  # end the read transaction the checks began
    with pytest.raises(IntegrityError):
        async with session.begin():
            conv = await ensure_conversation(session, conversation_id=conv_id, channel="web", sender_id="x")
            await append_messages(
                session,
                conversation=conv,
                entries=[TranscriptEntry(direction="in", author="resident", text="b", external_id=ext)],
            )
    await session.rollback()
    assert [r.text for r in await list_messages(session, conversation_id=conv_id)] == ["a"]
