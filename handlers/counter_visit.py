"""窓口予約: a counter visit with the department in charge, booked in chat with buttons.

Offered beside the callback ticket out of office hours and when a queue wait passes its limit
(bot/engine/handoff_notice.py). The slots come only from the department's office hours in
knowledge/data/office_hours.yml (`counter_visits`: slot length, places per slot, how many days
ahead); nothing here knows an hour of its own. Every step is a button whose payload carries what
was chosen (`/counter_visit{"date": …, "time": …, "confirm": "yes"}`), checked again on each press,
so a stale button cannot book a closed day. The reservation is a `counter_visit` reservation
(knowledge/bookings.py: number `V-YYYYMMDD-NNNN`, the department as its resource, capacity checked
in the turn's transaction, so two residents cannot both take a last place). It is cancelled like the
other reservations (handlers/reservation_manage.py), reminded the day before by the outreach rule
`counter_visit_tomorrow`, and listed for the department's staff (bot/staff/reservations.py).
Japanese here; English from messages_en.yml (`visit_*`).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any, Final

from bot.engine.events import Button, Card
from bot.engine.turn import TurnContext, payload
from knowledge.bookings import Capacity, FullyBooked, create_reservation, taken_by_day
from knowledge.english import EnglishTexts
from knowledge.office_hours import OfficeHours, department_for
from knowledge.profile import interaction, resident_exists
from knowledge.services_data import format_date

log = logging.getLogger(__name__)

KIND: Final = "counter_visit"
MAX_DAY_BUTTONS = 6
MAX_TIME_BUTTONS = 12  # LINE quick replies: 13 at most, one is やめる
JA = {
    "intro": "{dept}の窓口にお越しいただく日時を予約できます（{label}）。ご希望の日を選んでください。",
    "no_days": "申し訳ありません。{dept}の窓口予約は、いま空いている日がありません。",
    "not_taken": "{dept}の窓口予約は、チャットではお受けしていません。",
    "bad_day": "その日は予約をお受けできません。ご希望の日を選んでください。",
    "pick_time": "{day}の空いている時間です。ご希望の時間を選んでください。",
    "day_full": "{day}は空きがなくなりました。別の日を選んでください。",
    "confirm": "この内容で予約しますか。",
    "slot_gone": "申し訳ありません。{day} {start}はたった今、予約が入りました。別の時間を選んでください。",
    "done": "窓口予約が完了しました。受付番号は {number} です。",
    "note": "当日は{dept}の窓口で受付番号をお伝えください。取り消すときは「予約を取り消したい」とお送りください。",
    "title": "窓口予約",
    "yes": "予約する",
    "other_time": "別の時間",
    "cancel": "やめる",
    "line_dept": "窓口：{dept}",
    "line_when": "日時：{day} {start}〜{end}",
    "line_topic": "ご用件：{topic}",
    "line_number": "受付番号：{number}",
}


def hours_of(ctx: TurnContext) -> OfficeHours | None:
    hours = ctx.services.knowledge.office_hours
    return hours if isinstance(hours, OfficeHours) else None


def _english(ctx: TurnContext) -> bool:
    return getattr(ctx.state, "language", "ja") == "en"


class CounterVisitHandler:
    name = KIND
    intents = frozenset({KIND})

    async def handle(self, ctx: TurnContext) -> None:
        await book_visit(ctx)


# -- the steps ---------------------------------------------------------------------------------
async def book_visit(ctx: TurnContext) -> None:
    """One button press: the days, a day's times, the confirmation or the booking."""
    ctx.handled_by = KIND
    t = _Texts(ctx)
    hours = hours_of(ctx)
    department = _department(ctx, hours)
    dept = _department_name(ctx, department)
    if hours is None or not hours.takes_visits(department) or hours.counter_visits is None:
        ctx.say(t("not_taken", dept=dept))
        return
    per_slot = hours.counter_visits.per_slot
    booked = await taken_by_day(
        ctx.db, kind=KIND, date_from=ctx.today, date_to=ctx.today + timedelta(days=hours.counter_visits.max_days_ahead)
    )

    def free(day: date) -> list[tuple[str, str]]:
        return [s for s in hours.visit_slots(department, day) if _taken(booked, department, day, s) < per_slot]

    days = [d for d in hours.visit_days(department, ctx.today) if free(d)]
    day = _date(ctx.parse.entity("date"))
    start = ctx.parse.entity("time")
    if day is None:
        if not days:
            ctx.say(t("no_days", dept=dept), buttons=_cancel(t))
            return
        label = "" if _english(ctx) else hours.schedule_of(department).label
        ctx.say(t("intro", dept=dept, label=label), buttons=_day_buttons(ctx, department, days) + _cancel(t))
        return
    if day not in hours.visit_days(department, ctx.today):  # a stale or made-up button
        ctx.say(t("bad_day"), buttons=_day_buttons(ctx, department, days) + _cancel(t))
        return
    slots = free(day)
    if not slots:
        ctx.say(t("day_full", day=_day(ctx, day)), buttons=_day_buttons(ctx, department, days) + _cancel(t))
        return
    slot = next((s for s in hours.visit_slots(department, day) if s[0] == start), None)
    if slot is not None and slot not in slots:  # taken since the buttons were shown
        ctx.say(
            t("slot_gone", day=_day(ctx, day), start=slot[0]),
            buttons=_time_buttons(department, day, slots) + _cancel(t),
        )
        return
    if slot is None:
        ctx.say(t("pick_time", day=_day(ctx, day)), buttons=_time_buttons(department, day, slots) + _cancel(t))
        return
    topic = _topic(ctx, department)
    lines = _lines(ctx, t, dept, day, slot, topic)
    if ctx.parse.entity("confirm") != "yes":
        ctx.say(
            t("confirm"),
            card=Card(title=t("title"), lines=tuple(lines), kind="confirmation"),
            buttons=(
                Button(t("yes"), payload(KIND, dept=department, date=day.isoformat(), time=slot[0], confirm="yes")),
                Button(t("other_time"), payload(KIND, dept=department, date=day.isoformat())),
                *_cancel(t),
            ),
        )
        return
    number = await _book(ctx, department, dept, day, slot, per_slot, topic)
    if number is None:
        ctx.say(
            t("slot_gone", day=_day(ctx, day), start=slot[0]),
            buttons=_time_buttons(department, day, free(day)) + _cancel(t),
        )
        return
    ctx.say(
        t("done", number=number),
        card=Card(title=t("title"), lines=(t("line_number", number=number), *lines), kind="info"),
    )
    ctx.say(t("note", dept=dept))


async def _book(
    ctx: TurnContext, department: str, dept: str, day: date, slot: tuple[str, str], per_slot: int, topic: str
) -> str | None:
    session = ctx.db
    try:
        async with session.begin_nested():  # a full slot undoes only this attempt
            reservation = await create_reservation(
                session,
                kind=KIND,
                conversation_id=ctx.state.conversation_id,
                channel=ctx.state.channel,
                resident_id=ctx.state.resident_id,
                resource=department,
                service_date=day,
                capacity=Capacity(per_slot, by_time=True),
                start_time=slot[0],
                end_time=slot[1],
                details={"department": department, "department_name": dept, "topic": topic},
            )
            number = reservation.number
            rid = ctx.state.resident_id
            if rid is not None and await resident_exists(session, rid):
                session.add(
                    interaction(
                        resident_id=rid,
                        kind="reservation",
                        intent=KIND,
                        department=department,
                        conversation_id=ctx.state.conversation_id,
                        channel=ctx.state.channel,
                        details={"number": number},
                    )
                )
    except FullyBooked:
        log.info("reservation refused: full", extra={"kind": KIND})
        return None
    log.info("reservation created", extra={"kind": KIND, "number": number})
    return number


# -- pieces ------------------------------------------------------------------------------------
class _Texts:
    def __init__(self, ctx: TurnContext) -> None:
        self.english: EnglishTexts | None = None
        if _english(ctx):
            loaded = ctx.services.knowledge.english
            self.english = (
                loaded if isinstance(loaded, EnglishTexts) else EnglishTexts.load(ctx.services.settings.data_dir)
            )

    def __call__(self, key: str, **values: Any) -> str:
        if self.english is not None:
            text = self.english.message(f"visit_{key}", **values)
            if text:
                return text
        return JA[key].format(**values)


def _cancel(t: _Texts) -> list[Button]:
    return [Button(t("cancel"), payload("cancel"))]


def _department(ctx: TurnContext, hours: OfficeHours | None) -> str:
    """The department of the button pressed (a known one), else the hand-off's, else the matter's."""
    catalog = ctx.services.knowledge.catalog
    given = ctx.parse.entity("dept")
    if isinstance(given, str) and catalog is not None and given in catalog.data.departments:
        return given
    known = ctx.state.data.get("handoff_department")
    if isinstance(known, str) and known:
        return known
    state = ctx.state
    names = [state.active_form.name if state.active_form else None, state.last_intent]
    names += [f.name for f in state.paused_forms]
    return department_for(ctx.services.knowledge.catalog, hours, *names)


def _department_name(ctx: TurnContext, department: str) -> str:
    catalog = ctx.services.knowledge.catalog
    found = catalog.data.departments.get(department) if catalog is not None else None
    return found.name if found is not None else department


def _topic(ctx: TurnContext, department: str) -> str:
    """What the visit is about, for staff: the procedure's title (the form in progress or the last
    intent, when of this department); never the resident's own words (no personal data)."""
    catalog = ctx.services.knowledge.catalog
    state = ctx.state
    for name in (state.active_form.name if state.active_form else None, *[f.name for f in state.paused_forms]):
        procedure = catalog.get(name) if catalog is not None and name else None
        if procedure is not None and procedure.department == department:
            return str(procedure.title)
    return ""


def _lines(ctx: TurnContext, t: _Texts, dept: str, day: date, slot: tuple[str, str], topic: str) -> list[str]:
    lines = [t("line_dept", dept=dept), t("line_when", day=_day(ctx, day), start=slot[0], end=slot[1])]
    return lines + ([t("line_topic", topic=topic)] if topic else [])


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _day(ctx: TurnContext, day: date) -> str:
    return day.strftime("%a %d %b") if _english(ctx) else format_date(day)


def _day_buttons(ctx: TurnContext, department: str, days: list[date]) -> list[Button]:
    return [Button(_day(ctx, d), payload(KIND, dept=department, date=d.isoformat())) for d in days[:MAX_DAY_BUTTONS]]


def _time_buttons(department: str, day: date, slots: list[tuple[str, str]]) -> list[Button]:
    return [
        Button(f"{s}〜{e}", payload(KIND, dept=department, date=day.isoformat(), time=s))
        for s, e in slots[:MAX_TIME_BUTTONS]
    ]


def _taken(
    booked: list[tuple[str, date, str | None, str | None, int]], resource: str, day: date, slot: tuple[str, str]
) -> int:
    start, end = slot
    return sum(
        q
        for res, d, b_start, b_end, q in booked
        if res == resource and d == day and (not b_start or not b_end or (b_start < end and b_end > start))
    )
