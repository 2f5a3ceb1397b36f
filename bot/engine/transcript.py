"""Transcript repository: conversations and both directions of every message.

Keyword-only functions over an async session; the caller owns the transaction so that one turn
(the resident's message and the bot's replies) is written together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Conversation, Message, utcnow


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
    now = utcnow()
    rows = [
        {
            "conversation_id": conversation.id,
            "direction": entry.direction,
            "channel": conversation.channel,
            "author": entry.author,
            "text": entry.text,
            "payload": entry.payload,  # None is SQL NULL (the column's none_as_null)
            "intent": entry.intent,
            "confidence": entry.confidence,
            "external_id": entry.external_id,
            "created_at": now,
        }
        for entry in entries
    ]
    table = cast(Table, Message.__table__)
    # executemany with RETURNING: one INSERT … VALUES statement (SQLAlchemy's insertmanyvalues),
    # compiled once and cached, whatever the number of rows; ids in the order of `entries`
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = list((await session.execute(statement, rows)).scalars())
    if touch:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids


async def list_messages(session: AsyncSession, *, conversation_id: str, limit: int = 200) -> list[Message]:
    rows = await session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id).limit(limit)
    )
    return list(rows)


async def external_id_seen(session: AsyncSession, *, channel: str, external_id: str) -> bool:
    found = await session.scalar(
        select(Message.id).where(Message.channel == channel, Message.external_id == external_id).limit(1)
    )
    return found is not None


async def button_title(session: AsyncSession, *, conversation_id: str, payload: str) -> str | None:
    """The title of the button with `payload` among the bot's last messages (what the resident
    pressed, as they saw it), or None when it was typed or is not there any more."""
    rows = await session.scalars(
        select(Message.payload)
        .where(Message.conversation_id == conversation_id, Message.direction == "out")
        .order_by(Message.id.desc())
        .limit(6)
    )
    for data in rows:
        for button in _buttons(data or {}):
            if button.get("payload") == payload and isinstance(button.get("title"), str):
                return str(button["title"])
    return None


def _buttons(data: dict[str, Any]) -> list[dict[str, Any]]:
    card = data.get("card") or {}
    return [b for b in [*(data.get("buttons") or []), *(card.get("buttons") or [])] if isinstance(b, dict)]
