"""通報 records: the reports, their history (status changes, notes) and photo uploads.

Keyword-only functions over the caller's session (a resident's turn or a staff request is one
transaction). Numbers read like reservation numbers: `r` + the date + a 4-digit counter of the day
(`r202612040001`), drawn from the reservation counters' table under its own key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.db import Base
from knowledge.bookings import next_count
from knowledge.places import distance_m


def utcnow() -> datetime:
    return datetime.now(UTC)


STATUSES = ("received", "in_progress", "done", "not_ours")
OPEN_STATUSES = ("received", "in_progress")
STATUS_LABELS = {"received": "受付", "in_progress": "対応中", "done": "完了", "not_ours": "対象外"}
DUPLICATE_METERS = 50.0
DUPLICATE_DAYS = 7


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    category: Mapped[str] = mapped_column(String(40), index=True)
    department: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    address: Mapped[str | None] = mapped_column(String(200), nullable=True)
    town: Mapped[str | None] = mapped_column(String(60), nullable=True)
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    # "location": the coordinates were shared (precise); "typed": the town's centre of a typed address
    place_source: Mapped[str | None] = mapped_column(String(20), nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    photo: Mapped[str | None] = mapped_column(String(80), nullable=True)  # file name under the photo dir
    channel: Mapped[str] = mapped_column(String(20))
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReportEvent(Base):
    """A report's history: `status` (a change, with its note) or `note` (staff only), `photo`."""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # status | note | photo
    status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReportUpload(Base):
    """A checked photo waiting for its report (a widget upload, a LINE image): the reference the
    next message carries, bound to the conversation that sent it."""

    __tablename__ = "report_uploads"

    ref: Mapped[str] = mapped_column(String(40), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    file_name: Mapped[str] = mapped_column(String(80))
    report_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


@dataclass(frozen=True)
class NewReport:
    category: str
    department: str
    description: str
    channel: str
    conversation_id: str
    address: str | None = None
    town: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    place_source: str | None = None


def aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes, which are UTC here."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def _next_number(session: AsyncSession, day: date) -> str:
    key = f"r{day:%Y%m%d}"  # receipt numbers share the reservations' counters, under their own key
    return f"{key}{await next_count(session, key):04d}"


async def create_report(session: AsyncSession, *, new: NewReport, today: date) -> Report:
    now = utcnow()
    report = Report(
        number=await _next_number(session, today),
        status="received",
        created_at=now,
        updated_at=now,
        **new.__dict__,
    )
    session.add(report)
    await session.flush()
    session.add(ReportEvent(report_id=report.id, kind="status", status="received", note="", at=now))
    return report


async def get_report(session: AsyncSession, *, number: str) -> Report | None:
    return await session.scalar(select(Report).where(Report.number == number))


async def list_reports(
    session: AsyncSession,
    *,
    departments: frozenset[str] | None,
    status: str | None = None,
    category: str | None = None,
    limit: int = 200,
) -> list[Report]:
    """Newest first; `departments` None: every department (a supervisor)."""
    query = select(Report)
    if departments is not None:
        query = query.where(Report.department.in_(sorted(departments)))
    if status:
        query = query.where(Report.status == status)
    if category:
        query = query.where(Report.category == category)
    return list(await session.scalars(query.order_by(Report.created_at.desc(), Report.id.desc()).limit(limit)))


async def history(session: AsyncSession, *, report: Report) -> list[ReportEvent]:
    rows = await session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id).order_by(ReportEvent.id))
    return list(rows)


async def set_status(session: AsyncSession, *, report: Report, status: str, note: str, staff_id: str | None) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    now = utcnow()
    report.status = status
    report.updated_at = now
    session.add(ReportEvent(report_id=report.id, kind="status", status=status, note=note, staff_id=staff_id, at=now))


async def add_note(session: AsyncSession, *, report: Report, note: str, staff_id: str | None) -> None:
    report.updated_at = utcnow()
    session.add(ReportEvent(report_id=report.id, kind="note", note=note, staff_id=staff_id, at=report.updated_at))


async def possible_duplicates(session: AsyncSession, *, report: Report) -> list[Report]:
    """Open reports of the same category within DUPLICATE_DAYS of this one, and either within
    DUPLICATE_METERS (both places shared as locations) or at the same typed address (a typed
    address has only its town's centre, so distances between those would mean nothing)."""
    at = aware(report.created_at)
    rows = await session.scalars(
        select(Report).where(
            Report.id != report.id,
            Report.category == report.category,
            Report.status.in_(OPEN_STATUSES),
            Report.created_at >= at - timedelta(days=DUPLICATE_DAYS),
            Report.created_at <= at + timedelta(days=DUPLICATE_DAYS),
        )
    )
    return [r for r in rows if _same_place(report, r)]


def _same_place(a: Report, b: Report) -> bool:
    if a.place_source == b.place_source == "location":
        if None in (a.latitude, a.longitude, b.latitude, b.longitude):
            return False
        return distance_m((a.latitude, a.longitude), (b.latitude, b.longitude)) <= DUPLICATE_METERS  # type: ignore[arg-type]
    return a.address is not None and a.address == b.address and a.place_source == b.place_source == "typed"


# -- photo uploads ------------------------------------------------------------------------
async def add_upload(session: AsyncSession, *, ref: str, conversation_id: str, file_name: str) -> None:
    session.add(ReportUpload(ref=ref, conversation_id=conversation_id, file_name=file_name, created_at=utcnow()))


async def find_upload(session: AsyncSession, *, ref: str, conversation_id: str) -> ReportUpload | None:
    """The upload `ref` of this conversation (another conversation's reference finds nothing)."""
    upload = await session.get(ReportUpload, ref)
    return upload if upload is not None and upload.conversation_id == conversation_id else None


async def attach_photo(session: AsyncSession, *, report: Report, upload: ReportUpload) -> None:
    report.photo = upload.file_name
    report.updated_at = utcnow()
    upload.report_id = report.id
    session.add(ReportEvent(report_id=report.id, kind="photo", note="", at=report.updated_at))


def summary(report: Report, department_name: str | None = None) -> dict[str, Any]:
    """The fields of CONTRACTS §10's list, plus a few the console shows."""
    return {
        "number": report.number,
        "category": report.category,
        "department": report.department,
        "status": report.status,
        "address": report.address,
        "latitude": report.latitude,
        "longitude": report.longitude,
        "created_at": aware(report.created_at).isoformat(),
        "town": report.town,
        "has_photo": report.photo is not None,
        "department_name": department_name,
    }
