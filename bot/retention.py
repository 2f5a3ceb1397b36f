"""`python -m bot.retention [--apply] [--now ISO]`: erase personal data older than the retention policy.

個人情報保護法 expects personal data that is no longer needed to be erased without delay; how long
each kind is needed is the municipality's decision, so every period is a setting (in days; 0 keeps
that category forever). Run daily (`deploy/madoguchi-retention.timer`). Without `--apply` it is a
dry run: it counts what would go and changes nothing. It prints one JSON object (counts per
category, the cutoffs, `"applied"`); the log carries counts only, never a text, name, phone or id.

- RETENTION_TRANSCRIPT_DAYS (365): conversations last updated before the cutoff, with their
  messages and handoffs, but only conversations back with the bot (status "bot") and without a
  pending or active handoff: one waiting for or talking to staff is kept however old. In the
  conversations that stay (a resident who writes again keeps the same id), messages older than the
  cutoff go too (`old_messages`), on the same condition. Web chat sessions (`web_sessions`) issued
  before the same cutoff go too.
- RETENTION_CONTACT_DAYS (90): reservations whose service date is more than N days before today
  (in TIMEZONE) lose the contact's name and phone (`details.contact`), the address
  (`details.address`) and a consultation's topic (`details.topic`); the row and the rest of its details (number, kind, status, dates, fee,
  items, town …) stay for statistics and for numbers quoted on the phone.
  `details.personal_data_removed_at` (the date) marks a row as done, so later runs skip it.
- RETENTION_LINE_DAYS (30): LINE outbox rows sent or failed (never pending ones) and webhook events
  received before the cutoff and never processed (`stale_line_events`: there should be none; when
  there are, an operator should find out why).
- RETENTION_LINK_DAYS (30): code attempts (`link_attempts`), and link codes used or expired,
  issued before the cutoff.

Not touched: `residents`, `households`, `consents`, `channel_identities`, `interactions`,
`suggestion_records` and `audit_log`. The resident record and the audit of who read or changed it
follow the municipality's records-management rules (文書管理規程, 保存期間), not this job.

Each category runs in its own transactions, at most BATCH_SIZE rows per transaction, so a first run
on a large table never holds one huge transaction; a category that fails is reported (and the exit
code is 1) while the others still run. Every delete repeats its conditions, and on PostgreSQL the
rows of a batch are locked (rows another transaction holds are skipped until the next run), so a
conversation that comes back to life while the job runs is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, CursorResult, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute, aliased

from bot.channels.line_outbox import OutboxRow, PendingEvent
from bot.db import Base, make_async_engine, make_sessionmaker, migrate
from bot.jobs_lock import run_once
from bot.logs import configure, mask
from bot.models import Conversation, Handoff, Message
from bot.settings import Settings
from knowledge.bookings import Reservation
from knowledge.residents import LinkAttempt, LinkCode, WebSession

# `python -m bot.retention` runs this file as __main__; its records still belong under "bot"
log = logging.getLogger("bot.retention" if __name__ == "__main__" else __name__)

BATCH_SIZE = 1000
# the contact, the address, and a consultation's topic in the resident's own words (may concern
# health); `town`, items, fees and ages stay for statistics
PERSONAL_DETAIL_KEYS = ("contact", "address", "topic")
REMOVED_MARK = "personal_data_removed_at"
OPEN_HANDOFF = ("pending", "active")
FINISHED_OUTBOX = ("sent", "failed")

Counts = dict[str, int]
Sessionmaker = async_sessionmaker[AsyncSession]


@dataclass(frozen=True, slots=True)
class Policy:
    """Days each category is kept; 0 keeps it forever. `timezone` decides what "today" is."""

    transcript_days: int = 365
    contact_days: int = 90
    line_days: int = 30
    link_days: int = 30
    timezone: str = "Asia/Tokyo"

    def __post_init__(self) -> None:
        for name in ("transcript_days", "contact_days", "line_days", "link_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 (keep forever) or more")

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            transcript_days=settings.retention_transcript_days,
            contact_days=settings.retention_contact_days,
            line_days=settings.retention_line_days,
            link_days=settings.retention_link_days,
            timezone=settings.timezone,
        )


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


async def _transcripts(
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


async def _contacts(
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


async def _line(sessionmaker: Sessionmaker, cutoff: datetime, counts: Counts, *, apply: bool, batch_size: int) -> None:
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


async def _links(
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


def _reason(exc: Exception) -> str:
    """The first line of the database's own message: SQLAlchemy's text adds the statement and its
    bound values (conversation ids carry sender ids), PostgreSQL's DETAIL line key values."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return mask(lines[0])[:200] if lines else ""


def _before(now: datetime, days: int) -> datetime | None:
    # UTC: SQLite stores DateTime(timezone=True) as naive UTC text (the app writes utcnow())
    return None if days == 0 else (now - timedelta(days=days)).astimezone(UTC)


async def purge(
    sessionmaker: Sessionmaker, policy: Policy, now: datetime, apply: bool, *, batch_size: int = BATCH_SIZE
) -> dict[str, Any]:
    """Count (dry run) or erase (`apply`) what the policy no longer keeps at `now` (timezone-aware).

    Returns {"applied", "now", "policy", "cutoffs", "counts", "errors"}: cutoffs are None for a
    category kept forever; errors maps a category that failed to the exception's class name.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    tz = ZoneInfo(policy.timezone)
    today = now.astimezone(tz).date()
    now_utc = now.astimezone(UTC)
    transcripts = _before(now, policy.transcript_days)
    line = _before(now, policy.line_days)
    links = _before(now, policy.link_days)
    contacts = today - timedelta(days=policy.contact_days) if policy.contact_days else None

    jobs: dict[str, Callable[[Counts], Awaitable[None]] | None] = dict.fromkeys(CATEGORY_COUNTS)
    if transcripts is not None:
        jobs["transcripts"] = partial(_transcripts, sessionmaker, transcripts, apply=apply, batch_size=batch_size)
    if contacts is not None:
        jobs["contacts"] = partial(_contacts, sessionmaker, contacts, today, apply=apply, batch_size=batch_size)
    if line is not None:
        jobs["line"] = partial(_line, sessionmaker, line, apply=apply, batch_size=batch_size)
    if links is not None:
        jobs["links"] = partial(_links, sessionmaker, links, now_utc, apply=apply, batch_size=batch_size)
    counts: Counts = {}
    errors: dict[str, str] = {}
    for category, job in jobs.items():
        found = dict.fromkeys(CATEGORY_COUNTS[category], 0)
        if job is not None:
            try:
                await job(found)  # counts what is done batch by batch: a failure keeps the tally so far
            except Exception as exc:  # one failing category must not stop the others
                errors[category] = type(exc).__name__
                log.error("retention %s failed", category, extra={"error": type(exc).__name__, "detail": _reason(exc)})
        counts.update(found)
        log.info(
            "retention %s: %s",
            category,
            "erased" if apply else "dry run",
            extra={"category": category, "applied": apply, "counts": found, "kept_forever": job is None},
        )

    def shown(value: datetime | date | None) -> str | None:
        if isinstance(value, datetime):
            return value.astimezone(tz).isoformat()
        return value.isoformat() if value is not None else None

    return {
        "applied": apply,
        "now": now.astimezone(tz).isoformat(),
        "policy": {k: v for k, v in asdict(policy).items() if k != "timezone"},
        "cutoffs": {
            "transcripts": shown(transcripts),
            "contacts": shown(contacts),
            "line": shown(line),
            "links": shown(links),
        },
        "counts": counts,
        "errors": errors,
    }


def _parse_now(value: str, timezone: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(timezone))


async def _run(settings: Settings, now: datetime, apply: bool) -> dict[str, Any]:
    engine = make_async_engine(settings.resolved_database_url)
    try:
        return await purge(make_sessionmaker(engine), Policy.from_settings(settings), now, apply)
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.retention",
        description="Erase personal data older than the RETENTION_* settings (a dry run unless --apply).",
    )
    parser.add_argument("--apply", action="store_true", help="erase; without it, only count what would go")
    parser.add_argument(
        "--now",
        metavar="ISO",
        help="apply the policy as at this time, e.g. 2026-11-27T12:00:00+09:00 (no offset: TIMEZONE);"
        " with --apply it may not be in the future",
    )
    args = parser.parse_args(argv)
    settings = Settings()
    configure(settings.log_level)
    try:
        now = _parse_now(args.now, settings.timezone) if args.now else datetime.now(UTC)
    except ValueError:
        parser.error(f"--now: not an ISO date-time: {args.now!r}")
    if args.apply and now > datetime.now(UTC) + timedelta(minutes=5):
        parser.error("--apply with a --now in the future would erase data before its period ends")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with run_once(settings, "retention") as mine:  # two runs at once (several hosts' timers): one works
        if not mine:
            print(json.dumps({"skipped": "another retention run holds the lock"}))
            return 0
        migrate(settings.resolved_database_url)  # idempotent; the tables must be at head
        result = asyncio.run(_run(settings, now, args.apply))
    print(json.dumps(result, ensure_ascii=False))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
