"""Staff API for residents: issue a one-time link code at the counter, and read a resident's
360° profile for the console (household, consents, history across channels and departments,
reservations, suggestions). Every read is written to the audit log with the staff id (a personal
account's own id; with the shared STAFF_TOKEN the one the caller gives), the stated reason and, from
the console, the conversation it was read for. Nothing here is logged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.identity import issue_link_code
from bot.http.deps import ServicesDep
from bot.http.schemas import Loose, ProfileRequest, StaffReasonRequest, errors, json_body
from bot.staff.console import StaffDep, StaffIdentity, read_staff_body
from knowledge.bookings import Reservation
from knowledge.catalog import Catalog
from knowledge.residents import Consent, Interaction, Resident, SuggestionRecord, age_on, audit
from knowledge.suggestions import RuleBook, RuleError

HISTORY_LIMIT = 50  # the most recent rows of each list the console shows


async def _staff_and_reason(
    request: Request, who: StaffIdentity, model: type[StaffReasonRequest] = StaffReasonRequest
) -> tuple[str, str, str | None]:
    """The staff id to record (a personal account's own id; with the shared token the body's
    `staff_id`), the stated reason and the conversation it is for."""
    body = await read_staff_body(request, model, who, optional=model is StaffReasonRequest)
    # the body cannot speak for an account: `staff_id` counts only with the shared token
    return who.staff_id(body.staff_id), body.reason.strip(), body.conversation_id


async def _ensure_may_read(services: Any, who: StaffIdentity, resident_id: str, conversation_id: str | None) -> None:
    """A supervisor reads any profile; staff only that of the resident in a conversation of their
    own department (CONTRACTS §8): 403 otherwise."""
    if who.role == "supervisor":
        return
    from bot.staff.queues import conversation_department
    from bot.store.models import Conversation

    async with services.sessionmaker() as session:
        conv = await session.get(Conversation, conversation_id) if conversation_id else None
        if conv is None or conv.resident_id != resident_id:
            raise HTTPException(403, "read a profile from a conversation of your department")
        who.ensure_can_see(await conversation_department(session, conv.id, services))


def router() -> APIRouter:
    api = APIRouter(prefix="/staff/api/residents")

    @api.post(
        "/{resident_id}/link-code",
        response_model=Loose,
        responses={**errors(401, 403, 503), **errors(400, 404, 413, 422)},
        openapi_extra=json_body(StaffReasonRequest, required=False),
    )
    async def link_code(resident_id: str, request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        staff_id, _reason, _conversation = await _staff_and_reason(request, who)
        async with services.sessionmaker() as session, session.begin():
            issued = await issue_link_code(
                session, resident_id=resident_id, staff_id=staff_id, secret=services.secret_key
            )
        if issued is None:
            raise HTTPException(404, "no such resident")
        code, expires = issued
        return {"resident_id": resident_id, "code": code, "expires_at": expires.isoformat()}

    @api.post(
        "/{resident_id}/profile",
        response_model=Loose,
        responses={**errors(401, 403, 503), **errors(400, 404, 413, 422)},
        openapi_extra=json_body(ProfileRequest),
    )
    async def profile(resident_id: str, request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        """POST, not GET: the staff member states why they read the profile, and that is audited."""
        staff_id, reason, conversation_id = await _staff_and_reason(request, who, ProfileRequest)
        await _ensure_may_read(services, who, resident_id, conversation_id)
        catalog = services.knowledge.catalog
        async with services.sessionmaker() as session, session.begin():
            me = await session.get(Resident, resident_id)
            if me is None:
                raise HTTPException(404, "no such resident")
            session.add(
                audit(
                    actor=f"staff:{staff_id}",
                    action="read_profile",
                    why=reason,
                    resident_id=resident_id,
                    conversation_id=conversation_id,
                )
            )
            return await staff_profile(
                session, me, catalog=catalog if isinstance(catalog, Catalog) else None, today=services.today()
            )

    return api


async def staff_profile(session: AsyncSession, me: Resident, *, catalog: Catalog | None, today: date) -> dict[str, Any]:
    """What the console's 住民情報 panel shows; the caller has written the audit row."""
    members = await session.scalars(
        select(Resident).where(Resident.household_id == me.household_id).order_by(Resident.birth_date)
    )
    consents = await session.scalars(select(Consent).where(Consent.resident_id == me.id).order_by(Consent.scope))
    interactions = await session.scalars(
        select(Interaction)
        .where(Interaction.resident_id == me.id)
        .order_by(Interaction.created_at.desc(), Interaction.id.desc())
        .limit(HISTORY_LIMIT)
    )
    reservations = await session.scalars(
        select(Reservation)
        .where(Reservation.resident_id == me.id)
        .order_by(Reservation.service_date.desc(), Reservation.number.desc())
        .limit(HISTORY_LIMIT)
    )
    suggestions = await session.scalars(
        select(SuggestionRecord)
        .where(SuggestionRecord.resident_id == me.id)
        .order_by(SuggestionRecord.offered_at.desc(), SuggestionRecord.id.desc())
        .limit(HISTORY_LIMIT)
    )
    names = _Names(catalog)
    return {
        "id": me.id,
        "household_id": me.household_id,
        "as_of": today.isoformat(),
        "members": [_member(m, me.id, today) for m in members],
        "consents": [_consent(c) for c in consents],
        "interactions": [_interaction(i, names) for i in interactions],
        "reservations": [_reservation(r, names) for r in reservations],
        "suggestions": [_suggestion(s, names) for s in suggestions],
    }


class _Names:
    """Procedure titles and department names from the catalog, for people rather than ids."""

    def __init__(self, catalog: Catalog | None) -> None:
        self.catalog = catalog

    def procedure(self, intent: str | None) -> str | None:
        procedure = self.catalog.get(intent) if self.catalog and intent else None
        return procedure.name if procedure else None

    def department(self, department_id: str | None) -> str | None:
        if not self.catalog or not department_id:
            return None
        department = self.catalog.data.departments.get(department_id)
        return department.name if department else None

    def rule(self, rule_id: str) -> str | None:
        return _rule_titles().get(rule_id)


@cache
def _rule_titles() -> dict[str, str]:
    """The services each rule offers ("介護の相談" for double_care), read once from the rules file."""
    try:
        book = RuleBook.load()
    except (OSError, RuleError):
        return {}
    return {rule.id: "・".join(s.title for s in rule.services) for rule in book.rules}


def _iso(value: date | datetime | None) -> str | None:
    """ISO text; a naive timestamp (SQLite drops the zone) is UTC, as every row is written."""
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat() if value is not None else None


def _member(m: Resident, self_id: str, today: date) -> dict[str, Any]:
    return {
        "id": m.id,
        "is_self": m.id == self_id,
        "name": m.name,
        "kana": m.kana,
        "birth_date": m.birth_date.isoformat(),
        "age": age_on(m.birth_date, m.death_date or today),  # at death for a member who died
        "relation_to_head": m.relation_to_head,
        "care_level": m.care_level,
        "death_date": _iso(m.death_date),
    }


def _consent(c: Consent) -> dict[str, Any]:
    return {
        "scope": c.scope,
        "status": c.status,
        "channel": c.channel,
        "given_at": _iso(c.given_at),
        "withdrawn_at": _iso(c.withdrawn_at),
        "updated_at": _iso(c.updated_at),
    }


def _interaction(i: Interaction, names: _Names) -> dict[str, Any]:
    details = i.details or {}
    return {
        "kind": i.kind,
        "intent": i.intent,
        "intent_title": names.procedure(i.intent),
        "department": i.department,
        "department_name": names.department(i.department),
        "channel": i.channel,
        "conversation_id": i.conversation_id,
        "reservation_number": details.get("number") if i.kind == "reservation" else None,
        "at": _iso(i.created_at),
    }


def _reservation(r: Reservation, names: _Names) -> dict[str, Any]:
    return {
        "number": r.number,
        "kind": r.kind,
        "title": names.procedure(r.kind),
        "date": r.service_date.isoformat(),
        "start_time": r.start_time,
        "end_time": r.end_time,
        "status": r.status,
        "channel": r.channel,
        "created_at": _iso(r.created_at),
    }


def _suggestion(s: SuggestionRecord, names: _Names) -> dict[str, Any]:
    return {
        "rule": s.rule,
        "title": names.rule(s.rule),
        "status": s.status,
        "accepted_intent": s.accepted_intent,
        "offered_at": _iso(s.offered_at),
        "decided_at": _iso(s.decided_at),
    }
