"""Fixtures for the reservation flows: a fixed today and an empty reservations table."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete

from knowledge.bookings import Reservation, ReservationCounter, list_reservations

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # a Friday


@pytest.fixture
async def booking_day(services) -> None:  # type: ignore[no-untyped-def]
    """A fixed today, and no reservations left by an earlier test (PostgreSQL keeps one database)."""
    services.clock = lambda: NOW
    async with services.sessionmaker() as session, session.begin():
        await session.execute(delete(Reservation))
        await session.execute(delete(ReservationCounter))


async def stored(services, kind: str):  # type: ignore[no-untyped-def]
    async with services.sessionmaker() as session:
        return await list_reservations(session, kind=kind)


async def give_contact(conv, name: str = "山田花子", phone: str = "090-1234-5678") -> None:  # type: ignore[no-untyped-def]
    """An anonymous resident's booking asks a name and a phone number before the confirmation."""
    assert "お名前を教えてください" in conv.text, conv.text
    await conv.say(name)
    assert "電話番号を教えてください" in conv.text, conv.text
    await conv.say(phone)
