"""Reservations made in chat: 粗大ごみ, 一時預かり, 施設予約, 介護の相談, 窓口予約.

Every reservation gets a number residents can read out on the phone (`G-20261201-0042`: a prefix
per kind, the service date, a sequence). The sequence lives in `reservation_counters`, one row per
(prefix, date); `create_reservation` first takes that row (an upsert, then an UPDATE), which locks
it until the transaction ends on PostgreSQL and takes the write lock on SQLite. The capacity check
runs after it in the same transaction, so two residents cannot both take the last place: the
second waits, then sees the first one's reservation. Call it inside `async with session.begin()`;
`FullyBooked` rolls the whole transaction back (the sequence too).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import JSON, Date, DateTime, Integer, String, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.store import raw
from bot.store.db import Base

ReservationKind = Literal[
    "bulky_waste", "childcare_temporary", "facility_booking", "care_consultation", "counter_visit"
]
PREFIXES: dict[str, str] = {
    "bulky_waste": "G",  # ごみ
    "childcare_temporary": "H",  # 保育
    "facility_booking": "S",  # 施設
    "care_consultation": "K",  # 介護
    "counter_visit": "V",  # 窓口予約 (visit): the resource is the department id
}
CONFIRMED = "confirmed"
CANCELLED = "cancelled"
_DASH = "-‐‑‒–—―ー－−"
NUMBER_PATTERN = re.compile(
    rf"(?<![A-Za-z0-9])([{''.join(PREFIXES.values())}])\s*[{_DASH}]?\s*(\d{{8}})\s*[{_DASH}]?\s*(\d{{4}})(?!\d)",
    re.IGNORECASE,
)


def find_number(text: str) -> str | None:
    """A reservation number in `text` ("s-20261201-0003", "Ｓ２０２６１２０１０００３"), canonical."""
    match = NUMBER_PATTERN.search(unicodedata.normalize("NFKC", text))
    if match is None:
        return None
    return f"{match.group(1).upper()}-{match.group(2)}-{match.group(3)}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Reservation(Base):
    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    status: Mapped[str] = mapped_column(String(20), default=CONFIRMED)
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    resident_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    resource: Mapped[str] = mapped_column(String(80))  # area, facility, room or centre id
    service_date: Mapped[date] = mapped_column(Date, index=True)
    start_time: Mapped[str | None] = mapped_column(String(5), nullable=True)  # HH:MM
    end_time: Mapped[str | None] = mapped_column(String(5), nullable=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)  # places taken from the capacity
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ReservationCounter(Base):
    __tablename__ = "reservation_counters"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)  # "G-20261201"
    value: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True, slots=True)
class Capacity:
    """At most `limit` places per (kind, resource, date); with `by_time`, per overlapping time."""

    limit: int
    by_time: bool = False


class FullyBooked(Exception):
    """No place left for this resource, date (and time); nothing was created."""


async def _next_number(session: AsyncSession, *, kind: str, service_date: date) -> str:
    key = f"{PREFIXES[kind]}-{service_date:%Y%m%d}"
    return f"{key}-{await next_count(session, key):04d}"


async def next_count(session: AsyncSession, key: str) -> int:
    """The next number of the counter `key` (1, 2, …), taken inside the caller's transaction."""
    dialect = session.bind.dialect.name if session.bind is not None else ""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    await session.execute(insert(ReservationCounter).values(key=key, value=0).on_conflict_do_nothing())
    value = await session.scalar(
        update(ReservationCounter)
        .where(ReservationCounter.key == key)
        .values(value=ReservationCounter.value + 1)
        .returning(ReservationCounter.value)
    )
    return int(value or 0)


async def places_taken(
    session: AsyncSession,
    *,
    kind: str,
    resource: str,
    service_date: date,
    start_time: str | None = None,
    end_time: str | None = None,
) -> int:
    """Places already taken; with a time range, only by reservations overlapping it."""
    query = select(func.coalesce(func.sum(Reservation.quantity), 0)).where(
        Reservation.kind == kind,
        Reservation.resource == resource,
        Reservation.service_date == service_date,
        Reservation.status == CONFIRMED,
    )
    if start_time and end_time:
        query = query.where(Reservation.start_time < end_time, Reservation.end_time > start_time)
    return int(await session.scalar(query) or 0)


async def create_reservation(
    session: AsyncSession,
    *,
    kind: ReservationKind,
    conversation_id: str,
    channel: str,
    resource: str,
    service_date: date,
    capacity: Capacity,
    quantity: int = 1,
    start_time: str | None = None,
    end_time: str | None = None,
    resident_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> Reservation:
    """Check capacity and create a confirmed reservation, in the caller's transaction."""
    number = await _next_number(session, kind=kind, service_date=service_date)  # takes the lock first
    window = (start_time, end_time) if capacity.by_time else (None, None)
    taken = await places_taken(
        session, kind=kind, resource=resource, service_date=service_date, start_time=window[0], end_time=window[1]
    )
    if taken + quantity > capacity.limit:
        raise FullyBooked(f"{kind} {resource} {service_date} is full")
    reservation = Reservation(
        number=number,
        kind=kind,
        status=CONFIRMED,
        conversation_id=conversation_id,
        channel=channel,
        resident_id=resident_id,
        resource=resource,
        service_date=service_date,
        start_time=start_time,
        end_time=end_time,
        quantity=quantity,
        details=details or {},
        created_at=utcnow(),
    )
    session.add(reservation)
    await session.flush()
    return reservation


async def cancel_reservation(session: AsyncSession, *, number: str) -> Reservation | None:
    reservation = await get_reservation(session, number=number)
    if reservation is None or reservation.status == CANCELLED:
        return reservation
    reservation.status = CANCELLED
    reservation.cancelled_at = utcnow()
    await session.flush()
    return reservation


async def get_reservation(session: AsyncSession, *, number: str) -> Reservation | None:
    return await session.scalar(select(Reservation).where(Reservation.number == number))


async def list_reservations(
    session: AsyncSession,
    *,
    kind: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    status: str | None = None,
    conversation_id: str | None = None,
    limit: int = 500,
) -> list[Reservation]:
    """Reservations for staff, by service date then number."""
    query = select(Reservation)
    if kind:
        query = query.where(Reservation.kind == kind)
    if date_from:
        query = query.where(Reservation.service_date >= date_from)
    if date_to:
        query = query.where(Reservation.service_date <= date_to)
    if status:
        query = query.where(Reservation.status == status)
    if conversation_id:
        query = query.where(Reservation.conversation_id == conversation_id)
    rows = await session.scalars(query.order_by(Reservation.service_date, Reservation.number).limit(limit))
    return list(rows)


async def taken_by_day(
    session: AsyncSession, *, kind: str, date_from: date, date_to: date
) -> list[tuple[str, date, str | None, str | None, int]]:
    """(resource, date, start, end, quantity) of confirmed reservations in a window: what the
    forms show as free or full before the resident confirms (the real check is at creation).
    Read at every step of a booking form, so on the turn's driver connection (bot.store.raw)."""
    statement = raw.compiled("reservations.taken", session.get_bind().dialect, _taken)
    rows = await raw.fetch(session, statement, {"kind": kind, "date_from": date_from, "date_to": date_to})
    return [(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]


def _taken() -> Any:
    return select(
        Reservation.resource,
        Reservation.service_date,
        Reservation.start_time,
        Reservation.end_time,
        Reservation.quantity,
    ).where(
        Reservation.kind == bindparam("kind"),
        Reservation.status == CONFIRMED,
        Reservation.service_date >= bindparam("date_from", type_=Date()),
        Reservation.service_date <= bindparam("date_to", type_=Date()),
    )


def reservation_dict(reservation: Reservation) -> dict[str, Any]:
    return {
        "number": reservation.number,
        "kind": reservation.kind,
        "status": reservation.status,
        "conversation_id": reservation.conversation_id,
        "channel": reservation.channel,
        "resident_id": reservation.resident_id,
        "resource": reservation.resource,
        "date": reservation.service_date.isoformat(),
        "start_time": reservation.start_time,
        "end_time": reservation.end_time,
        "quantity": reservation.quantity,
        "details": reservation.details,
        "created_at": reservation.created_at.isoformat() if reservation.created_at else None,
        "cancelled_at": reservation.cancelled_at.isoformat() if reservation.cancelled_at else None,
    }
