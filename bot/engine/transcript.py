"""Transcript repository: conversations and both directions of every message.

Keyword-only functions over an async session; the caller owns the transaction so that one turn
(the resident's message and the bot's replies) is written together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement

from bot.store import raw
from bot.store.models import Conversation, Message, utcnow

_COLUMNS = (
    *("conversation_id", "direction", "channel", "author", "text"),
    *("payload", "intent", "confidence", "external_id", "created_at"),
)


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    direction: str
    author: str
    text: str
    payload: dict[str, Any] | None = None
    intent: str | None = None
    confidence: float | None = None
    external_id: str | None = None


async def ensure_conversation(
    session: AsyncSession, *, conversation_id: str, channel: str, sender_id: str
) -> Conversation:
    conv = await session.get(Conversation, conversation_id)
    if conv is None:
        now = utcnow()
        conv = Conversation(
            id=conversation_id, channel=channel, sender_id=sender_id, status="bot", created_at=now, updated_at=now
        )
        session.add(conv)
        await session.flush()
    return conv


class ConversationRef(Protocol):
    id: str
    channel: str


async def append_messages(
    session: AsyncSession,
    *,
    conversation: ConversationRef,
    entries: Sequence[TranscriptEntry],
    touch: bool = True,
) -> list[int]:
    """One INSERT of all `entries`; their row ids in order. `touch` also moves the conversation's
    `updated_at` (a turn leaves that to `state.put`, which writes the row anyway)."""
    if not entries:
        return []
    ids = message_ids((await raw.fetch_all(session, [messages_insert(session, conversation, entries)]))[0])
    if touch:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return ids


def messages_insert(
    session: AsyncSession, conversation: ConversationRef, entries: Sequence[TranscriptEntry]
) -> tuple[raw.Compiled, dict[str, Any]]:
    """The INSERT … VALUES (…), (…) RETURNING id of `entries` (at least one), to run on the driver
    connection (`bot.store.raw`) alone or with the turn's other writes; compiled once for each
    number of rows. Its rows give the ids through `message_ids`."""
    now = utcnow()
    values: dict[str, Any] = {}
    for i, entry in enumerate(entries):
        values |= {
            f"conversation_id_{i}": conversation.id,
            f"direction_{i}": entry.direction,
            f"channel_{i}": conversation.channel,
            f"author_{i}": entry.author,
            f"text_{i}": entry.text,
            f"payload_{i}": entry.payload,  # None is SQL NULL (the column's none_as_null)
            f"intent_{i}": entry.intent,
            f"confidence_{i}": entry.confidence,
            f"external_id_{i}": entry.external_id,
            f"created_at_{i}": now,
        }
    count = len(entries)
    return raw.compiled(f"messages.insert.{count}", session.get_bind().dialect, lambda: _insert(count)), values


def message_ids(rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """The new rows' ids in the order of the entries: one sequence numbers the VALUES rows in order."""
    return sorted(int(row[0]) for row in rows)


def _insert(count: int) -> ClauseElement:
    table = cast(Table, Message.__table__)
    rows = [{name: bindparam(f"{name}_{i}", type_=table.c[name].type) for name in _COLUMNS} for i in range(count)]
    return insert(table).values(rows).returning(table.c.id)


def _seen() -> ClauseElement:
    return (
        select(Message.id)
        .where(Message.channel == bindparam("channel"), Message.external_id == bindparam("external_id"))
        .limit(1)
    )


def _last_out() -> ClauseElement:
    return (
        select(Message.payload)
        .where(Message.conversation_id == bindparam("cid"), Message.direction == "out")
        .order_by(Message.id.desc())
        .limit(6)
    )


async def list_messages(session: AsyncSession, *, conversation_id: str, limit: int = 200) -> list[Message]:
    rows = await session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id).limit(limit)
    )
    return list(rows)


async def external_id_seen(session: AsyncSession, *, channel: str, external_id: str) -> bool:
    statement = raw.compiled("messages.seen", session.get_bind().dialect, _seen)
    return bool(await raw.fetch(session, statement, {"channel": channel, "external_id": external_id}))


async def button_title(session: AsyncSession, *, conversation_id: str, payload: str) -> str | None:
    """The title of the button with `payload` among the bot's last messages (what the resident
    pressed, as they saw it), or None when it was typed or is not there any more."""
    statement = raw.compiled("messages.last_out", session.get_bind().dialect, _last_out)
    for (data,) in await raw.fetch(session, statement, {"cid": conversation_id}):
        for button in _buttons(data or {}):
            if button.get("payload") == payload and isinstance(button.get("title"), str):
                return str(button["title"])
    return None


def _buttons(data: dict[str, Any]) -> list[dict[str, Any]]:
    card = data.get("card") or {}
    return [b for b in [*(data.get("buttons") or []), *(card.get("buttons") or [])] if isinstance(b, dict)]
