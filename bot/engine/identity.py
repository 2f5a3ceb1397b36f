"""Who is writing: chat identities (web sender, LINE userId) linked to residents.

Until an identity is linked the person is anonymous. Links come from the residents import or
from a one-time code that staff issue at the counter (`channel_identities.linked_by`). Which links
count (CONTRACTS §4): a LINE link always (LINE signs every webhook, so its userId is LINE's word);
a code link always (on the web only a sender the server issued, `issue_web_session`, can redeem a
code); an imported **web** link only in demo mode — in production a client-chosen `sender` such as
`demo-hanako` must reach nobody. Codes are stored as keyed HMACs, expire, are single-use, and
attempts are rate-limited per identity, per code value and per client address (bot/engine/link_limits.py).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine.link_limits import (
    MAX_FAILURES_PER_ADDRESS,
    MAX_FAILURES_PER_CODE,
    MAX_FAILURES_PER_IDENTITY,
    AttemptKeys,
    code_hash,
    code_is_burnt,
    keyed,
    too_many_failures,
)
from bot.engine.services import ResidentResolver
from knowledge.residents import ChannelIdentity, LinkCode, Resident, WebSession, audit, utcnow

__all__ = ["MAX_FAILURES_PER_ADDRESS", "MAX_FAILURES_PER_CODE", "MAX_FAILURES_PER_IDENTITY"]

CODE_TTL = timedelta(minutes=30)
CODE_DIGITS = 6
WEB_SESSION_PREFIX = "w-"

LinkOutcome = Literal["linked", "invalid", "rate_limited", "not_linkable"]


@dataclass(frozen=True)
class LinkResult:
    outcome: LinkOutcome
    resident_id: str | None = None


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def link_counts(channel: str, linked_by: str, *, demo_mode: bool) -> bool:
    """Whether a link made this way identifies the resident on this channel."""
    if linked_by == "code":
        return True
    return linked_by == "import" and (channel == "line" or demo_mode)


def make_resolver(sessionmaker: async_sessionmaker, *, demo_mode: bool) -> ResidentResolver:  # type: ignore[type-arg]
    """`services.resolve_resident(channel, sender_id)`: the linked resident's id, or None."""

    async def resolve(
        channel: str,
        sender_id: str,
        *,
        session: AsyncSession | None = None,
        link: tuple[str | None, str | None] | None = None,
    ) -> str | None:
        """From `link` when the caller read it already (a turn, with its conversation row), else in
        the turn's own session when given (a turn must not hold one connection and wait for a
        second from the same pool), else in a short one of its own."""
        if link is None:
            query = select(ChannelIdentity.resident_id, ChannelIdentity.linked_by).where(
                ChannelIdentity.channel == channel, ChannelIdentity.user_id == sender_id
            )
            if session is not None:
                found = (await session.execute(query)).first()
            else:
                async with sessionmaker() as own:
                    found = (await own.execute(query)).first()
            link = (None, None) if found is None else (found.resident_id, found.linked_by)
        resident_id, linked_by = link
        if resident_id is None or linked_by is None or not link_counts(channel, linked_by, demo_mode=demo_mode):
            return None
        return resident_id

    return resolve


async def issue_web_session(sessionmaker: async_sessionmaker) -> str:  # type: ignore[type-arg]
    """A new unguessable web chat identity; only its hash is stored.

    Plain SHA-256 is enough here (unlike link codes): the token carries 192 random bits, so a dump
    cannot be reversed by trying values, and the lookup needs no secret."""
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


async def issue_link_code(
    session: AsyncSession, *, resident_id: str, staff_id: str, secret: bytes
) -> tuple[str, datetime] | None:
    """A fresh single-use code for `resident_id` (None when there is no such resident).

    Never a value that is live already or that guessers have burnt (too many recent failures with
    it): its holder could not redeem it."""
    if await session.get(Resident, resident_id) is None:
        return None
    now = utcnow()
    while True:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if await _active_code(session, secret, code, now) is None and not await code_is_burnt(
            session, keyed(secret, "attempt-code", code), now
        ):
            break
    expires = now + CODE_TTL
    session.add(
        LinkCode(resident_id=resident_id, code_hash=code_hash(secret, code), issued_by=staff_id, expires_at=expires)
    )
    session.add(audit(actor=f"staff:{staff_id}", action="issue_code", why="link code", resident_id=resident_id))
    return code, expires


async def _active_code(session: AsyncSession, secret: bytes, code: str, now: datetime) -> LinkCode | None:
    return await session.scalar(
        select(LinkCode)
        .where(LinkCode.code_hash == code_hash(secret, code), LinkCode.used_at.is_(None), LinkCode.expires_at > now)
        .limit(1)
    )


async def redeem_link_code(
    session: AsyncSession,
    *,
    secret: bytes,
    channel: str,
    user_id: str,
    code: str,
    conversation_id: str,
    client_address: str | None = None,
) -> LinkResult:
    """Inside the caller's transaction (the turn's): attempts and the link commit with it."""
    now = utcnow()
    keys = AttemptKeys.of(secret, channel=channel, user_id=user_id, code=code, client_address=client_address)
    if not await is_linkable(session, channel, user_id):
        return LinkResult("not_linkable")
    if await too_many_failures(session, keys, now):
        return LinkResult("rate_limited")  # not recorded: refusals do not extend the window
    row = await _active_code(session, secret, code, now)
    session.add(keys.record(success=row is not None, at=now))
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


async def _bind(session: AsyncSession, channel: str, user_id: str, resident_id: str, now: datetime) -> None:
    row = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.channel == channel, ChannelIdentity.user_id == user_id)
    )
    row = row or ChannelIdentity(channel=channel, user_id=user_id)
    row.resident_id, row.linked_by, row.linked_at = resident_id, "code", now
    session.add(row)
