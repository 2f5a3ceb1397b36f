"""Reservations as the reservation manager sees them: this turn's look-up, descriptions, rules.

`load_known` reads, before a turn, what `handlers.reservation_manage` may need (the conversation's
and the linked resident's upcoming reservations, and any reservation whose number is in the
message); the form holds it for the turn (`holding_known`) so that its validators stay
synchronous. `describe` and `short_label` say a reservation without personal data;
`cancel_problem` says why one cannot be cancelled in the chat (the rules are services.yml's).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from bot.engine.turn import TurnContext
from handlers.contact import phone_digits
from handlers.form_texts import day_text, english, name, tr
from handlers.reservations import holding, services_data
from knowledge.bookings import CANCELLED, CONFIRMED, Reservation, find_number, get_reservation
from knowledge.office_hours import OfficeHours
from knowledge.services_data import BulkyWaste, CancelRule, Care, Childcare, Facilities, ServicesData, format_date

KIND_TITLES = {
    "bulky_waste": "粗大ごみ収集",
    "childcare_temporary": "一時預かり",
    "facility_booking": "施設の予約",
    "care_consultation": "介護の相談",
    "counter_visit": "窓口予約",
}
DAY_NOUNS = {
    "bulky_waste": "収集日",
    "childcare_temporary": "利用日",
    "facility_booking": "利用日",
    "care_consultation": "相談日",
    "counter_visit": "来庁日",
}


# -- what the form may need this turn --------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Known:
    own: tuple[Reservation, ...]  # upcoming, confirmed, of this conversation or linked resident
    by_number: dict[str, Reservation]  # every reservation looked up this turn, by number
    now: datetime  # local time (naive) of the municipality

    def owned(self, reservation: Reservation) -> bool:
        return any(r.number == reservation.number for r in self.own)


_KNOWN: ContextVar[Known | None] = ContextVar("reservations_known", default=None)


def known_or_none() -> Known | None:
    return _KNOWN.get()


def known_this_turn() -> Known:
    known = known_or_none()
    if known is None:
        raise RuntimeError("reservation look-up outside a turn")
    return known


def holding_known(known: Known) -> AbstractContextManager[None]:
    return holding(_KNOWN, known)


def owned_clause(ctx: TurnContext) -> Any:
    clause = Reservation.conversation_id == ctx.state.conversation_id
    if ctx.state.resident_id is not None:
        clause = or_(clause, Reservation.resident_id == ctx.state.resident_id)
    return clause


async def load_known(ctx: TurnContext, extra: tuple[str, ...] = ()) -> Known:
    numbers = {n for n in (find_number(ctx.parse.text or ""), *extra) if n}
    given = ctx.parse.entity("number") if ctx.parse.from_payload else None
    if isinstance(given, str) and find_number(given):
        numbers.add(find_number(given))  # type: ignore[arg-type]
    session = ctx.db
    own = list(
        await session.scalars(
            select(Reservation)
            .where(owned_clause(ctx), Reservation.status == CONFIRMED, Reservation.service_date >= ctx.today)
            .order_by(Reservation.service_date, Reservation.start_time, Reservation.number)
            .limit(50)
        )
    )
    by_number = {r.number: r for r in own}
    for number in numbers - set(by_number):
        found = await get_reservation(session, number=number)
        if found is not None:
            by_number[number] = found
    return Known(own=tuple(own), by_number=by_number, now=ctx.services.now().replace(tzinfo=None))


# -- describing a reservation -------------------------------------------------------------
def kind_title(ctx: TurnContext | None, kind: str) -> str:
    ja = KIND_TITLES.get(kind, "予約")
    return tr(ctx, f"reservation_manage.kinds.{kind}", ja) if ctx is not None else ja


def describe(reservation: Reservation, ctx: TurnContext | None = None) -> str:
    """ "施設の予約 12月1日（火）13:00〜17:00 北区民館 集会室" (no personal data: no address, no name);
    in English with `ctx` of an English conversation (the place as the data writes it)."""
    details = reservation.details or {}
    en = ctx is not None and english(ctx)
    when = day_text(ctx, reservation.service_date) if ctx is not None else format_date(reservation.service_date)
    if reservation.start_time:
        dash = "-" if en else "〜"
        when += f" {reservation.start_time}" + (f"{dash}{reservation.end_time}" if reservation.end_time else "")
    place = {
        "facility_booking": " ".join(str(details[k]) for k in ("facility", "room") if details.get(k)),
        "childcare_temporary": str(details.get("facility") or ""),
        "care_consultation": str(details.get("center") or ""),
        "bulky_waste": (
            f"in {name(ctx, 'towns.' + str(details['town']), str(details['town']))}"
            if en and ctx
            else f"{details['town']}地区の収集"
        )
        if details.get("town")
        else "",
        "counter_visit": str(details.get("department_name") or ""),
    }.get(reservation.kind, "")
    return " ".join(p for p in (kind_title(ctx, reservation.kind), when, place) if p)


def cancel_rule(data: ServicesData, kind: str) -> tuple[CancelRule | None, str]:
    specs: dict[str, BulkyWaste | Childcare | Facilities | Care] = {
        "bulky_waste": data.bulky_waste,
        "childcare_temporary": data.childcare,
        "facility_booking": data.facilities,
        "care_consultation": data.care,
    }
    spec = specs.get(kind)
    if spec is None:
        return None, ""
    return spec.cancel_in_chat, spec.change_note


def rule_for(ctx: TurnContext, kind: str) -> tuple[CancelRule | None, str]:
    """`cancel_rule`, with the 窓口予約's rule from the office-hours data (`counter_visits`)."""
    if kind == "counter_visit":
        hours = ctx.services.knowledge.office_hours
        visits = hours.counter_visits if isinstance(hours, OfficeHours) else None
        if visits is None:
            return None, ""
        if visits.cancel_days_before is None:
            return None, visits.change_note
        return CancelRule(days_before=visits.cancel_days_before, time=visits.cancel_time), visits.change_note
    return cancel_rule(services_data(ctx), kind)


def note_for(ctx: TurnContext, kind: str) -> str:
    """How to cancel or change a booking of `kind` otherwise (services.yml's change_note), in the
    conversation's language."""
    _rule, note = rule_for(ctx, kind)
    key = {"bulky_waste": "bulky_waste", "childcare_temporary": "childcare", "facility_booking": "facilities"}
    section = key.get(kind, "care" if kind == "care_consultation" else "")
    phone = services_data(ctx).bulky_waste.phone if kind == "bulky_waste" else ""
    return name(ctx, f"{section}.change_note", note, phone=phone) if section else note


def _limit(ctx: TurnContext, rule: CancelRule, kind: str) -> str:
    """「収集日の2日前の17時まで」 / "17:00, 2 days before the collection day"."""
    if not english(ctx):
        return rule.describe(DAY_NOUNS.get(kind, "利用日"))
    noun = tr(ctx, f"reservation_manage.day_nouns.{kind}", "the day")
    when = {0: noun, 1: f"the day before {noun}"}.get(rule.days_before, f"{rule.days_before} days before {noun}")
    return f"{rule.time}, {when}" if rule.time else when


def cancel_problem(ctx: TurnContext, reservation: Reservation, now: datetime) -> str | None:
    """Why this reservation cannot be cancelled in the chat now, or None."""
    number = reservation.number
    t = "reservation_manage.texts."
    if reservation.status == CANCELLED:
        return tr(ctx, t + "already", "受付番号 {number} の予約は、すでに取り消されています。", number=number)
    if reservation.service_date < now.date():
        return tr(ctx, t + "past", "受付番号 {number} の予約の日は、すでに過ぎています。", number=number)
    rule, _note = rule_for(ctx, reservation.kind)
    note = note_for(ctx, reservation.kind)
    if rule is None:
        return tr(ctx, t + "not_in_chat", "この予約はチャットでは取り消せません。{note}", note=note)
    if now > rule.deadline(reservation.service_date):
        limit = _limit(ctx, rule, reservation.kind)
        ja = "チャットで取り消せるのは{limit}です。受付番号 {number} の予約は期限を過ぎています。{note}"
        return tr(ctx, t + "too_late", ja, limit=limit, number=number, note=note)
    return None


def short_label(reservation: Reservation, ctx: TurnContext | None = None) -> str:
    """A button title short enough for LINE (≤ 20 characters): "12/1 13:00 施設の予約"."""
    day = reservation.service_date
    at = f" {reservation.start_time}" if reservation.start_time else ""
    return f"{day.month}/{day.day}{at} {kind_title(ctx, reservation.kind)}"[:20]


def contact_phone(reservation: Reservation) -> str:
    contact = (reservation.details or {}).get("contact") or {}
    phone = contact.get("phone") if isinstance(contact, dict) else None
    return phone_digits(phone) if isinstance(phone, str) else ""
