"""Run the outreach rules at a time: claim each due notice once and write it out.

A notice is claimed by inserting its key into `outreach_deliveries` (unique): whichever run or
worker inserts it first sends it, in the same transaction that writes the bot message into the
resident's conversation (the widget shows it, at once when open) and, on LINE, the push row of the
outbox (delivered with `X-Line-Retry-Key`, retried with backoff). Nothing in quiet hours; at most
`outreach_max_per_week` notices to one resident in seven days.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine.events import Button, Reply
from bot.engine.transcript import TranscriptEntry, append_messages, ensure_conversation
from bot.engine.turn import payload
from bot.outreach.targets import Notice, due_notices
from bot.settings import Settings
from knowledge.notices import ALL_TOPICS, NoticeOptout, OutreachDelivery, subjects
from knowledge.outreach_rules import OutreachRule

log = logging.getLogger(__name__)

SKIPS = ("no_consent", "opted_out", "quiet_hours", "already_sent", "no_channel", "weekly_limit", "deceased")
STOP_LINE = "（{why}お送りしました。止めるときは「お知らせを止めて」と送ってください）"

OutboxWriter = Callable[[AsyncSession, str, list[Reply]], Awaitable[None]]


@dataclass
class OutreachRun:
    """What one run needs: the database, the rules and the channels' writers (LINE outbox rows)."""

    settings: Settings
    sessionmaker: async_sessionmaker  # type: ignore[type-arg]
    rules: list[OutreachRule]
    writers: dict[str, OutboxWriter] = field(default_factory=dict)
    written: list[tuple[str, str, str, Reply]] = field(default_factory=list)  # (rule id, channel, sender, notice)


def empty_counts() -> dict[str, Any]:
    return {"due": 0, "sent": 0, "failed": 0, "skipped": dict.fromkeys(SKIPS, 0)}


def in_quiet_hours(settings: Settings, now: datetime) -> bool:
    hour = now.astimezone(ZoneInfo(settings.timezone)).hour
    start, end = settings.outreach_quiet_start_hour, settings.outreach_quiet_end_hour
    return hour >= start or hour < end if start > end else start <= hour < end


async def run_rules(run: OutreachRun, now: datetime, *, dry_run: bool = False) -> dict[str, Any]:
    """Evaluate every rule at `now`; returns CONTRACTS §7's object (`sent` counts notices written;
    the caller may turn LINE rows that failed to deliver into `failed`)."""
    settings = run.settings
    local = now.astimezone(ZoneInfo(settings.timezone))
    counts = {rule.id: empty_counts() for rule in run.rules}
    async with run.sessionmaker() as db:
        notices = await due_notices(
            db, run.rules, local.date(), demo_mode=settings.demo_mode, line_ready="line" in run.writers
        )
    await process(run, notices, now, counts, dry_run=dry_run)
    result: dict[str, Any] = {"now": local.isoformat(), "rules": counts}
    if dry_run:
        result["dry_run"] = True
    return result


async def process(
    run: OutreachRun, notices: list[Notice], now: datetime, counts: dict[str, Any], *, dry_run: bool = False
) -> None:
    """Skip, or claim and write, each notice; `counts[rule id]` gets the outcome."""
    quiet = in_quiet_hours(run.settings, now)
    for notice in notices:
        c = counts.setdefault(notice.rule.id, empty_counts())
        c["due"] += 1
        reason = await skip_reason(run, notice, now, quiet=quiet)
        if reason is None and not dry_run:
            reason = await _claim_and_write(run, notice, now)
        if reason is None:
            c["sent"] += 1
        else:
            c["skipped"][reason] += 1


async def skip_reason(run: OutreachRun, notice: Notice, now: datetime, *, quiet: bool) -> str | None:
    if notice.blocked:
        return notice.blocked
    keys = subjects(resident_id=notice.resident_id, conversation_id=notice.conversation_id)
    async with run.sessionmaker() as db:
        if await db.scalar(select(OutreachDelivery.id).where(OutreachDelivery.dedupe_key == notice.key)):
            return "already_sent"
        stopped = await db.scalar(
            select(NoticeOptout.id)
            .where(NoticeOptout.subject.in_(keys), NoticeOptout.topic.in_([notice.rule.topic, ALL_TOPICS]))
            .limit(1)
        )
        if stopped:
            return "opted_out"
        if quiet:
            return "quiet_hours"
        week = await db.scalar(
            select(func.count(OutreachDelivery.id)).where(
                OutreachDelivery.subject.in_(keys), OutreachDelivery.created_at >= now - timedelta(days=7)
            )
        )
        if (week or 0) >= run.settings.outreach_max_per_week:
            return "weekly_limit"
    return None


def notice_reply(notice: Notice) -> Reply:
    rule = notice.rule
    text = rule.text.format_map(_Values(notice.values)) + "\n" + STOP_LINE.format(why=_because(rule.why))
    buttons = tuple(Button(b.title, b.payload) for b in rule.buttons)
    stop = Button("このお知らせを止める", payload("notice_settings", notice_action="stop", notice_topic=rule.topic))
    return Reply(text=text, buttons=(*buttons, stop), custom={"notice": {"rule": rule.id, "topic": rule.topic}})


async def _claim_and_write(run: OutreachRun, notice: Notice, now: datetime) -> str | None:
    assert notice.channel and notice.sender_id
    reply = notice_reply(notice)
    subject = subjects(resident_id=notice.resident_id, conversation_id=notice.conversation_id)[0]
    async with run.sessionmaker() as db, db.begin():
        insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
        claimed = await db.scalar(
            insert(OutreachDelivery)
            .values(
                dedupe_key=notice.key,
                rule_id=notice.rule.id,
                topic=notice.rule.topic,
                subject=subject,
                conversation_id=notice.conversation_id,
                channel=notice.channel,
                status="sent" if notice.channel == "web" else "queued",
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OutreachDelivery.id)
        )
        if claimed is None:  # another run or worker got there first
            return "already_sent"
        conv = await ensure_conversation(
            db, conversation_id=notice.conversation_id or "", channel=notice.channel, sender_id=notice.sender_id
        )
        data = reply.to_dict()
        data.pop("text", None)
        data.pop("sender", None)
        await append_messages(
            db,
            conversation=conv,
            entries=[TranscriptEntry(direction="out", author="bot", text=reply.text, payload=data)],
        )
        writer = run.writers.get(notice.channel)
        if writer is not None:
            await writer(db, notice.sender_id, [reply])
    run.written.append((notice.rule.id, notice.channel, notice.sender_id, reply))
    log.info("notice written", extra={"rule": notice.rule.id, "channel": notice.channel})
    return None


def _because(why: str) -> str:
    return why + "、"


class _Values(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""
