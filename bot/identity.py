"""Who is writing: chat identities (web sender, LINE userId) linked to residents.

Until an identity is linked the person is anonymous. Links come from the residents import (demo
and test data, identities verified elsewhere) or from a one-time code that staff issue at the
counter. On the web only a sender the server issued (`issue_web_session`) can be linked with a
code, so a made-up or guessed `sender` never reaches a profile. Codes are stored hashed, expire,
are single-use, and attempts are rate-limited per chat identity and overall.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import ResidentResolver
from knowledge.residents import ChannelIdentity, LinkAttempt, LinkCode, Resident, WebSession, audit, utcnow

CODE_TTL = timedelta(minutes=30)
CODE_DIGITS = 6
MAX_FAILURES_PER_IDENTITY = 5  # per ATTEMPT_WINDOW
MAX_FAILURES_OVERALL = 200  # per ATTEMPT_WINDOW, all identities together (slows a distributed guesser)
ATTEMPT_WINDOW = timedelta(hours=1)
WEB_SESSION_PREFIX = "w-"

LinkOutcome = Literal["linked", "invalid", "rate_limited", "not_linkable"]


@dataclass(frozen=True)
class LinkResult:
    outcome: LinkOutcome
    resident_id: str | None = None


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def make_resolver(sessionmaker: async_sessionmaker) -> ResidentResolver:  # type: ignore[type-arg]
    """`services.resolve_resident(channel, sender_id)`: the linked resident's id, or None."""

    async def resolve(channel: str, sender_id: str) -> str | None:
        async with sessionmaker() as session:
            return await session.scalar(
                select(ChannelIdentity.resident_id).where(
                    ChannelIdentity.channel == channel, ChannelIdentity.user_id == sender_id
                )
            )

    return resolve


async def issue_web_session(sessionmaker: async_sessionmaker) -> str:  # type: ignore[type-arg]
    """A new unguessable web chat identity; only its hash is stored."""
    token = WEB_SESSION_PREFIX + secrets.token_urlsafe(24)
    async with sessionmaker() as session, session.begin():
        session.add(WebSession(token_hash=sha256(token), created_at=utcnow()))
    return token


async def is_linkable(session: AsyncSession, channel: str, user_id: str) -> bool:
    """LINE userIds come signed from LINE; web senders must be ones the server issued."""
    if channel == "line":
        return True
    if channel != "web":
        return False
    return await session.get(WebSession, sha256(user_id)) is not None


async def issue_link_code(session: AsyncSession, *, resident_id: str, staff_id: str) -> tuple[str, datetime] | None:
    """A fresh single-use code for `resident_id` (None when there is no such resident)."""
    if await session.get(Resident, resident_id) is None:
        return None
    now = utcnow()
    while True:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if await _active_code(session, code, now) is None:
            break
    expires = now + CODE_TTL
    session.add(LinkCode(resident_id=resident_id, code_hash=sha256(code), issued_by=staff_id, expires_at=expires))
    session.add(audit(actor=f"staff:{staff_id}", action="issue_code", why="link code", resident_id=resident_id))
    return code, expires


async def _active_code(session: AsyncSession, code: str, now: datetime) -> LinkCode | None:
    return await session.scalar(
        select(LinkCode)
        .where(LinkCode.code_hash == sha256(code), LinkCode.used_at.is_(None), LinkCode.expires_at > now)
        .limit(1)
    )


async def redeem_link_code(
    session: AsyncSession,
    *,
    channel: str,
    user_id: str,
    code: str,
    conversation_id: str,
) -> LinkResult:
    """Inside the caller's transaction (the turn's): attempts and the link commit with it."""
    now = utcnow()
    if not await is_linkable(session, channel, user_id):
        return LinkResult("not_linkable")
    if await _too_many_failures(session, channel, user_id, now):
        return LinkResult("rate_limited")
    row = await _active_code(session, code, now)
    session.add(LinkAttempt(channel=channel, user_id=user_id, success=row is not None, at=now))
    if row is None:
        return LinkResult("invalid")
    claimed = await session.execute(
        update(LinkCode).where(LinkCode.id == row.id, LinkCode.used_at.is_(None)).values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return LinkResult("invalid")  # redeemed concurrently by someone else
    await _bind(session, channel, user_id, row.resident_id, now)
    session.add(
        audit(
            actor="system",
            action="link",
            why=f"link code:{channel}",
            resident_id=row.resident_id,
            conversation_id=conversation_id,
        )
    )
    return LinkResult("linked", row.resident_id)


async def _too_many_failures(session: AsyncSession, channel: str, user_id: str, now: datetime) -> bool:
    since = now - ATTEMPT_WINDOW
    mine = await session.scalar(
        select(func.count()).where(
            LinkAttempt.channel == channel,
            LinkAttempt.user_id == user_id,
            LinkAttempt.success.is_(False),
            LinkAttempt.at > since,
        )
    )
    if (mine or 0) >= MAX_FAILURES_PER_IDENTITY:
        return True
    overall = await session.scalar(select(func.count()).where(LinkAttempt.success.is_(False), LinkAttempt.at > since))
    return (overall or 0) >= MAX_FAILURES_OVERALL


async def _bind(session: AsyncSession, channel: str, user_id: str, resident_id: str, now: datetime) -> None:
    row = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.channel == channel, ChannelIdentity.user_id == user_id)
    )
    row = row or ChannelIdentity(channel=channel, user_id=user_id)
    row.resident_id, row.linked_by, row.linked_at = resident_id, "code", now
    session.add(row)
