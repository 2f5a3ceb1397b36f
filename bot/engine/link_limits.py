"""Keyed hashes and rate limits for link codes.

A 6-digit code has only 10⁶ values, so its stored form is an HMAC keyed with the server secret
(a dump alone cannot be checked against the code space), and guessing is limited. Free web
sessions make "per chat identity" alone weak and a global cap would let one person lock every
resident out, so failures count per chat identity, per code value tried (the same value sprayed
from many sessions) and per client address (web only; LINE's requests all come from LINE) —
never overall. The address is personal-ish data: it is only ever stored as an HMAC and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.residents import LinkAttempt

ATTEMPT_WINDOW = timedelta(hours=1)
MAX_FAILURES_PER_IDENTITY = 5  # one chat identity, per ATTEMPT_WINDOW
MAX_FAILURES_PER_CODE = 5  # one code value, from anyone, per ATTEMPT_WINDOW
# One client address: sessions are free, so this bounds a single guesser; it stays well above
# what a counter's guest Wi-Fi (one NAT address, residents mistyping) plausibly produces.
MAX_FAILURES_PER_ADDRESS = 30


def keyed(secret: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value` for one `purpose` (so the same value hashes apart in each table)."""
    if not secret:
        raise RuntimeError("no server secret: build services with bot.engine.services.build_services")
    return hmac.new(secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def code_hash(secret: bytes, code: str) -> str:
    """The stored form of a live link code (`link_codes.code_hash`)."""
    return keyed(secret, "link-code", code)


def address_group(address: str) -> str:
    """What counts as one client: the address, or its /64 for IPv6 (one subscriber's prefix)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class AttemptKeys:
    """Who tries which value: the columns of one `LinkAttempt`, hashed where they must be."""

    channel: str
    user_id: str
    code_key: str
    address_key: str | None

    @classmethod
    def of(cls, secret: bytes, *, channel: str, user_id: str, code: str, client_address: str | None) -> AttemptKeys:
        address = keyed(secret, "client-address", address_group(client_address)) if client_address else None
        return cls(channel, user_id, keyed(secret, "attempt-code", code), address)

    def record(self, *, success: bool, at: datetime) -> LinkAttempt:
        return LinkAttempt(
            channel=self.channel,
            user_id=self.user_id,
            success=success,
            code_key=self.code_key,
            address_key=self.address_key,
            at=at,
        )


async def too_many_failures(session: AsyncSession, keys: AttemptKeys, now: datetime) -> bool:
    since = now - ATTEMPT_WINDOW
    if await _failures(session, since, LinkAttempt.channel == keys.channel, LinkAttempt.user_id == keys.user_id) >= (
        MAX_FAILURES_PER_IDENTITY
    ):
        return True
    if await code_is_burnt(session, keys.code_key, now):
        return True
    if keys.address_key is None:
        return False
    return await _failures(session, since, LinkAttempt.address_key == keys.address_key) >= MAX_FAILURES_PER_ADDRESS


async def code_is_burnt(session: AsyncSession, code_key: str, now: datetime) -> bool:
    """This value was tried and failed too often lately: nobody may try it, and so it is not issued."""
    return await _failures(session, now - ATTEMPT_WINDOW, LinkAttempt.code_key == code_key) >= MAX_FAILURES_PER_CODE


async def _failures(session: AsyncSession, since: datetime, *where: object) -> int:
    count = await session.scalar(
        select(func.count()).where(*where, LinkAttempt.success.is_(False), LinkAttempt.at > since)  # type: ignore[arg-type]
    )
    return count or 0
