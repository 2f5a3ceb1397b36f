"""Staff console API for 通報 (CONTRACTS §10), department-scoped as in §8.

- `GET /staff/api/reports?status=&category=`: the reports the caller's departments receive (a
  supervisor: all), newest first, with exactly §10's fields.
- `GET /staff/api/reports/categories`: the categories (id, name, department) for filters.
- `GET /staff/api/reports/{number}`: one report with its description, history (status changes
  and notes), a map link (coordinates only: the server fetches no map tiles) and the open reports
  of the same category within 50 m and 7 days (possible duplicates).
- `GET /staff/api/reports/{number}/photo`: the stored photo (image/jpeg, re-encoded at receipt
  with no EXIF or other metadata).
- `POST /staff/api/reports/{number}/status` `{"status", "note"}`: the new status, recorded in the
  history and told to the resident on their channel (a transcript row and, on LINE, an outbox
  row) in the same transaction (`bot.staff.console._staff_turn`).
- `POST /staff/api/reports/{number}/notes` `{"note"}`: a note for staff only.

Another department's report answers 403; an unknown number 404.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.web import read_json_object
from bot.engine.events import Reply
from bot.engine.services import Services
from bot.http.deps import ServicesDep
from bot.http.schemas import ANY_TEXT, TEXT, RequestModel, errors, json_body, validate
from bot.staff.console import StaffDep, StaffIdentity, _staff_turn
from bot.store.models import Conversation
from knowledge import photos
from knowledge.base import required
from knowledge.report_data import ReportData
from knowledge.reports import (
    STATUS_LABELS,
    Report,
    ReportEvent,
    add_note,
    aware,
    get_report,
    history,
    list_reports,
    possible_duplicates,
    set_status,
)

Status = Literal["received", "in_progress", "done", "not_ours"]


class ReportSummary(BaseModel):
    number: str
    category: str
    department: str
    status: Status
    address: str | None
    latitude: float | None
    longitude: float | None
    created_at: str


class ReportEventOut(BaseModel):
    kind: str  # status | note | photo | photo_removed
    status: str | None
    note: str
    staff_id: str | None
    at: str


class ReportDetail(ReportSummary):
    category_name: str
    department_name: str
    town: str | None
    description: str
    channel: str
    has_photo: bool
    photo_url: str | None
    map_url: str | None
    updated_at: str
    history: list[ReportEventOut]
    possible_duplicates: list[ReportSummary]


class CategoryOut(BaseModel):
    id: str
    name: str
    department: str


class ReportStatusRequest(RequestModel):
    status: Status
    note: str = Field(default="", max_length=500, pattern=ANY_TEXT)


class ReportNoteRequest(RequestModel):
    note: str = Field(min_length=1, max_length=1000, pattern=TEXT)


class ReportStatusAnswer(BaseModel):
    number: str
    status: Status
    notified: bool  # the resident was told (False when their conversation no longer exists)


def _summary(report: Report) -> dict[str, Any]:
    return {
        "number": report.number,
        "category": report.category,
        "department": report.department,
        "status": report.status,
        "address": report.address,
        "latitude": report.latitude,
        "longitude": report.longitude,
        "created_at": aware(report.created_at).isoformat(),
    }


def _event(event: ReportEvent) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "status": event.status,
        "note": event.note,
        "staff_id": event.staff_id,
        "at": aware(event.at).isoformat(),
    }


def map_url(report: Report) -> str | None:
    """A link that opens the coordinates in a map application (nothing is fetched by the server)."""
    if report.latitude is None or report.longitude is None:
        return None
    lat, lon = f"{report.latitude:.6f}", f"{report.longitude:.6f}"
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"


def _data(services: Services) -> ReportData:
    data = required(services.knowledge.reports, "reports")
    assert isinstance(data, ReportData)
    return data


async def _visible(session: AsyncSession, number: str, who: StaffIdentity) -> Report:
    report = await get_report(session, number=number.strip().lower())
    if report is None:
        raise HTTPException(404, "no such report")
    who.ensure_can_see(report.department)
    return report


def _resident_text(report: Report, status: str, note: str) -> str:
    text = f"通報（受付番号 {report.number}）の対応状況：{STATUS_LABELS[status]}"
    if status == "done":
        text += "\n対応が完了しました。ご協力ありがとうございました。"
    elif status == "not_ours":
        text += "\nこの場所・内容はデモ区の担当ではありませんでした。"
    return f"{text}\n{note.strip()}" if note.strip() else text


def router() -> APIRouter:
    api = APIRouter(prefix="/staff/api")
    scoped = {**errors(401, 403, 503)}

    @api.get("/reports", response_model=list[ReportSummary], responses={**scoped, **errors(422)})
    async def reports(
        services: ServicesDep, who: StaffDep, status: Status | None = None, category: str | None = None
    ) -> list[dict[str, Any]]:
        """Reports of the caller's departments (a supervisor: every department), newest first."""
        departments = None if who.role == "supervisor" else who.departments
        async with services.sessionmaker() as s:
            rows = await list_reports(s, departments=departments, status=status, category=category)
        return [_summary(r) for r in rows]

    @api.get("/reports/categories", response_model=list[CategoryOut], responses=scoped)
    async def categories(services: ServicesDep, _: StaffDep) -> list[dict[str, str]]:
        return [{"id": c.id, "name": c.name, "department": c.department} for c in _data(services).categories]

    @api.get("/reports/{number}", response_model=ReportDetail, responses={**scoped, **errors(404)})
    async def report(number: str, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        async with services.sessionmaker() as s:
            found = await _visible(s, number, who)
            events = await history(s, report=found)
            duplicates = [d for d in await possible_duplicates(s, report=found) if who.can_see(d.department)]
        data = _data(services)
        category = data.category(found.category)
        departments = required(services.knowledge.catalog, "catalog").data.departments
        department = departments.get(found.department)
        return {
            **_summary(found),
            "category_name": category.name if category else found.category,
            "department_name": department.name if department else found.department,
            "town": found.town,
            "description": found.description,
            "channel": found.channel,
            "has_photo": found.photo is not None,
            "photo_url": f"/staff/api/reports/{found.number}/photo" if found.photo else None,
            "map_url": map_url(found),
            "updated_at": aware(found.updated_at).isoformat(),
            "history": [_event(e) for e in events],
            "possible_duplicates": [_summary(d) for d in duplicates],
        }

    @api.get(
        "/reports/{number}/photo",
        response_class=FileResponse,
        responses={200: {"content": {"image/jpeg": {}}, "description": "the photo"}, **scoped, **errors(404)},
    )
    async def photo(number: str, services: ServicesDep, who: StaffDep) -> FileResponse:
        """The stored photo: a JPEG re-encoded at receipt, with no EXIF or other metadata."""
        async with services.sessionmaker() as s:
            found = await _visible(s, number, who)
        path = photos.path_of(services.settings.resolved_photo_dir, found.photo) if found.photo else None
        if path is None:
            raise HTTPException(404, "this report has no photo")
        return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})

    @api.post(
        "/reports/{number}/status",
        response_model=ReportStatusAnswer,
        responses={**scoped, **errors(400, 404, 413, 422)},
        openapi_extra=json_body(ReportStatusRequest),
    )
    async def change_status(number: str, request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        """Change the status; the resident is told on their channel (LINE push or the widget)."""
        body = validate(ReportStatusRequest, await read_json_object(request))
        async with services.sessionmaker() as s:
            found = await _visible(s, number, who)
            conversation_id, report_number = found.conversation_id, found.number
        notified = await _notify(services, conversation_id, report_number, body, who.staff_id("staff"))
        return {"number": report_number, "status": body.status, "notified": notified}

    @api.post(
        "/reports/{number}/notes",
        response_model=ReportStatusAnswer,
        responses={**scoped, **errors(400, 404, 413, 422)},
        openapi_extra=json_body(ReportNoteRequest),
    )
    async def note(number: str, request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        """A note for staff only (the resident is not told)."""
        body = validate(ReportNoteRequest, await read_json_object(request))
        async with services.sessionmaker() as s, s.begin():
            found = await _visible(s, number, who)
            await add_note(s, report=found, note=body.note.strip(), staff_id=who.staff_id("staff"))
            return {"number": found.number, "status": found.status, "notified": False}

    return api


async def _notify(
    services: Services, conversation_id: str, number: str, body: ReportStatusRequest, staff_id: str
) -> bool:
    """The status change and the resident's message in one transaction (the conversation's turn)."""

    async def change(db: AsyncSession) -> None:
        report = await get_report(db, number=number)
        assert report is not None
        await set_status(db, report=report, status=body.status, note=body.note.strip(), staff_id=staff_id)
        replies.append(Reply(text=_resident_text(report, body.status, body.note), sender="staff"))

    replies: list[Reply] = []
    async with services.sessionmaker() as s:
        exists = await s.get(Conversation, conversation_id) is not None
    if not exists:  # the conversation was erased (retention): the status still changes
        async with services.sessionmaker() as s, s.begin():
            await change(s)
        return False
    async with services.locker.hold(conversation_id):
        # `change` fills `replies` inside the transaction, before `_staff_turn` records and queues them
        await _staff_turn(services, conversation_id, replies, staff_id=staff_id, change=change)
    return True
