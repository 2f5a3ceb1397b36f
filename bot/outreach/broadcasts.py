"""Staff broadcasts (一斉のお知らせ): a notice to a segment of residents (the rules' member
conditions, plus a part of the address such as 「中央」), composed by one staff member and sent
only after a second approves it (four-eyes). Each resident gets it once (the outreach claim key),
only with `outreach` consent, never after an opt-out, never in quiet hours (then the scheduler
sends it at its next run in hours)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.outreach.send import OutreachRun, empty_counts, in_quiet_hours, process, skip_reason
from bot.outreach.targets import Notice, as_member, choose_channels
from bot.store.db import Base
from knowledge.notices import utcnow
from knowledge.outreach_rules import OutreachRule
from knowledge.residents import ChannelIdentity, Consent, Household, Resident
from knowledge.suggestions import MemberCondition, member_condition

TOPIC = "broadcast"
WHY = "区からのお知らせを受け取る設定（同意）をいただいているため"


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    segment: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))  # pending | approved | sent | rejected
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


@dataclass(frozen=True, slots=True)
class Segment:
    member: MemberCondition
    address_contains: str = ""

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Segment:
        """RuleError (naming the condition) for anything the rules do not know."""
        member = member_condition(raw.get("member") or {"include_self": True}, "segment")
        return cls(member, str(raw.get("address_contains") or "").strip())


def as_rule(broadcast_id: int, text: str) -> OutreachRule:
    escaped = text.replace("{", "{{").replace("}", "}}")
    return OutreachRule(
        id=f"broadcast-{broadcast_id}", topic=TOPIC, consent="outreach", text=escaped, why=WHY, buttons=()
    )


async def segment_notices(
    db: AsyncSession, rule: OutreachRule, segment: Segment, today: Any, *, demo_mode: bool, line_ready: bool
) -> list[Notice]:
    """One notice per resident whose household matches (consent and channel are checked later)."""
    consented = set(
        await db.scalars(select(Consent.resident_id).where(Consent.scope == "outreach", Consent.status == "given"))
    )
    linked = set(await db.scalars(select(ChannelIdentity.resident_id)))
    query = select(Resident, Household.address).join(Household, Household.id == Resident.household_id)
    if segment.address_contains:
        query = query.where(Household.address.contains(segment.address_contains))
    members: dict[str, list[Resident]] = defaultdict(list)
    for resident, _address in (await db.execute(query)).all():
        members[resident.household_id].append(resident)
    notices = []
    for household in members.values():
        living = [m for m in household if m.death_date is None]
        for me in living:
            if (me.id in consented or me.id in linked) and any(
                segment.member.holds(as_member(me, m, today)) for m in living
            ):
                blocked = None if me.id in consented else "no_consent"
                notices.append(Notice(rule, f"{rule.id}|resident:{me.id}", me.id, blocked=blocked))
    await choose_channels(db, notices, demo_mode=demo_mode, line_ready=line_ready)
    return notices


async def preview(run: OutreachRun, rule: OutreachRule, segment: Segment, now: datetime) -> dict[str, Any]:
    """How many it would reach now, and why the others are left out."""
    async with run.sessionmaker() as db:
        notices = await segment_notices(
            db, rule, segment, now.date(), demo_mode=run.settings.demo_mode, line_ready="line" in run.writers
        )
    counts = empty_counts()
    for notice in notices:
        reason = await skip_reason(run, notice, now, quiet=False)
        if reason is None:
            counts["sent"] += 1
        else:
            counts["skipped"][reason] += 1
    skipped = {k: v for k, v in counts["skipped"].items() if v}
    return {"matched": len(notices), "reach": counts["sent"], "skipped": skipped}


async def send(run: OutreachRun, broadcast: Broadcast, now: datetime) -> dict[str, Any] | None:
    """Send an approved broadcast; None (still approved) in quiet hours."""
    if in_quiet_hours(run.settings, now):
        return None
    rule = as_rule(broadcast.id, broadcast.text)
    async with run.sessionmaker() as db:
        notices = await segment_notices(
            db,
            rule,
            Segment.parse(broadcast.segment),
            now.date(),
            demo_mode=run.settings.demo_mode,
            line_ready="line" in run.writers,
        )
    counts: dict[str, Any] = {rule.id: empty_counts()}
    await process(run, notices, now, counts)
    return counts[rule.id]
