"""Callback tickets in the console: the department's staff see them (name and phone are for
them: personal data, never logged) and close them with an outcome. Department-scoped (§8)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import select

from bot.http.deps import ServicesDep
from bot.http.schemas import CallbackCloseRequest, Loose, RowId, errors, json_body
from bot.staff.console import StaffDep, read_staff_body
from bot.staff.queues import department_names, jst, record
from knowledge.callbacks import CallbackTicket

OUTCOMES = ("reached", "no_answer", "solved", "visit", "referred")


def router() -> APIRouter:
    api = APIRouter(prefix="/staff/api")

    @api.get("/callbacks", response_model=list[Loose], responses={**errors(401, 403, 503), **errors(422)})
    async def callbacks(services: ServicesDep, who: StaffDep, status: str = "open") -> list[dict[str, Any]]:
        """The caller's departments' callback tickets, oldest first."""
        query = select(CallbackTicket).order_by(CallbackTicket.id).limit(500)
        if status != "all":
            query = query.where(CallbackTicket.status == status)
        if who.role != "supervisor":
            query = query.where(CallbackTicket.department.in_(sorted(who.departments)))
        async with services.sessionmaker() as s:
            rows = list(await s.scalars(query))
        names = department_names(services)
        return [ticket_view(t, names) for t in rows if who.can_see(t.department)]

    @api.post(
        "/callbacks/{ticket_id}/close",
        response_model=Loose,
        responses={**errors(401, 403, 503), **errors(400, 404, 409, 413, 422)},
        openapi_extra=json_body(CallbackCloseRequest),
    )
    async def close(ticket_id: RowId, request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        body = await read_staff_body(request, CallbackCloseRequest, who)
        outcome = body.outcome
        async with services.sessionmaker() as s, s.begin():
            ticket = await s.get(CallbackTicket, ticket_id, with_for_update=s.bind.dialect.name == "postgresql")
            if ticket is None:
                raise HTTPException(404, "no such callback ticket")
            who.ensure_can_see(ticket.department)
            if ticket.status != "open":
                raise HTTPException(409, "this callback is already closed")
            staff_id = who.staff_id(body.staff_id)
            ticket.status, ticket.outcome = "closed", str(outcome)
            ticket.closed_by, ticket.closed_at = staff_id, datetime.now(UTC)
            record(s, staff_id=staff_id, action="callback_close", conversation_id=ticket.conversation_id,
                   department=ticket.department, text=f"C-{ticket.id} {outcome}")  # fmt: skip
            view = ticket_view(ticket, department_names(services))
        return view

    return api


def ticket_view(t: CallbackTicket, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": t.id,
        "number": f"C-{t.id}",
        "conversation_id": t.conversation_id,
        "department": t.department,
        "department_name": names.get(t.department, t.department),
        "name": t.name,
        "phone": t.phone,
        "window": t.window,
        "topic": t.topic,
        "status": t.status,
        "outcome": t.outcome,
        "closed_by": t.closed_by,
        "created_at": jst(t.created_at),
        "closed_at": jst(t.closed_at),
    }
