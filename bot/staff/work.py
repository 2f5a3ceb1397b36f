"""Working a conversation in the console: transfer to another department with a note, internal
notes (never shown to the resident), close with an outcome, fill a form's slot for the resident,
canned replies per department, the departments with their hours, and what each account did.

Every route is department-scoped (CONTRACTS §8): another department's work is 403.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import select

from bot.channels.web import BadRequest
from bot.engine.events import Reply
from bot.engine.services import Services
from bot.engine.state import ConversationState
from bot.http.deps import ServicesDep
from bot.http.schemas import CloseRequest, FillRequest, Loose, NoteRequest, TransferRequest, errors, json_body
from bot.staff.console import StaffDep, _staff_turn, read_staff_body
from bot.staff.models import StaffAction
from bot.staff.packet import form_handler, form_resumer, staff_context
from bot.staff.queues import conversation_department, department_names, jst, record
from bot.store.models import Conversation
from handlers.forms import as_int
from knowledge.bookings import CONFIRMED, find_number, list_reservations
from knowledge.office_hours import OfficeHours, describe

OUTCOMES = ("solved", "callback", "visit", "referred")
CLOSED_TEXT = "職員の対応を終了しました。引き続きチャットでご案内します。"
TRANSFERRED = "担当を{name}に引き継ぎました。{name}の職員から改めてご連絡します。"
VISIT_LINKED = "窓口予約（受付番号 {number}）の日に、窓口でお待ちしています。"
PACKAGED_REPLIES = Path(__file__).resolve().parents[2] / "knowledge" / "data" / "staff_replies.yml"
WRITES = {**errors(401, 403, 503), **errors(400, 404, 409, 413, 422)}


def router() -> APIRouter:
    api = APIRouter(prefix="/staff/api")

    @api.post("/conversations/{conversation_id}/transfer", response_model=Loose, responses=WRITES,
              openapi_extra=json_body(TransferRequest))  # fmt: skip
    async def transfer(conversation_id: str, request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        """To another department's queue, with a note; the resident is told who has it now."""
        body = await read_staff_body(request, TransferRequest, who)
        target, note = body.department, body.note.strip() or None
        names = department_names(services)
        async with services.sessionmaker() as db:  # an unknown conversation is 404 before any 422
            if await db.get(Conversation, conversation_id) is None:
                raise HTTPException(404, "no such conversation")
        if target not in names:
            raise BadRequest(422, "'department' must be a department id of the catalog")
        staff_id = who.staff_id(body.staff_id)
        async with services.locker.hold(conversation_id):
            state = await _staff_turn(
                services,
                conversation_id,
                [Reply(text=TRANSFERRED.format(name=names[target]), sender="staff")],
                transition="transfer",
                staff_id=staff_id,
                who=who,
                department=target,
                action="transfer",
                audit_text=note,
            )
        return {"conversation_id": conversation_id, "status": state.status, "department": target}

    @api.post("/conversations/{conversation_id}/close", response_model=Loose, responses=WRITES,
              openapi_extra=json_body(CloseRequest))  # fmt: skip
    async def close(conversation_id: str, request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        """Hand back with an outcome (solved, callback, visit, referred); a kept form resumes."""
        body = await read_staff_body(request, CloseRequest, who)
        outcome = body.outcome
        staff_id = who.staff_id(body.staff_id)
        async with services.locker.hold(conversation_id):
            visit = await linked_visit(services, who, conversation_id, body.reservation) if outcome == "visit" else None
            replies = [Reply(text=CLOSED_TEXT, sender="staff")]
            if visit is not None:  # the resident is reminded of the 窓口予約 the outcome refers to
                replies.insert(0, Reply(text=VISIT_LINKED.format(number=visit), sender="staff"))
            state = await _staff_turn(
                services,
                conversation_id,
                replies,
                transition="release",
                staff_id=staff_id,
                who=who,
                outcome=str(outcome),
                action="close",
                then=form_resumer(request, services),
                audit_text=f"{outcome} {visit}" if visit else None,
            )
        return {"conversation_id": conversation_id, "status": state.status, "outcome": outcome, "reservation": visit}

    @api.post("/conversations/{conversation_id}/notes", response_model=Loose, responses=WRITES,
              openapi_extra=json_body(NoteRequest))  # fmt: skip
    async def note(conversation_id: str, request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        """An internal note: an audit row, never a transcript row, so never shown to the resident."""
        text = (await read_staff_body(request, NoteRequest, who)).note.strip()
        async with services.sessionmaker() as db, db.begin():
            department = await conversation_department(db, conversation_id, services)
            who.ensure_can_see(department)
            record(db, staff_id=who.staff_id("staff"), action="note", conversation_id=conversation_id,
                   department=department, text=text)  # fmt: skip
        return {"status": "noted"}

    @api.post("/conversations/{conversation_id}/form", response_model=Loose, responses=WRITES,
              openapi_extra=json_body(FillRequest))  # fmt: skip
    async def fill(conversation_id: str, request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        """Staff fill a slot of the kept form for the resident (checked by the form's own rules)."""
        body = await read_staff_body(request, FillRequest, who)
        slot_name, value = body.slot.strip(), body.value.strip()
        async with services.locker.hold(conversation_id):
            await _staff_turn(
                services, conversation_id, [], staff_id=who.staff_id("staff"), who=who, action="fill",
                audit_text=slot_name, then=_filler(request, services, slot_name, value),
            )  # fmt: skip
        return {"status": "filled", "slot": slot_name}

    @api.get("/canned", response_model=list[Loose], responses=errors(401, 403, 503))
    async def canned(services: ServicesDep, who: StaffDep, department: str = "") -> list[dict[str, Any]]:
        """定型文 for a department the caller works (and those for every department)."""
        if department:
            who.ensure_can_see(department)
        replies = canned_replies(services)
        return [{"department": None, **r} for r in replies.get("all", [])] + (
            [{"department": department, **r} for r in replies.get(department, [])] if department else []
        )

    @api.get("/departments", response_model=list[Loose], responses=errors(401, 403, 503))
    async def departments(services: ServicesDep, who: StaffDep) -> list[dict[str, Any]]:
        """Every department (for transfers), whether staff are on duty now and when next."""
        hours = services.knowledge.office_hours
        now = services.now()
        listed = []
        for dept, name in department_names(services).items():
            opening = hours.next_opening(dept, now) if isinstance(hours, OfficeHours) else None
            listed.append({
                "id": dept, "name": name, "mine": dept in who.departments,
                "open_now": hours.is_open(dept, now) if isinstance(hours, OfficeHours) else True,
                "next_opening": jst(opening), "next_opening_text": describe(opening) if opening else None,
            })  # fmt: skip
        return listed

    @api.get("/actions", response_model=list[Loose], responses=errors(401, 403, 503))
    async def actions(
        services: ServicesDep, who: StaffDep, staff_id: str = "", limit: int = 200
    ) -> list[dict[str, Any]]:
        """What staff accounts did, newest first: a supervisor sees all, staff their departments'."""
        query = select(StaffAction).order_by(StaffAction.id.desc()).limit(max(1, min(limit, 1000)))
        if staff_id:
            query = query.where(StaffAction.staff_id == staff_id)
        async with services.sessionmaker() as s:
            rows = list(await s.scalars(query))
        return [_action(a) for a in rows if who.can_see(a.department)]

    return api


def _action(a: StaffAction) -> dict[str, Any]:
    return {
        "staff_id": a.staff_id,
        "action": a.action,
        "conversation_id": a.conversation_id,
        "department": a.department,
        "text": "" if a.action == "note" else a.text,  # notes are read on their conversation
        "at": jst(a.created_at),
    }


def _text(data: dict[str, Any], key: str, *, required: bool = True, limit: int = 2000) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise BadRequest(422, f"'{key}' must be a text of 1–{limit} characters")
    return value.strip()


def _filler(request: Request, services: Services, slot_name: str, raw: str) -> Any:
    async def fill(db: Any, state: ConversationState) -> list[Reply]:
        handler = form_handler(request, state)
        slot = next((s for s in getattr(handler, "slots", ()) if s.name == slot_name), None)
        if handler is None or slot is None or state.active_form is None:
            raise HTTPException(409, "no form in progress with that slot")
        number = as_int(raw)
        value: Any = number if number is not None else raw
        ctx = staff_context(services, db, state)
        problem = handler._check(ctx, slot, value, state.active_form.slots)
        if problem:
            raise HTTPException(422, problem)
        state.active_form.slots[slot_name] = value
        if state.active_form.requested_slot == slot_name:
            state.active_form.requested_slot = None
        return []

    return fill


async def linked_visit(services: Services, who: Any, conversation_id: str, given: str | None) -> str | None:
    """The 窓口予約 a close with the outcome `visit` refers to: the number staff gave (it must be a
    confirmed 窓口予約 of this conversation, else 422), or the conversation's latest upcoming one
    (None when it has none: the outcome stays without a link)."""
    async with services.sessionmaker() as db:
        if await db.get(Conversation, conversation_id) is None:
            raise HTTPException(404, "no such conversation")
        who.ensure_can_see(await conversation_department(db, conversation_id, services))  # 403 before any 422
        rows = await list_reservations(
            db, kind="counter_visit", conversation_id=conversation_id, status=CONFIRMED, date_from=services.today()
        )
    if given is not None:
        number = find_number(given) or given.strip()
        if not any(r.number == number for r in rows):
            raise BadRequest(422, "'reservation' is not an upcoming 窓口予約 of this conversation")
        return number
    return max(rows, key=lambda r: r.created_at).number if rows else None


def canned_replies(services: Services) -> dict[str, list[dict[str, str]]]:
    cached = services.knowledge.staff_replies
    if cached is None:
        cached = load_canned(Path(services.settings.data_dir), set(department_names(services)))
        services.knowledge.replace(staff_replies=cached)
    return dict(cached)


def load_canned(data_dir: Path, departments: set[str]) -> dict[str, list[dict[str, str]]]:
    """DATA_DIR/knowledge/staff_replies.yml, else the packaged demo; mistakes name file and entry."""
    local = data_dir / "knowledge" / "staff_replies.yml"
    path = local if local.exists() else PACKAGED_REPLIES
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: the top level must map department ids to lists")
    found: dict[str, list[dict[str, str]]] = {}
    for dept, rows in raw.items():
        if dept != "all" and dept not in departments:
            raise ValueError(f"{path}: {dept}: unknown department id (see procedures.yml)")
        for i, row in enumerate(rows or []):
            if not isinstance(row, dict) or not all(isinstance(row.get(k), str) and row[k] for k in ("title", "text")):
                raise ValueError(f"{path}: {dept}[{i}]: needs a title and a text")
        found[dept] = [{"title": r["title"], "text": r["text"]} for r in rows or []]
    return found
