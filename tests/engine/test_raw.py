"""The turn's statements on the driver connection (bot/store/raw.py), on SQLite and PostgreSQL:
values go through SQLAlchemy's type processors (a row written raw reads back through the ORM as
one the ORM wrote), driver errors are raised as SQLAlchemy's, statements join the session's
transaction, and `commit=True` ends it with them (or nothing of it stays)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import IntegrityError

from bot.engine.transcript import TranscriptEntry, message_ids, messages_insert
from bot.store import raw
from bot.store.models import Conversation, Message


async def _conversation(services, cid: str) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    async with services.sessionmaker() as db, db.begin():
        db.add(Conversation(id=cid, channel="web", sender_id=cid, status="bot", created_at=now, updated_at=now))


def _entries() -> list[TranscriptEntry]:
    return [
        TranscriptEntry(direction="in", author="resident", text="住民票", intent="certificate_request", confidence=0.9),
        TranscriptEntry(direction="out", author="bot", text="ご案内します", payload={"buttons": [{"title": "はい"}]}),
        TranscriptEntry(direction="out", author="bot", text="ほかに", payload=None, external_id=None),
    ]


async def test_rows_written_raw_read_back_through_the_orm(services) -> None:  # type: ignore[no-untyped-def]
    await _conversation(services, "web:raw-1")
    conv = Conversation(id="web:raw-1", channel="web")
    async with services.sessionmaker() as db, db.begin():
        (rows,) = await raw.fetch_all(db, [messages_insert(db, conv, _entries())])
        ids = message_ids(rows)
    async with services.sessionmaker() as db:
        stored = list(await db.scalars(select(Message).where(Message.id.in_(ids)).order_by(Message.id)))
    assert [m.text for m in stored] == ["住民票", "ご案内します", "ほかに"]  # ids in the entries' order
    assert stored[1].payload == {"buttons": [{"title": "はい"}]} and stored[2].payload is None  # JSON, SQL NULL
    assert stored[0].confidence == pytest.approx(0.9) and stored[0].created_at is not None


async def test_a_driver_error_is_sqlalchemys_and_the_transaction_keeps_nothing(services) -> None:  # type: ignore[no-untyped-def]
    await _conversation(services, "web:raw-2")
    conv = Conversation(id="web:raw-2", channel="web")
    duplicate = [TranscriptEntry(direction="in", author="resident", text="x", external_id="ev-1")] * 2
    with pytest.raises(IntegrityError):  # the (channel, external_id) unique constraint
        async with services.sessionmaker() as db, db.begin():
            await raw.fetch_all(db, [messages_insert(db, conv, duplicate[:1])])
            await raw.fetch_all(db, [messages_insert(db, conv, duplicate[1:])])
    async with services.sessionmaker() as db:
        assert not list(await db.scalars(select(Message).where(Message.conversation_id == "web:raw-2")))


async def test_orm_objects_pending_in_the_session_are_written_first(services) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    async with services.sessionmaker() as db, db.begin():
        db.add(Conversation(id="web:raw-3", channel="web", sender_id="raw-3", status="bot", created_at=now, updated_at=now))
        seen = raw.compiled("test.count", db.get_bind().dialect, _count)
        assert await raw.fetch(db, seen, {"cid": "web:raw-3"}) == [(1,)]  # as autoflush would


def _count():  # type: ignore[no-untyped-def]
    return select(text("count(*)")).select_from(Conversation).where(Conversation.id == bindparam("cid"))


async def test_commit_with_the_statements_ends_the_transaction(services) -> None:  # type: ignore[no-untyped-def]
    await _conversation(services, "web:raw-4")
    conv = Conversation(id="web:raw-4", channel="web")
    async with services.sessionmaker() as db, db.begin():
        await raw.fetch_all(db, [messages_insert(db, conv, _entries())], commit=True)
    # committed by the batch; the session's own commit after it found nothing to do and failed nothing
    async with services.sessionmaker() as db:
        assert len(list(await db.scalars(select(Message).where(Message.conversation_id == "web:raw-4")))) == 3


async def test_a_failing_batch_with_commit_commits_nothing(services) -> None:  # type: ignore[no-untyped-def]
    await _conversation(services, "web:raw-5")
    conv = Conversation(id="web:raw-5", channel="web")
    clash = [TranscriptEntry(direction="in", author="resident", text="x", external_id="ev-5")]
    with pytest.raises(IntegrityError):
        async with services.sessionmaker() as db, db.begin():
            batch = [messages_insert(db, conv, _entries()), messages_insert(db, conv, clash * 2)]
            await raw.fetch_all(db, batch, commit=True)
    async with services.sessionmaker() as db:
        assert not list(await db.scalars(select(Message).where(Message.conversation_id == "web:raw-5")))
