"""Reading and changing a resident's profile from the bot: one indexed query per turn for the
consent decision and (only when consent is given, decided in the database) the household;
consent changes; suggestion and interaction records (with the department from the catalog).
Callers write the audit rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from knowledge.catalog import Catalog
from knowledge.residents import Consent, Interaction, Resident, SuggestionRecord, audit, utcnow

SCOPE = "suggestions"


@dataclass(frozen=True)
class TurnProfile:
    """What one turn may know: the consent decision and, with consent, the household rows."""

    exists: bool
    consent: str | None  # None: never asked | asked | given | declined | withdrawn
    asked_at: datetime | None
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # (id, birth, relation, care, death)

    @property
    def consented(self) -> bool:
        return self.consent == "given"


def _turn_query(with_household: bool) -> Any:
    me, member = aliased(Resident), aliased(Resident)
    columns: list[Any] = [me.id, Consent.status, Consent.asked_at]
    query = (
        select(*columns)
        if not with_household
        else select(
            *columns, member.id, member.birth_date, member.relation_to_head, member.care_level, member.death_date
        )
    )
    query = query.select_from(me).outerjoin(Consent, and_(Consent.resident_id == me.id, Consent.scope == SCOPE))
    if with_household:
        # The consent gate is in the join: without consent no household row leaves the database.
        query = query.outerjoin(member, and_(member.household_id == me.household_id, Consent.status == "given"))
    return query.where(me.id == bindparam("rid"))


# Built once: per message only the parameters change (SQLAlchemy's compiled cache does the rest).
_TURN_QUERY = {True: _turn_query(True), False: _turn_query(False)}


async def load_turn_profile(session: AsyncSession, resident_id: str, *, with_household: bool) -> TurnProfile:
    # Core execution on the session's connection: the ORM result machinery is not needed here.
    conn = await session.connection()
    result = (await conn.execute(_TURN_QUERY[with_household], {"rid": resident_id})).all()
    if not result:
        return TurnProfile(exists=False, consent=None, asked_at=None)
    first = result[0]
    rows = [tuple(r[3:]) for r in result if with_household and r[3] is not None]
    return TurnProfile(exists=True, consent=first[1], asked_at=first[2], rows=rows)


def department_of(catalog: Catalog | None, *intents: str | None) -> str | None:
    """The catalog's department id for the first of `intents` that is a procedure, else None."""
    if catalog is None:
        return None
    for intent in intents:
        procedure = catalog.get(intent) if intent else None
        if procedure is not None:
            return procedure.department
    return None


def reservation_department(catalog: Catalog | None, reservation: Any) -> str | None:
    """The department a reservation belongs to: a 窓口予約's own (its resource), else its kind's."""
    if reservation.kind == "counter_visit":
        return str(reservation.resource)
    return department_of(catalog, reservation.kind)


def interaction(
    *,
    resident_id: str,
    kind: str,
    intent: str | None,
    department: str | None,
    conversation_id: str,
    channel: str,
    details: dict[str, Any] | None = None,
) -> Interaction:
    """One row of the resident's history: kind is inquiry | reservation | request | handoff | suggestion."""
    return Interaction(
        resident_id=resident_id,
        kind=kind,
        intent=intent,
        department=department,
        conversation_id=conversation_id,
        channel=channel,
        details=details,
        created_at=utcnow(),
    )


async def record_cancellation(
    session: AsyncSession,
    *,
    catalog: Catalog | None,
    kind: str,
    number: str,
    residents: set[str],
    conversation_id: str,
    channel: str,
    by: str | None = None,
) -> None:
    """A reservation cancelled: one `reservation` interaction in the history of each of
    `residents` that exists (in the caller's transaction), with the department from the catalog."""
    details = {"number": number, "action": "cancelled", **({"by": by} if by else {})}
    for resident_id in sorted(residents):
        if await resident_exists(session, resident_id):
            session.add(
                interaction(
                    resident_id=resident_id,
                    kind="reservation",
                    intent=kind,
                    department=department_of(catalog, kind),
                    conversation_id=conversation_id,
                    channel=channel,
                    details=details,
                )
            )


async def resident_exists(session: AsyncSession, resident_id: str) -> bool:
    """A primary-key probe: a conversation may still carry the id of a resident removed since."""
    return await session.scalar(select(Resident.id).where(Resident.id == resident_id)) is not None


async def set_consent(
    session: AsyncSession, *, resident_id: str, status: str, channel: str, conversation_id: str
) -> None:
    """status: asked | given | declined | withdrawn. Audited (the decision, never personal data)."""
    now = utcnow()
    row = await session.scalar(select(Consent).where(Consent.resident_id == resident_id, Consent.scope == SCOPE))
    row = row or Consent(resident_id=resident_id, scope=SCOPE)
    if status == "asked":
        row.asked_at = now
        row.status = row.status or "asked"
    else:
        row.status, row.channel = status, channel
        if status == "given":
            row.given_at = now
        elif status == "withdrawn":
            row.withdrawn_at = now
    row.updated_at = now
    session.add(row)
    session.add(
        audit(
            actor="system",
            action="consent",
            why=f"consent:{status}",
            resident_id=resident_id,
            conversation_id=conversation_id,
        )
    )


async def declined_recently(session: AsyncSession, *, resident_id: str, rule: str, days: int) -> bool:
    since = utcnow() - timedelta(days=days)
    found = await session.scalar(
        select(SuggestionRecord.id)
        .where(
            SuggestionRecord.resident_id == resident_id,
            SuggestionRecord.rule == rule,
            SuggestionRecord.status == "declined",
            SuggestionRecord.decided_at > since,
        )
        .limit(1)
    )
    return found is not None


async def decide_suggestion(
    session: AsyncSession, *, conversation_id: str, rule: str, status: str, intent: str | None = None
) -> str | None:
    """Mark the open offer of `rule` in this conversation accepted/declined; its resident id."""
    row = await session.scalar(
        select(SuggestionRecord)
        .where(SuggestionRecord.conversation_id == conversation_id, SuggestionRecord.rule == rule)
        .order_by(SuggestionRecord.id.desc())
        .limit(1)
    )
    if row is None or row.status != "offered":
        return None
    await session.execute(
        update(SuggestionRecord)
        .where(SuggestionRecord.id == row.id)
        .values(status=status, decided_at=utcnow(), accepted_intent=intent)
    )
    return row.resident_id or ""
