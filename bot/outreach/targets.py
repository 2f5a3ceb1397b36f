"""Which notices are due at a time: residents' profiles and reservations made in chat, read in a
few queries. Nothing is written here (bot/outreach/send.py claims and writes)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.identity import link_counts
from bot.store.models import Message
from knowledge.bookings import CONFIRMED, Reservation
from knowledge.outreach_rules import OutreachRule
from knowledge.residents import ChannelIdentity, Consent, Resident, age_on
from knowledge.suggestions import Member


@dataclass(slots=True)
class Notice:
    rule: OutreachRule
    key: str  # unique per (rule, recipient, occurrence): the claim in outreach_deliveries
    resident_id: str | None
    values: dict[str, str] = field(default_factory=dict)  # {date}, {number} in the rule's text
    channel: str | None = None
    sender_id: str | None = None
    blocked: str | None = None  # a skip reason found while targeting (no_consent, no_channel, deceased)

    @property
    def conversation_id(self) -> str | None:
        return f"{self.channel}:{self.sender_id}" if self.channel and self.sender_id else None


async def due_notices(
    db: AsyncSession, rules: list[OutreachRule], today: date, *, demo_mode: bool, line_ready: bool
) -> list[Notice]:
    notices = await _profile_notices(db, [r for r in rules if r.uses_profile], today, demo_mode=demo_mode)
    notices += await _reservation_notices(db, [r for r in rules if not r.uses_profile], today)
    await choose_channels(db, notices, demo_mode=demo_mode, line_ready=line_ready)
    return notices


async def _profile_notices(
    db: AsyncSession, rules: list[OutreachRule], today: date, *, demo_mode: bool
) -> list[Notice]:
    if not rules:
        return []
    consented = set(
        await db.scalars(select(Consent.resident_id).where(Consent.scope == "outreach", Consent.status == "given"))
    )
    linked = set(await db.scalars(select(ChannelIdentity.resident_id)))
    recipients = consented | linked
    if not recipients:
        return []
    me_rows = (await db.scalars(select(Resident).where(Resident.id.in_(recipients)))).all()
    households = {r.household_id for r in me_rows}
    members: dict[str, list[Resident]] = defaultdict(list)
    for row in (await db.scalars(select(Resident).where(Resident.household_id.in_(households)))).all():
        members[row.household_id].append(row)
    notices: list[Notice] = []
    for me in sorted(me_rows, key=lambda r: r.id):
        blocked = "deceased" if me.death_date else ("no_consent" if me.id not in consented else None)
        for rule in rules:
            for m in members[me.household_id]:
                occurrence = _occurrence(rule, me, m, today)
                if occurrence is not None:
                    key = f"{rule.id}|resident:{me.id}|{m.id}|{occurrence}"
                    notices.append(Notice(rule, key, me.id, {"date": _japanese(occurrence)}, blocked=blocked))
    return notices


def as_member(me: Resident, m: Resident, today: date) -> Member:
    """A living household member as the rules' conditions see it (from `me`'s point of view)."""
    return Member(
        is_self=m.id == me.id,
        age=age_on(m.birth_date, today),
        relation=m.relation_to_head,
        care_level=m.care_level,
        days_since_death=None,
    )


def _occurrence(rule: OutreachRule, me: Resident, m: Resident, today: date) -> str | None:
    if m.death_date is not None or rule.member is None:
        return None
    if not rule.member.holds(as_member(me, m, today)):
        return None
    dates = {"care_level_valid_until": m.care_level_valid_until}
    return rule.member_occurrence(birth_date=m.birth_date, dates=dates, today=today)


async def _reservation_notices(db: AsyncSession, rules: list[OutreachRule], today: date) -> list[Notice]:
    by_kind = {r.reservation_kind: r for r in rules}
    if not by_kind:
        return []
    horizon = today + timedelta(days=max(r.days_before for r in rules))
    rows = await db.scalars(
        select(Reservation).where(
            Reservation.status == CONFIRMED,
            Reservation.kind.in_(list(by_kind)),
            Reservation.service_date > today,
            Reservation.service_date <= horizon,
        )
    )
    notices = []
    for res in rows:
        rule = by_kind[res.kind]
        if not rule.reservation_due(res.service_date, today):
            continue
        channel, _, sender = res.conversation_id.partition(":")
        values = {"date": _japanese(res.service_date.isoformat()), "number": res.number}
        key = f"{rule.id}|reservation:{res.number}"
        notices.append(Notice(rule, key, res.resident_id, values, channel=channel, sender_id=sender or None))
    return notices


async def choose_channels(db: AsyncSession, notices: list[Notice], *, demo_mode: bool, line_ready: bool) -> None:
    """A chat to reach each recipient on: LINE first (not after an unfollow), else the web chat."""
    residents = {n.resident_id for n in notices if n.resident_id and n.channel is None}
    links: dict[str, list[Any]] = defaultdict(list)
    if residents:
        rows = await db.execute(
            select(
                ChannelIdentity.resident_id, ChannelIdentity.channel, ChannelIdentity.user_id, ChannelIdentity.linked_by
            )
            .where(ChannelIdentity.resident_id.in_(residents))
            .order_by(ChannelIdentity.id)
        )
        for rid, channel, user_id, linked_by in rows:
            if link_counts(channel, linked_by, demo_mode=demo_mode):
                links[rid].append((channel, user_id))
    unfollowed = await _unfollowed(
        db,
        {u for ls in links.values() for c, u in ls if c == "line"}
        | {n.sender_id for n in notices if n.channel == "line" and n.sender_id},
    )
    for n in notices:
        if n.channel is None:
            usable = [(c, u) for c, u in links.get(n.resident_id or "", []) if _reachable(c, u, line_ready, unfollowed)]
            usable.sort(key=lambda cu: cu[0] != "line")
            if usable:
                n.channel, n.sender_id = usable[0]
        elif not _reachable(n.channel, n.sender_id or "", line_ready, unfollowed):
            n.channel = n.sender_id = None
        if n.channel is None and n.blocked is None:
            n.blocked = "no_channel"


def _reachable(channel: str, user_id: str, line_ready: bool, unfollowed: set[str]) -> bool:
    if channel == "line":
        return line_ready and user_id not in unfollowed
    return channel == "web"


async def _unfollowed(db: AsyncSession, line_users: set[str]) -> set[str]:
    """LINE users whose last follow/unfollow event is an unfollow (they blocked the account)."""
    if not line_users:
        return set()
    rows = await db.execute(
        select(Message.conversation_id, Message.intent)
        .where(
            Message.conversation_id.in_([f"line:{u}" for u in line_users]),
            Message.intent.in_(["follow", "event_unfollow"]),
        )
        .order_by(Message.id)
    )
    last: dict[str, str | None] = {}
    for conv, intent in rows:
        last[conv.partition(":")[2]] = intent
    return {u for u, intent in last.items() if intent == "event_unfollow"}


def _japanese(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"
