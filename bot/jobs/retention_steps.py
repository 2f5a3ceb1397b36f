"""The retention job's steps (bot/jobs/retention.py runs them): for each category, which rows the policy
no longer keeps and how they are erased, in batches of at most `batch_size` rows per transaction,
each delete repeating its conditions (rows locked on PostgreSQL, skipping those another transaction
holds). A dry run only counts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute, aliased

from bot.channels.line_store import OutboxRow, PendingEvent
from bot.store.db import Base
from bot.store.models import Conversation, Handoff, Message
from knowledge.bookings import Reservation
from knowledge.residents import LinkAttempt, LinkCode, WebSession

BATCH_SIZE = 1000
# the contact, the address, and a consultation's topic in the resident's own words (may concern
# health); `town`, items, fees and ages stay for statistics
PERSONAL_DETAIL_KEYS = ("contact", "address", "topic")
REMOVED_MARK = "personal_data_removed_at"
OPEN_HANDOFF = ("pending", "active")
FINISHED_OUTBOX = ("sent", "failed")

Counts = dict[str, int]
Sessionmaker = async_sessionmaker[AsyncSession]


CATEGORY_COUNTS: dict[str, tuple[str, ...]] = {
    "transcripts": ("conversations", "messages", "handoffs", "old_messages", "web_sessions"),
    "contacts": ("reservations_personal_data_removed",),
    "line": ("line_outbox", "stale_line_events"),
    "links": ("link_attempts", "link_codes"),
}


def _rowcount(result: Any) -> int:
    return max(cast(CursorResult[Any], result).rowcount, 0)


async def _count(sessionmaker: Sessionmaker, model: type[Base], *conditions: ColumnElement[bool]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


async def _in_batches(
    sessionmaker: Sessionmaker,
    key: InstrumentedAttribute[Any],
    conditions: Sequence[ColumnElement[bool]],
    batch_size: int,
    work: Callable[[AsyncSession, list[Any]], Awaitable[int]],
) -> None:
    """Pick up to `batch_size` keys of rows matching `conditions` (locked on PostgreSQL, skipping
    rows another transaction holds), hand them to `work` in the same transaction, commit, repeat
    until none is left or a batch changes nothing."""
    pick = select(key).where(*conditions).order_by(key).limit(batch_size).with_for_update(skip_locked=True)
    while True:
        async with sessionmaker() as session, session.begin():
            keys = list(await session.scalars(pick))
            changed = await work(session, keys) if keys else 0
        if len(keys) < batch_size or changed == 0:
            return


async def _delete_old(
    sessionmaker: Sessionmaker,
    model: type[Base],
    key: InstrumentedAttribute[Any],
    conditions: Sequence[ColumnElement[bool]],
    counts: Counts,
    name: str,
    *,
    apply: bool,
    batch_size: int,
) -> None:
    """Count or delete the rows of `model` matching `conditions` into `counts[name]`."""
    if not apply:
        counts[name] = await _count(sessionmaker, model, *conditions)
        return

    async def work(session: AsyncSession, keys: list[Any]) -> int:
        deleted = _rowcount(await session.execute(delete(model).where(key.in_(keys), *conditions)))
        counts[name] += deleted
        return deleted

    await _in_batches(sessionmaker, key, conditions, batch_size, work)


async def erase_transcripts(
    sessionmaker: Sessionmaker, cutoff: datetime, counts: Counts, *, apply: bool, batch_size: int
) -> None:
    open_handoff = aliased(Handoff)  # an alias: the subquery also sits inside DELETE FROM handoffs
    expired = (
        Conversation.updated_at < cutoff,
        Conversation.status == "bot",
        ~exists()
        .where(open_handoff.conversation_id == Conversation.id, open_handoff.status.in_(OPEN_HANDOFF))
        .correlate(Conversation),
    )
    if not apply:
        ids = select(Conversation.id).where(*expired)
        counts["conversations"] = await _count(sessionmaker, Conversation, *expired)
        counts["messages"] = await _count(sessionmaker, Message, Message.conversation_id.in_(ids))
        counts["handoffs"] = await _count(sessionmaker, Handoff, Handoff.conversation_id.in_(ids))
    else:

        async def work(session: AsyncSession, keys: list[Any]) -> int:
            # Children first (whether or not the database cascades), each statement re-checking
            # that the conversation still qualifies.
            still = select(Conversation.id).where(Conversation.id.in_(keys), *expired)
            for model, column, name in (
                (Message, Message.conversation_id, "messages"),
                (Handoff, Handoff.conversation_id, "handoffs"),
            ):
                counts[name] += _rowcount(await session.execute(delete(model).where(column.in_(still))))
            gone = _rowcount(await session.execute(delete(Conversation).where(Conversation.id.in_(keys), *expired)))
            counts["conversations"] += gone
            return gone

        await _in_batches(sessionmaker, Conversation.id, expired, batch_size, work)
    # A conversation id is "<channel>:<sender>": a resident who writes once a year keeps it alive
    # for ever. Their messages older than the cutoff go all the same (not while staff are involved).
    live_with_bot = select(Conversation.id).where(
        Conversation.updated_at >= cutoff,  # the expired ones are the step above (dry run: not counted twice)
        Conversation.status == "bot",
        ~exists()
        .where(open_handoff.conversation_id == Conversation.id, open_handoff.status.in_(OPEN_HANDOFF))
        .correlate(Conversation),
    )
    await _delete_old(
        sessionmaker,
        Message,
        Message.id,
        (Message.created_at < cutoff, Message.conversation_id.in_(live_with_bot)),
        counts,
        "old_messages",
        apply=apply,
        batch_size=batch_size,
    )
    await _delete_old(
        sessionmaker,
        WebSession,
        WebSession.token_hash,
        (WebSession.created_at < cutoff,),
        counts,
        "web_sessions",
        apply=apply,
        batch_size=batch_size,
    )


def strip_personal(details: Any, removed_on: date) -> dict[str, Any]:
    """A reservation's details without the contact and address, marked with the date."""
    kept = {k: v for k, v in details.items() if k not in PERSONAL_DETAIL_KEYS} if isinstance(details, dict) else {}
    kept[REMOVED_MARK] = removed_on.isoformat()
    return kept


async def erase_contacts(
    sessionmaker: Sessionmaker, cutoff: date, today: date, counts: Counts, *, apply: bool, batch_size: int
) -> None:
    name = "reservations_personal_data_removed"
    due = (Reservation.service_date < cutoff, Reservation.details[REMOVED_MARK].as_string().is_(None))
    if not apply:
        counts[name] = await _count(sessionmaker, Reservation, *due)
        return

    async def work(session: AsyncSession, keys: list[Any]) -> int:
        rows = await session.execute(select(Reservation.id, Reservation.details).where(Reservation.id.in_(keys)))
        changes = [{"id": row.id, "details": strip_personal(row.details, today)} for row in rows]
        if changes:
            await session.execute(update(Reservation), changes)  # ORM bulk UPDATE by primary key
        counts[name] += len(changes)
        return len(changes)

    await _in_batches(sessionmaker, Reservation.id, due, batch_size, work)


async def erase_line(
    sessionmaker: Sessionmaker, cutoff: datetime, counts: Counts, *, apply: bool, batch_size: int
) -> None:
    finished = (OutboxRow.status.in_(FINISHED_OUTBOX), OutboxRow.created_at < cutoff)
    await _delete_old(
        sessionmaker, OutboxRow, OutboxRow.id, finished, counts, "line_outbox", apply=apply, batch_size=batch_size
    )
    stale = (PendingEvent.received_at < cutoff,)
    await _delete_old(
        sessionmaker,
        PendingEvent,
        PendingEvent.webhook_event_id,
        stale,
        counts,
        "stale_line_events",
        apply=apply,
        batch_size=batch_size,
    )


async def erase_links(
    sessionmaker: Sessionmaker, cutoff: datetime, now: datetime, counts: Counts, *, apply: bool, batch_size: int
) -> None:
    attempts = (LinkAttempt.at < cutoff,)
    await _delete_old(
        sessionmaker, LinkAttempt, LinkAttempt.id, attempts, counts, "link_attempts", apply=apply, batch_size=batch_size
    )
    spent = (LinkCode.issued_at < cutoff, or_(LinkCode.used_at.is_not(None), LinkCode.expires_at < now))
    await _delete_old(
        sessionmaker, LinkCode, LinkCode.id, spent, counts, "link_codes", apply=apply, batch_size=batch_size
    )
