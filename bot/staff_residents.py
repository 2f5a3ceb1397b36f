"""Staff API for residents: issue a one-time link code at the counter, and read a resident's
profile (every read is written to the audit log with the staff id and the stated reason)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import select

from bot.channels.web import BadRequest, read_json_object
from bot.deps import ServicesDep
from bot.identity import issue_link_code
from bot.staff import StaffDep
from knowledge.residents import Consent, Interaction, Resident, SuggestionRecord, audit


async def _staff_and_reason(request: Request) -> tuple[str, str]:
    body = await request.body()
    data = await read_json_object(request) if body else {}
    staff_id, reason = data.get("staff_id", "staff"), data.get("reason", "")
    if not isinstance(staff_id, str) or not 0 < len(staff_id) <= 60:
        raise BadRequest(422, "'staff_id' must be a short string")
    if not isinstance(reason, str) or len(reason) > 120:
        raise BadRequest(422, "'reason' must be a string of at most 120 characters")
    return staff_id, reason


def router() -> APIRouter:
    api = APIRouter(prefix="/staff/api/residents")

    @api.post("/{resident_id}/link-code")
    async def link_code(resident_id: str, request: Request, services: ServicesDep, _: StaffDep) -> dict[str, Any]:
        staff_id, _reason = await _staff_and_reason(request)
        async with services.sessionmaker() as session, session.begin():
            issued = await issue_link_code(session, resident_id=resident_id, staff_id=staff_id)
        if issued is None:
            raise HTTPException(404, "no such resident")
        code, expires = issued
        return {"resident_id": resident_id, "code": code, "expires_at": expires.isoformat()}

    @api.post("/{resident_id}/profile")
    async def profile(resident_id: str, request: Request, services: ServicesDep, _: StaffDep) -> dict[str, Any]:
        """POST, not GET: the staff member states why they read the profile, and that is audited."""
        staff_id, reason = await _staff_and_reason(request)
        if not reason.strip():
            raise BadRequest(422, "'reason' is required to read a resident's profile")
        async with services.sessionmaker() as session, session.begin():
            me = await session.get(Resident, resident_id)
            if me is None:
                raise HTTPException(404, "no such resident")
            session.add(audit(actor=f"staff:{staff_id}", action="read_profile", why=reason, resident_id=resident_id))
            return await _profile(session, me)

    return api


async def _profile(session: Any, me: Resident) -> dict[str, Any]:
    members = await session.scalars(select(Resident).where(Resident.household_id == me.household_id))
    consents = await session.scalars(select(Consent).where(Consent.resident_id == me.id))
    interactions = await session.scalars(
        select(Interaction).where(Interaction.resident_id == me.id).order_by(Interaction.created_at.desc()).limit(50)
    )
    suggestions = await session.scalars(
        select(SuggestionRecord).where(SuggestionRecord.resident_id == me.id).order_by(SuggestionRecord.id.desc())
    )
    return {
        "id": me.id,
        "household_id": me.household_id,
        "members": [
            {
                "id": m.id,
                "name": m.name,
                "birth_date": m.birth_date.isoformat(),
                "relation_to_head": m.relation_to_head,
                "care_level": m.care_level,
                "death_date": m.death_date.isoformat() if m.death_date else None,
            }
            for m in members
        ],
        "consents": [{"scope": c.scope, "status": c.status, "channel": c.channel} for c in consents],
        "interactions": [
            {"kind": i.kind, "intent": i.intent, "channel": i.channel, "at": i.created_at.isoformat()}
            for i in interactions
        ],
        "suggestions": [
            {"rule": s.rule, "status": s.status, "offered_at": s.offered_at.isoformat()} for s in suggestions
        ],
    }
