"""Reservations: numbers, capacity in the creating transaction, concurrency, staff listing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import delete

from bot.settings import Settings
from bot.store.db import make_async_engine, make_sessionmaker
from knowledge.bookings import (
    Capacity,
    FullyBooked,
    Reservation,
    ReservationCounter,
    cancel_reservation,
    create_reservation,
    list_reservations,
    places_taken,
)
from knowledge.services_data import load_services

DAY = date(2026, 12, 1)


@pytest.fixture
async def sessionmaker(settings: Settings) -> AsyncIterator[object]:
    engine = make_async_engine(settings.resolved_database_url)
    sm = make_sessionmaker(engine)
    async with sm() as session, session.begin():  # PostgreSQL keeps one database for the whole run
        await session.execute(delete(Reservation))
        await session.execute(delete(ReservationCounter))
    yield sm
    await engine.dispose()


async def book(sm, *, resource: str = "himawari", limit: int = 1, conv: str = "web:a", **kw):  # type: ignore[no-untyped-def]
    async with sm() as session, session.begin():
        r = await create_reservation(
            session,
            kind=kw.pop("kind", "childcare_temporary"),
            conversation_id=conv,
            channel="web",
            resource=resource,
            service_date=kw.pop("day", DAY),
            capacity=Capacity(limit, kw.pop("by_time", False)),
            **kw,
        )
        return r.number


async def test_numbers_are_per_kind_and_date_and_readable(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    assert await book(sessionmaker, limit=5) == "H-20261201-0001"
    assert await book(sessionmaker, limit=5) == "H-20261201-0002"
    assert await book(sessionmaker, kind="bulky_waste", resource="中央", limit=5) == "G-20261201-0001"
    assert await book(sessionmaker, limit=5, day=date(2026, 12, 2)) == "H-20261202-0001"


async def test_full_raises_and_rolls_back_the_number(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    await book(sessionmaker, limit=1)
    with pytest.raises(FullyBooked):
        await book(sessionmaker, limit=1)
    assert await book(sessionmaker, resource="minato_nyuji", limit=1) == "H-20261201-0002"  # no gap


async def test_time_capacity_counts_only_overlapping_bookings(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    kw = {"kind": "facility_booking", "resource": "chuo_conf_a", "by_time": True}
    await book(sessionmaker, **kw, start_time="09:00", end_time="12:00")
    await book(sessionmaker, **kw, start_time="13:00", end_time="17:00")
    with pytest.raises(FullyBooked):
        await book(sessionmaker, **kw, start_time="11:00", end_time="14:00")


async def test_cancelled_reservation_frees_its_place(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    number = await book(sessionmaker)
    async with sessionmaker() as session, session.begin():
        await cancel_reservation(session, number=number)
    assert await book(sessionmaker) == "H-20261201-0002"
    async with sessionmaker() as session:
        assert await places_taken(session, kind="childcare_temporary", resource="himawari", service_date=DAY) == 1
        rows = await list_reservations(session, status="cancelled")
    assert [r.number for r in rows] == [number]


async def test_two_concurrent_creations_for_the_last_place(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    await book(sessionmaker, limit=2, conv="web:first")  # one place left of two
    results = await asyncio.gather(
        book(sessionmaker, limit=2, conv="web:x"), book(sessionmaker, limit=2, conv="web:y"), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["FullyBooked", "str"]
    async with sessionmaker() as session:
        rows = await list_reservations(session, kind="childcare_temporary")
    assert len(rows) == 2


async def test_many_concurrent_creations_never_exceed_capacity(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    results = await asyncio.gather(
        *(book(sessionmaker, limit=3, conv=f"web:{i}") for i in range(8)), return_exceptions=True
    )
    numbers = sorted(r for r in results if isinstance(r, str))
    assert numbers == ["H-20261201-0001", "H-20261201-0002", "H-20261201-0003"]
    assert sum(isinstance(r, FullyBooked) for r in results) == 5


async def test_list_filters_by_kind_and_dates(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    await book(sessionmaker, limit=9)
    await book(sessionmaker, limit=9, day=date(2026, 12, 3))
    await book(sessionmaker, kind="care_consultation", resource="care_chuo", limit=9)
    async with sessionmaker() as session:
        by_kind = await list_reservations(session, kind="childcare_temporary")
        by_day = await list_reservations(session, date_from=DAY, date_to=DAY)
    assert [r.service_date for r in by_kind] == [DAY, date(2026, 12, 3)]
    assert {r.kind for r in by_day} == {"childcare_temporary", "care_consultation"}


def test_services_data_maps_the_demo_address_and_is_marked_fictional() -> None:
    data = load_services()
    assert data.find_town("デモ区中央1-1-1") == ("中央", "中央")
    assert data.care_center("中央").name == "デモ区中央地域包括支援センター"
    assert data.find_town("緑が丘2丁目") == ("緑ケ丘", "北")
    from knowledge.services_data import DEFAULT_PATH

    assert "FICTIONAL" in DEFAULT_PATH.read_text(encoding="utf-8").splitlines()[0]
